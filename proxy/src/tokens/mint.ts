/**
 * Builds the JWT tickets the `jwt` resolver accepts: claims `host`, `port`, `tls` (only
 * when true), `iat`, `exp`, and optionally `aud`, `iss`, `sub`, `jti`. Used by `wsgate token`
 * and by tests; it reads no files and no clock it is not given.
 */
import { randomBytes } from 'node:crypto';
import { SignJWT, type JWTPayload } from 'jose';
import {
  defaultAlgorithmFor,
  keyFitsAlgorithm,
  SUPPORTED_ALGORITHMS,
  type KeyEntry,
} from './keys.js';
import type { Target } from './types.js';

export interface MintOptions {
  /** The signing key (see `parseSigningKey`); its `kid` goes into the header. */
  key: KeyEntry;
  target: Target;
  /** Lifetime in seconds; `exp` is rounded up to a whole second. Must be > 0. */
  ttlSeconds: number;
  /** Sets `aud`. */
  audience?: string;
  /** Sets `iss`. */
  issuer?: string;
  /** Sets `sub`: who the ticket is for (logged with the session, listed by the admin API). */
  subject?: string;
  /** Sets `jti` (see {@link newJti}); the proxy needs one for `--jwt-single-use`. */
  jti?: string;
  /** JWS algorithm. Default: the key's JWK `alg`, else RS256 / ES256 / EdDSA / HS256 by key type. */
  algorithm?: string;
  /** Issue time in milliseconds since the epoch. Default `Date.now()`. */
  now?: number;
}

/** A random 128-bit `jti`. */
export function newJti(): string {
  return randomBytes(16).toString('base64url');
}

/**
 * Signs a ticket. Throws a RangeError for a bad ttl or algorithm and a TypeError when
 * the algorithm does not fit the key (e.g. HS256 with an RSA key).
 */
export async function mintTicket(opts: MintOptions): Promise<string> {
  if (!Number.isFinite(opts.ttlSeconds) || opts.ttlSeconds <= 0) {
    throw new RangeError('ttl must be more than 0 seconds');
  }
  const alg = opts.algorithm ?? opts.key.alg ?? defaultAlgorithmFor(opts.key.key);
  if (!SUPPORTED_ALGORITHMS.includes(alg))
    throw new RangeError(`algorithm "${alg}" is not supported`);
  if (!keyFitsAlgorithm(opts.key.key, alg)) {
    throw new TypeError(
      `algorithm ${alg} does not fit this ${opts.key.key.asymmetricKeyType ?? 'secret'} key`,
    );
  }
  const iat = Math.floor((opts.now ?? Date.now()) / 1000);
  const claims: JWTPayload =
    opts.target.unix !== undefined
      ? { unix: opts.target.unix }
      : { host: opts.target.host, port: opts.target.port };
  if (opts.target.tls) claims.tls = true;
  const jwt = new SignJWT(claims)
    .setProtectedHeader(opts.key.kid ? { alg, typ: 'JWT', kid: opts.key.kid } : { alg, typ: 'JWT' })
    .setIssuedAt(iat)
    .setExpirationTime(iat + Math.ceil(opts.ttlSeconds));
  if (opts.audience !== undefined) jwt.setAudience(opts.audience);
  if (opts.issuer !== undefined) jwt.setIssuer(opts.issuer);
  if (opts.subject !== undefined) jwt.setSubject(opts.subject);
  if (opts.jti !== undefined) jwt.setJti(opts.jti);
  return jwt.sign(opts.key.key);
}
