/**
 * oVirt engine console tickets for tests: a re-implementation of ovirt-engine's
 * TicketEncoder (Java) and ticket.py (Python), so the resolver is tested against
 * tickets built the way the engine builds them.
 */
import { constants, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { selfSignedCert } from '../proxy/tokens-fixtures.js';

/** java.lang.String#hashCode. */
function javaHash(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(31, h) + s.charCodeAt(i)) | 0;
  return h;
}

/** Iteration order of a java.util.HashMap (16 buckets, no resize) given insertion order. */
function hashMapOrder(keys: string[]): string[] {
  const bucket = (k: string) => {
    const h = javaHash(k);
    return (h ^ (h >>> 16)) & 15;
  };
  return keys
    .map((k, i) => ({ k, i, b: bucket(k) }))
    .sort((x, y) => x.b - y.b || x.i - y.i)
    .map((e) => e.k);
}

/** `yyyyMMddHHmmss` in UTC, as SimpleDateFormat/strftime produce it. */
export function ticketTime(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:T]/g, '').slice(0, 14);
}

export interface Engine {
  key: KeyObject;
  certPem: string;
}

export interface EncodeOptions {
  host?: string;
  port?: string;
  sslTarget?: boolean;
  /** Issue time; default now. */
  at?: number;
  lifetimeSeconds?: number;
  /** Raw `data` value, bypassing the engine's JSON + URL.encode. */
  data?: string;
  /** Override field values after signing (tampering). */
  after?: Record<string, string | undefined>;
  /** Sign only these fields (an attacker's choice; the engine signs all five). */
  signOnly?: string[];
  /** Leave out the v2 signature (pre-4.2 engines). */
  noV2?: boolean;
  /** Python's ticket.py layout (insertion order, `json.dumps` spacing) instead of Java's. */
  python?: boolean;
}

/** Builds a ticket exactly as ovirt-engine's TicketEncoder.encode() does. */
export function engineTicket(engine: Engine, o: EncodeOptions = {}): string {
  const at = o.at ?? Date.now();
  // WebClientConsoleInvoker: URL.encode(JSON.stringify({host, port, ssl_target})).
  const data =
    o.data ??
    encodeURI(
      JSON.stringify({
        host: o.host ?? '192.0.2.10',
        port: o.port ?? '5900',
        ssl_target: o.sslTarget ?? false,
      }),
    );
  const map = new Map<string, string>([
    ['salt', randomBytes(8).toString('base64')],
    ['digest', 'sha1'],
    ['validFrom', ticketTime(at)],
    ['validTo', ticketTime(at + (o.lifetimeSeconds ?? 120) * 1000)],
    ['data', data],
  ]);
  const order = o.python ? [...map.keys()] : hashMapOrder([...map.keys()]);
  const signedOrder = o.signOnly ?? order;
  const signed = Buffer.concat(signedOrder.map((k) => Buffer.from(map.get(k)!, 'utf8')));
  map.set('signature', sign('sha1', signed, engine.key).toString('base64'));
  if (!o.noV2) {
    const v2 = sign('sha256', signed, {
      key: engine.key,
      padding: constants.RSA_PKCS1_PSS_PADDING,
      saltLength: constants.RSA_PSS_SALTLEN_MAX_SIGN,
    });
    map.set('signedFields', signedOrder.join(','));
    map.set('v2_signature', v2.toString('base64'));
  } else {
    map.set('signedFields', signedOrder.join(','));
  }
  // Java: "-----BEGIN CERTIFICATE-----\n" + Base64(76) (CRLF-chunked) + "-----END CERTIFICATE-----\n".
  const der = Buffer.from(engine.certPem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
  const chunked = der.toString('base64').replace(/.{76}/g, '$&\r\n');
  map.set(
    'certificate',
    o.python
      ? engine.certPem
      : `-----BEGIN CERTIFICATE-----\n${chunked.endsWith('\r\n') ? chunked : `${chunked}\r\n`}-----END CERTIFICATE-----\n`,
  );
  for (const [k, v] of Object.entries(o.after ?? {})) {
    if (v === undefined) map.delete(k);
    else map.set(k, v);
  }
  const keys = o.python ? [...map.keys()] : hashMapOrder([...map.keys()]);
  const sep = o.python ? [', ', ': '] : [',', ':'];
  const json = `{${keys.map((k) => `${JSON.stringify(k)}${sep[1]}${JSON.stringify(map.get(k))}`).join(sep[0])}}`;
  return Buffer.from(json, 'utf8').toString('base64');
}

export function newEngine(cn = 'engine.test'): Engine {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { key: privateKey, certPem: selfSignedCert(privateKey, publicKey, cn) };
}
