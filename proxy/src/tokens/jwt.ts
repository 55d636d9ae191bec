/**
 * Signed tickets as compact JWS (JWT) with claims `host`, `port` and optionally `tls` (or
 * `unix`, a socket path),
 * verified with `jose` against a key file that is reloaded when it changes.
 *
 * Recognition is structural: three base64url parts whose first decodes to a JSON
 * header with an `alg`. Anything else is left to the next resolver; once recognised,
 * every failure is a refusal so a forged ticket can never fall through to a token file.
 */
import { errors, jwtVerify, type JWTPayload } from 'jose';
import { watchKeyFile, type KeyFileEvents } from './key-file.js';
import type { WatchedFile } from '../util/watched-file.js';
import {
  DEFAULT_ALGORITHMS,
  DEFAULT_SECRET_ALGORITHMS,
  allSecret,
  checkAlgorithms,
  checkKeysFit,
  keyFitsAlgorithm,
  parseVerificationKeys,
  type KeyEntry,
} from './keys.js';
import { auditSubject, targetFrom, unixTargetFrom } from './target-claims.js';
import type { ResolveContext, Resolution, TokenResolver } from './types.js';
import { REFUSALS } from '../errors.js';
import { MemoryReplayStore, ReplayStoreUnavailable, type ReplayStore } from '../replay/store.js';

export interface JwtResolverOptions extends KeyFileEvents {
  /** `--jwt-key`: PEM (public key, certificate or private key), JWK, JWKS, or a raw secret. */
  keyFile: string;
  /**
   * `--jwt-algorithms`. Default RS256, ES256, EdDSA; HS256 when the key file is a
   * shared secret. HS* is only ever accepted with a shared secret.
   */
  algorithms?: readonly string[];
  /** `--jwt-audience`: required `aud`. Default: not checked. */
  audience?: string;
  /** `--jwt-issuer`: required `iss`. Default: not checked. */
  issuer?: string;
  /** `--jwt-allow-no-exp`: accept tickets without `exp`. Default false. */
  allowNoExp?: boolean;
  /**
   * `--jwt-single-use`: require `jti`; a ticket opens one console. Its first use is
   * claimed in `replayStore`; later uses are refused, except from the same client address
   * within `singleUseWindowMs` (SPICE opens one WebSocket per channel). Default false.
   */
  singleUse?: boolean;
  /** `--jwt-single-use-window` in milliseconds. Default 5000. */
  singleUseWindowMs?: number;
  /**
   * Where claims are recorded (shared by workers or replicas). Default: a store in this
   * resolver's memory, holding at most `maxReplayEntries`, closed with the resolver.
   */
  replayStore?: ReplayStore;
  /** Clock skew allowed on `exp` and `nbf`, in seconds. Default 5. */
  leewaySeconds?: number;
  /** Most `jti`s the default store remembers; beyond it new single-use tickets are refused. Default 100 000. */
  maxReplayEntries?: number;
  /** Milliseconds since the epoch. Default `Date.now`. */
  now?: () => number;
  /** Watch the key file. Default true. */
  watch?: boolean;
}

const DEFAULTS = {
  leewaySeconds: 5,
  maxReplayEntries: 100_000,
  singleUseWindowMs: 5000,
  allowNoExp: false,
  singleUse: false,
  watch: true,
};

const UNKNOWN: Resolution = Object.freeze({ kind: 'unknown' });
const B64URL = /^[A-Za-z0-9_-]*$/;

function refused(reason: string): Resolution {
  return { kind: 'refused', reason };
}

/** The protected header if `token` is shaped like a compact JWS, else undefined. */
export function jwsHeader(token: string): Record<string, unknown> | undefined {
  const parts = token.split('.');
  if (parts.length !== 3 || parts[0] === '' || !parts.every((p) => B64URL.test(p))) {
    return undefined;
  }
  try {
    const header: unknown = JSON.parse(Buffer.from(parts[0]!, 'base64url').toString('utf8'));
    if (typeof header !== 'object' || header === null || Array.isArray(header)) return undefined;
    if (typeof (header as { alg?: unknown }).alg !== 'string') return undefined;
    return header as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** A reason for a jose failure that happened after the signature checked out (or before). */
function reasonFor(e: unknown): string {
  if (e instanceof errors.JWTExpired) return 'ticket expired';
  if (e instanceof errors.JWTClaimValidationFailed) {
    if (e.claim === 'nbf') return 'ticket not yet valid';
    if (e.claim === 'exp' && e.reason === 'missing') return 'ticket has no expiry';
    if (e.claim === 'aud') return 'audience mismatch';
    if (e.claim === 'iss') return 'issuer mismatch';
    return `claim "${e.claim}" ${e.reason === 'missing' ? 'missing' : 'invalid'}`;
  }
  if (e instanceof errors.JOSEAlgNotAllowed) return 'algorithm not allowed';
  if (e instanceof errors.JOSENotSupported) return 'ticket uses an unsupported feature';
  return 'ticket malformed';
}

/** Resolves JWT tickets; see {@link createJwtResolver}. */
export class JwtResolver implements TokenResolver {
  readonly name = 'jwt';
  /** The effective allow-list. */
  readonly algorithms: readonly string[];
  readonly #keys: WatchedFile<Buffer[], KeyEntry[]>;
  readonly #opts: JwtResolverOptions & typeof DEFAULTS;
  readonly #now: () => number;
  readonly #replay: ReplayStore;
  /** The store this resolver made and so closes. */
  readonly #ownStore: MemoryReplayStore | undefined;

  constructor(options: JwtResolverOptions) {
    const opts = { ...DEFAULTS, ...stripUndefined(options) };
    if (!Number.isFinite(opts.leewaySeconds) || opts.leewaySeconds < 0) {
      throw new RangeError('jwt leeway must be a non-negative number of seconds');
    }
    if (!Number.isFinite(opts.singleUseWindowMs) || opts.singleUseWindowMs < 0) {
      throw new RangeError('jwt single-use window must be a non-negative number of milliseconds');
    }
    this.#opts = opts;
    this.#now = opts.now ?? Date.now;
    if (opts.replayStore === undefined) {
      this.#ownStore = new MemoryReplayStore(opts.maxReplayEntries, this.#now);
    }
    this.#replay = opts.replayStore ?? this.#ownStore!;
    if (opts.algorithms) checkAlgorithms(opts.algorithms);
    let algorithms = opts.algorithms;
    const parse = (content: Buffer): KeyEntry[] => {
      const keys = parseVerificationKeys(content);
      // The first load fixes the default list; reloads must fit it, not change it.
      algorithms ??= allSecret(keys) ? DEFAULT_SECRET_ALGORITHMS : DEFAULT_ALGORITHMS;
      checkKeysFit(keys, algorithms);
      return keys;
    };
    this.#keys = watchKeyFile({
      setting: 'jwtKey',
      path: opts.keyFile,
      parse,
      watch: opts.watch,
      onReload: opts.onReload,
      onReloadError: opts.onReloadError,
    });
    this.algorithms = Object.freeze([...algorithms!]);
  }

  async resolve(token: string, context?: ResolveContext): Promise<Resolution> {
    const header = jwsHeader(token);
    if (!header) return UNKNOWN;
    const alg = header.alg as string;
    if (!this.algorithms.includes(alg)) return refused('algorithm not allowed');
    const kid = typeof header.kid === 'string' ? header.kid : undefined;
    const candidates = this.#keys.value.filter(
      (k) =>
        (kid === undefined || k.kid === undefined || k.kid === kid) &&
        (k.alg === undefined || k.alg === alg) &&
        keyFitsAlgorithm(k.key, alg),
    );
    if (candidates.length === 0) return refused('no key for this ticket');
    const nowMs = this.#now();
    for (const { key } of candidates) {
      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(token, key, {
          algorithms: [...this.algorithms],
          audience: this.#opts.audience,
          issuer: this.#opts.issuer,
          clockTolerance: this.#opts.leewaySeconds,
          currentDate: new Date(nowMs),
          requiredClaims: this.#opts.allowNoExp ? [] : ['exp'],
        }));
      } catch (e) {
        // Another key of a JWKS may still match; a key jose finds unusable is no match either.
        if (e instanceof errors.JWSSignatureVerificationFailed || e instanceof TypeError) continue;
        return refused(reasonFor(e));
      }
      return this.#accept(payload, nowMs, context?.client ?? '');
    }
    return refused('signature invalid');
  }

  async #accept(payload: JWTPayload, nowMs: number, client: string): Promise<Resolution> {
    const target = ticketTarget(payload);
    if (typeof target === 'string') return refused(target);
    if (payload.record !== undefined && typeof payload.record !== 'boolean') {
      return refused('claim "record" invalid');
    }
    if (this.#opts.singleUse) {
      const { jti, exp } = payload;
      if (typeof jti !== 'string' || jti === '' || jti.length > 256) {
        return refused('single-use ticket has no jti');
      }
      // Without exp the jti would have to be remembered forever.
      if (typeof exp !== 'number') return refused('single-use ticket has no expiry');
      const ttlMs = (exp + this.#opts.leewaySeconds) * 1000 - nowMs;
      let claimed;
      try {
        claimed = await this.#replay.claim({
          key: jti,
          client,
          ttlMs,
          windowMs: this.#opts.singleUseWindowMs,
        });
      } catch (e) {
        if (!(e instanceof ReplayStoreUnavailable)) throw e;
        return {
          kind: 'refused',
          reason: `replay store unavailable: ${e.message}`,
          refusal: REFUSALS.replayStore,
        };
      }
      if (claimed === 'replay') {
        return { kind: 'refused', reason: 'ticket already used', refusal: REFUSALS.tokenReplayed };
      }
    }
    return { kind: 'target', target, ...ticketFacts(payload) };
  }

  /** Re-checks the key file now (the watcher does this on its own). */
  reloadKeys(): 'unchanged' | 'reloaded' | 'error' {
    return this.#keys.check();
  }

  /** Number of remembered `jti`s in the resolver's own store (for tests). */
  get replayEntries(): number {
    return this.#ownStore?.size ?? 0;
  }

  close(): void {
    this.#keys.close();
    this.#ownStore?.close();
  }
}

/** `host` + `port` (+ `tls`), or `unix`: a socket path (allowed only under --allow-unix-dir). */
function ticketTarget(payload: JWTPayload) {
  if (payload.unix === undefined) return targetFrom(payload.host, payload.port, payload.tls);
  if (payload.host !== undefined || payload.port !== undefined) {
    return 'ticket names both a unix socket and host/port';
  }
  return unixTargetFrom(payload.unix);
}

/**
 * The ticket's expiry and subject, kept with the session (audit log, admin API,
 * recordings), and its `record` claim (`--record-when ticket`).
 */
type TicketFacts = { expiresAt?: number; subject?: string; record?: boolean };

function ticketFacts(payload: JWTPayload): TicketFacts {
  const facts: TicketFacts = {};
  if (typeof payload.exp === 'number') facts.expiresAt = payload.exp * 1000;
  const subject = auditSubject(payload.sub);
  if (subject !== undefined) facts.subject = subject;
  if (typeof payload.record === 'boolean') facts.record = payload.record;
  return facts;
}

function stripUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

/**
 * Creates the `jwt` resolver. Reads the key file now and throws a TypeError/RangeError
 * naming `jwtKey` or `jwtAlgorithms` if it or the allow-list is unusable.
 */
export function createJwtResolver(options: JwtResolverOptions): JwtResolver {
  return new JwtResolver(options);
}
