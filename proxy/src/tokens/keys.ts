/**
 * Key files for signed tickets: PEM (certificates, public or private keys), a JWK, a
 * JWKS, or a raw shared secret. One parser serves the proxy (which needs keys to
 * verify with) and `wsgate token` (which needs one key to sign with), so a file that
 * mints a ticket is a file the proxy can be pointed at.
 */
import {
  X509Certificate,
  createPrivateKey,
  createPublicKey,
  createSecretKey,
  type JsonWebKeyInput,
  type KeyObject,
} from 'node:crypto';

/** A key plus the JWK hints (`kid`, `alg`) used to pick it for a token's header. */
export interface KeyEntry {
  key: KeyObject;
  kid?: string;
  alg?: string;
}

/** JWS algorithms wsgate accepts; `none` and anything unlisted never are. */
export const SUPPORTED_ALGORITHMS: readonly string[] = Object.freeze([
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
  'HS256',
  'HS384',
  'HS512',
]);

/** The `--jwt-algorithms` default for public-key files. */
export const DEFAULT_ALGORITHMS: readonly string[] = Object.freeze(['RS256', 'ES256', 'EdDSA']);

/** The default when the key file holds a shared secret (HS256 is never allowed otherwise). */
export const DEFAULT_SECRET_ALGORITHMS: readonly string[] = Object.freeze(['HS256']);

/** RFC 7518 §3.2: an HMAC key must be at least as long as the hash output. */
const MIN_SECRET_BYTES = 32;

const CURVE_FOR: Record<string, string> = {
  ES256: 'prime256v1',
  ES384: 'secp384r1',
  ES512: 'secp521r1',
};

/** Whether `key` can sign or verify `alg` (a secret only ever fits HS*, so no key confusion). */
export function keyFitsAlgorithm(key: KeyObject, alg: string): boolean {
  if (alg.startsWith('HS')) return key.type === 'secret';
  if (key.type === 'secret') return false;
  const type = key.asymmetricKeyType;
  if (/^RS\d+$/.test(alg)) return type === 'rsa';
  if (/^PS\d+$/.test(alg)) return type === 'rsa' || type === 'rsa-pss';
  const curve = CURVE_FOR[alg];
  if (curve) return type === 'ec' && key.asymmetricKeyDetails?.namedCurve === curve;
  if (alg === 'EdDSA') return type === 'ed25519' || type === 'ed448';
  if (alg === 'Ed25519') return type === 'ed25519';
  return false;
}

/** One PEM block: its label (`CERTIFICATE`, `PUBLIC KEY`, ...) and full text. */
export interface PemBlock {
  label: string;
  text: string;
}

/** Splits text into PEM blocks, ignoring anything between them (e.g. `openssl -text` output). */
export function pemBlocks(text: string): PemBlock[] {
  const blocks: PemBlock[] = [];
  const re = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g;
  for (let m = re.exec(text); m; m = re.exec(text)) blocks.push({ label: m[1]!, text: m[0] });
  return blocks;
}

function secretFromBytes(bytes: Buffer): KeyObject {
  if (bytes.length < MIN_SECRET_BYTES) {
    throw new RangeError(`a shared secret must be at least ${MIN_SECRET_BYTES} bytes`);
  }
  return createSecretKey(bytes);
}

function jwkEntries(json: unknown, want: 'public' | 'private'): KeyEntry[] {
  if (typeof json !== 'object' || json === null) throw new TypeError('not a JWK or JWKS object');
  const set = (json as { keys?: unknown }).keys;
  const jwks = set === undefined ? [json] : set;
  if (!Array.isArray(jwks) || jwks.length === 0) throw new TypeError('JWKS "keys" is empty');
  const entries: KeyEntry[] = [];
  for (const [i, raw] of jwks.entries()) {
    if (typeof raw !== 'object' || raw === null) throw new TypeError(`key ${i} is not an object`);
    const jwk = raw as Record<string, unknown>;
    // Encryption keys in a shared JWKS are not ours to verify signatures with.
    if (jwk.use === 'enc') continue;
    let key: KeyObject;
    try {
      if (jwk.kty === 'oct') {
        if (typeof jwk.k !== 'string') throw new TypeError('"k" is missing');
        key = secretFromBytes(Buffer.from(jwk.k, 'base64url'));
      } else if (want === 'private') {
        if (jwk.d === undefined) continue;
        key = createPrivateKey({ key: jwk as JsonWebKeyInput['key'], format: 'jwk' });
      } else {
        key = createPublicKey({ key: jwk as JsonWebKeyInput['key'], format: 'jwk' });
      }
    } catch (e) {
      throw new TypeError(`key ${i}: ${(e as Error).message}`, { cause: e });
    }
    const entry: KeyEntry = { key };
    if (typeof jwk.kid === 'string') entry.kid = jwk.kid;
    if (typeof jwk.alg === 'string') entry.alg = jwk.alg;
    entries.push(entry);
  }
  return entries;
}

function pemEntries(blocks: PemBlock[], want: 'public' | 'private'): KeyEntry[] {
  const entries: KeyEntry[] = [];
  for (const { label, text } of blocks) {
    if (label === 'EC PARAMETERS') continue; // `openssl ecparam -genkey` writes one first
    if (label === 'ENCRYPTED PRIVATE KEY') {
      throw new TypeError('encrypted private keys are not supported');
    }
    if (label === 'CERTIFICATE') {
      if (want === 'public') entries.push({ key: new X509Certificate(text).publicKey });
    } else if (label === 'PUBLIC KEY' || label === 'RSA PUBLIC KEY') {
      if (want === 'public') entries.push({ key: createPublicKey(text) });
    } else if (/^(?:(?:RSA|EC|DSA) )?PRIVATE KEY$/.test(label)) {
      const key = createPrivateKey(text);
      // The proxy only needs the public half; deriving it lets one file serve both sides.
      entries.push({ key: want === 'public' ? createPublicKey(key) : key });
    } else {
      throw new TypeError(`unsupported PEM block "${label}"`);
    }
  }
  return entries;
}

function parseAny(content: Buffer, want: 'public' | 'private'): KeyEntry[] {
  const text = content.toString('utf8');
  if (text.includes('-----BEGIN ')) return pemEntries(pemBlocks(text), want);
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) {
    let json: unknown;
    try {
      json = JSON.parse(trimmed);
    } catch {
      throw new TypeError('looks like JSON but does not parse');
    }
    return jwkEntries(json, want);
  }
  // Anything else is a shared secret; only the trailing newline an editor adds is dropped.
  return [
    {
      key: secretFromBytes(Buffer.from(content.toString('latin1').replace(/\r?\n$/, ''), 'latin1')),
    },
  ];
}

/**
 * Keys to verify with. Private keys and certificates yield their public keys.
 * Throws a TypeError/RangeError saying what is wrong (never echoing key material).
 */
export function parseVerificationKeys(content: Buffer): KeyEntry[] {
  const entries = parseAny(content, 'public');
  if (entries.length === 0) throw new TypeError('no usable key found');
  const secrets = entries.filter((e) => e.key.type === 'secret').length;
  if (secrets !== 0 && secrets !== entries.length) {
    // Mixing would let one allow-list cover both kinds, the root of HS/RS confusion.
    throw new TypeError('the file mixes shared secrets and public keys');
  }
  return entries;
}

/** The one key to sign with: a PEM or JWK private key, or a shared secret. */
export function parseSigningKey(content: Buffer): KeyEntry {
  const entries = parseAny(content, 'private');
  if (entries.length === 0) throw new TypeError('no private key or secret found');
  if (entries.length > 1) throw new TypeError('more than one private key; keep one in the file');
  return entries[0]!;
}

/** Whether every key is a shared secret (decides the default algorithm list). */
export function allSecret(entries: readonly KeyEntry[]): boolean {
  return entries.every((e) => e.key.type === 'secret');
}

/**
 * Checks an allow-list on its own: names must be supported, and HMAC may not be mixed
 * with public-key algorithms. Throws RangeError/TypeError naming `jwtAlgorithms`.
 */
export function checkAlgorithms(algorithms: readonly string[]): void {
  if (algorithms.length === 0) throw new RangeError('jwtAlgorithms: the list is empty');
  for (const alg of algorithms) {
    if (!SUPPORTED_ALGORITHMS.includes(alg)) {
      throw new RangeError(
        `jwtAlgorithms: "${alg}" is not supported (one of ${SUPPORTED_ALGORITHMS.join(', ')})`,
      );
    }
  }
  const hmac = algorithms.filter((a) => a.startsWith('HS')).length;
  if (hmac !== 0 && hmac !== algorithms.length) {
    throw new TypeError('jwtAlgorithms: HS* cannot be combined with public-key algorithms');
  }
}

/**
 * Checks keys against an allow-list: HS* only with secrets, and at least one key must
 * fit at least one algorithm. Used at start-up and on every key reload.
 */
export function checkKeysFit(entries: readonly KeyEntry[], algorithms: readonly string[]): void {
  const secret = allSecret(entries);
  const hmac = algorithms.some((a) => a.startsWith('HS'));
  if (hmac && !secret) throw new TypeError('HS* algorithms need a shared-secret key file');
  if (!hmac && secret) {
    throw new TypeError(`a shared secret cannot verify ${algorithms.join(', ')}; allow HS256`);
  }
  if (!entries.some((e) => algorithms.some((a) => keyFitsAlgorithm(e.key, a)))) {
    throw new TypeError(`no key fits any allowed algorithm (${algorithms.join(', ')})`);
  }
}

/** The algorithm `wsgate token` signs with when none is given. */
export function defaultAlgorithmFor(key: KeyObject): string {
  if (key.type === 'secret') return 'HS256';
  switch (key.asymmetricKeyType) {
    case 'rsa':
      return 'RS256';
    case 'rsa-pss':
      return 'PS256';
    case 'ed25519':
    case 'ed448':
      return 'EdDSA';
    case 'ec': {
      const curve = key.asymmetricKeyDetails?.namedCurve;
      const alg = Object.keys(CURVE_FOR).find((a) => CURVE_FOR[a] === curve);
      if (alg) return alg;
      throw new TypeError(`EC curve ${curve ?? '?'} has no JWS algorithm`);
    }
    default:
      throw new TypeError(`${key.asymmetricKeyType ?? 'this'} key type cannot sign a JWS`);
  }
}
