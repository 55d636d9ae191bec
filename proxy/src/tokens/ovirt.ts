/**
 * oVirt engine console tickets, as made by the engine's TicketEncoder and read by
 * ovirt-websocket-proxy: base64 of a JSON object of strings
 * `{salt, digest, validFrom, validTo, data, signedFields, signature, v2_signature,
 * certificate}`. `signedFields` is a comma-separated list of field names; `v2_signature`
 * is RSASSA-PSS (SHA-256, MGF1-SHA-256, maximum salt length) over the UTF-8 values of
 * those fields concatenated in that order. Times are `yyyyMMddHHmmss` in UTC. `data` is
 * the URL-encoded JSON `{"host", "port", "ssl_target"}` the engine's web UI built.
 *
 * Differences from the engine's proxy, all stricter:
 * - the signature is checked against the configured engine certificate only, never the
 *   `certificate` inside the ticket (which anyone can replace with their own);
 * - `salt`, `validFrom`, `validTo` and `data` must all be signed fields, so the window
 *   and the target cannot be swapped for unsigned values;
 * - the legacy SHA-1 `signature` is never accepted; engines since 4.2 add `v2_signature`.
 */
import { X509Certificate, constants, createPublicKey, verify, type KeyObject } from 'node:crypto';
import { watchKeyFile, type KeyFileEvents } from './key-file.js';
import type { WatchedFile } from '../util/watched-file.js';
import { pemBlocks } from './keys.js';
import { targetFrom } from './target-claims.js';
import type { Resolution, TokenResolver } from './types.js';

export interface OvirtResolverOptions extends KeyFileEvents {
  /** `--ovirt-cert`: the engine's certificate (PEM); several for a rotation overlap. */
  certFile: string;
  /** Clock skew allowed on `validFrom` and `validTo`, in seconds. Default 5. */
  leewaySeconds?: number;
  /** Milliseconds since the epoch. Default `Date.now`. */
  now?: () => number;
  /** Watch the certificate file. Default true. */
  watch?: boolean;
}

const DEFAULTS = { leewaySeconds: 5, watch: true };

const UNKNOWN: Resolution = Object.freeze({ kind: 'unknown' });
const REQUIRED_SIGNED = ['salt', 'validFrom', 'validTo', 'data'];
/** Standard or URL-safe base64; a `+` that became a space in a query string is put back. */
const BASE64 = /^[A-Za-z0-9+/_-]+={0,2}$/;
const TIME = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$/;

function refused(reason: string): Resolution {
  return { kind: 'refused', reason };
}

/**
 * The engine's public keys from a PEM file of certificates (or bare public keys).
 * Only RSA keys can have made a `v2_signature`.
 */
export function parseEngineCertificates(content: Buffer): KeyObject[] {
  const keys: KeyObject[] = [];
  for (const { label, text } of pemBlocks(content.toString('utf8'))) {
    let key: KeyObject;
    if (label === 'CERTIFICATE') key = new X509Certificate(text).publicKey;
    else if (label === 'PUBLIC KEY' || label === 'RSA PUBLIC KEY') key = createPublicKey(text);
    else throw new TypeError(`unexpected PEM block "${label}" (want the engine's CERTIFICATE)`);
    if (key.asymmetricKeyType !== 'rsa') {
      throw new TypeError(`engine key is ${key.asymmetricKeyType ?? 'unknown'}, not RSA`);
    }
    keys.push(key);
  }
  if (keys.length === 0) throw new TypeError('no CERTIFICATE found');
  return keys;
}

/** Parses `yyyyMMddHHmmss` (UTC) strictly; NaN for anything else, including 20250231... */
export function parseTicketTime(value: string): number {
  const m = TIME.exec(value);
  if (!m) return NaN;
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const t = Date.UTC(y, mo - 1, d, h, mi, s);
  const back = new Date(t);
  // Date.UTC rolls 31 February into March; a signed value that does that is not a date.
  if (back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d || h > 23 || mi > 59 || s > 59) {
    return NaN;
  }
  return t;
}

/** The ticket's fields if `token` is base64 of a JSON object with `signedFields`, else undefined. */
export function decodeTicket(token: string): Record<string, unknown> | undefined {
  const text = token.replace(/ /g, '+');
  if (text.length < 16 || !BASE64.test(text)) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(text, 'base64').toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return undefined;
  if (typeof (json as { signedFields?: unknown }).signedFields !== 'string') return undefined;
  return json as Record<string, unknown>;
}

/** RFC 8017 §9.1.1 with SHA-256: what Java's `getSaltMaxLength` and Python's `MAX_LENGTH` use. */
function maxSaltLength(key: KeyObject): number {
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  return Math.ceil((bits - 1) / 8) - 32 - 2;
}

/**
 * Verifies a decoded ticket against `keys` at time `nowMs`. Pure: exported for tests.
 * Returns a target or a refusal; never `unknown` (recognition is `decodeTicket`'s job).
 */
export function verifyTicket(
  ticket: Record<string, unknown>,
  keys: readonly KeyObject[],
  nowMs: number,
  leewaySeconds: number,
): Resolution {
  const fields = (ticket.signedFields as string).trim().split(/\s*,\s*/);
  if (new Set(fields).size !== fields.length) return refused('signedFields repeats a field');
  for (const name of REQUIRED_SIGNED) {
    if (!fields.includes(name)) return refused(`${name} is not signed`);
  }
  const parts: Buffer[] = [];
  for (const name of fields) {
    const value = ticket[name];
    if (typeof value !== 'string') return refused(`signed field ${name} missing`);
    parts.push(Buffer.from(value, 'utf8'));
  }
  const signatureText = ticket.v2_signature;
  if (typeof signatureText !== 'string') return refused('no v2_signature (SHA-1 is not accepted)');
  const signature = Buffer.from(signatureText, 'base64');
  const signed = Buffer.concat(parts);
  const ok = keys.some((key) =>
    verify(
      'sha256',
      signed,
      { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: maxSaltLength(key) },
      signature,
    ),
  );
  if (!ok) return refused('signature invalid');

  // The values are signed as one unseparated string, so their shapes are what keep a
  // holder from moving characters between fields; check them strictly.
  const from = parseTicketTime(ticket.validFrom as string);
  const to = parseTicketTime(ticket.validTo as string);
  if (Number.isNaN(from) || Number.isNaN(to)) return refused('validity times malformed');
  const leeway = leewaySeconds * 1000;
  if (nowMs + leeway < from) return refused('ticket not yet valid');
  if (nowMs - leeway > to) return refused('ticket expired');

  let data: unknown;
  try {
    data = JSON.parse(decodeURIComponent(ticket.data as string));
  } catch {
    return refused('data malformed');
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    return refused('data malformed');
  }
  const d = data as Record<string, unknown>;
  // KubeVirt consoles (`path`, `token`) are WebSocket targets, not TCP; not relayed here.
  if (d.path !== undefined) return refused('ticket names a WebSocket target, not supported');
  const target = targetFrom(d.host, d.port, d.ssl_target ?? false);
  // The engine's TicketEncoder signs no user: these tickets name no subject.
  return typeof target === 'string' ? refused(target) : { kind: 'target', target, expiresAt: to };
}

/** Resolves oVirt engine tickets; see {@link createOvirtResolver}. */
export class OvirtResolver implements TokenResolver {
  readonly name = 'ovirt';
  readonly #certs: WatchedFile<Buffer[], KeyObject[]>;
  readonly #now: () => number;
  readonly #leeway: number;

  constructor(options: OvirtResolverOptions) {
    const opts = { ...DEFAULTS, ...options };
    opts.leewaySeconds ??= DEFAULTS.leewaySeconds;
    if (!Number.isFinite(opts.leewaySeconds) || opts.leewaySeconds < 0) {
      throw new RangeError('ovirt leeway must be a non-negative number of seconds');
    }
    this.#leeway = opts.leewaySeconds;
    this.#now = opts.now ?? Date.now;
    this.#certs = watchKeyFile({
      setting: 'ovirtCert',
      path: opts.certFile,
      parse: parseEngineCertificates,
      watch: opts.watch ?? true,
      onReload: opts.onReload,
      onReloadError: opts.onReloadError,
    });
  }

  resolve(token: string): Resolution {
    const ticket = decodeTicket(token);
    if (!ticket) return UNKNOWN;
    return verifyTicket(ticket, this.#certs.value, this.#now(), this.#leeway);
  }

  /** Re-checks the certificate file now (the watcher does this on its own). */
  reloadCertificates(): 'unchanged' | 'reloaded' | 'error' {
    return this.#certs.check();
  }

  close(): void {
    this.#certs.close();
  }
}

/**
 * Creates the `ovirt` resolver. Reads the certificate now and throws a TypeError
 * naming `ovirtCert` if it is missing or holds no RSA key.
 */
export function createOvirtResolver(options: OvirtResolverOptions): OvirtResolver {
  return new OvirtResolver(options);
}
