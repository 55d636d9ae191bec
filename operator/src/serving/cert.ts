/**
 * The operator's HTTPS serving certificate for /metrics: read from a directory (a mounted
 * kubernetes.io/tls Secret, e.g. from cert-manager), or self-signed at start, as
 * controller-runtime does when no certificate is given. Self-signing needs an X.509
 * writer: node:crypto signs and parses but cannot build certificates, the image has no
 * openssl binary, and a dependency for ~80 lines of DER is not worth its weight. Scrapers
 * skip verification of a self-signed certificate (the bearer token is what protects the
 * endpoint); those that want to verify give the operator a certificate from their CA.
 */
import { createHash, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isIPv4 } from 'node:net';
import { join } from 'node:path';
import { der, oid, seq, utcTime } from './der.js';

/** PEM certificate and key, as https.createServer takes them. */
export interface ServingCert {
  cert: string;
  key: string;
  /** `self-signed` or the directory it was read from. */
  source: string;
}

/** Reads tls.crt and tls.key from `dir` (the layout of a kubernetes.io/tls Secret). */
export function readServingCert(dir: string): ServingCert {
  return {
    cert: readFileSync(join(dir, 'tls.crt'), 'utf8'),
    key: readFileSync(join(dir, 'tls.key'), 'utf8'),
    source: dir,
  };
}

const ECDSA_SHA256 = seq(oid('1.2.840.10045.4.3.2'));

/**
 * A self-signed ECDSA P-256 certificate for `names` (DNS names or IPv4 addresses), valid
 * from an hour ago for `days` (default 365), key usage serverAuth.
 */
export function selfSignedCert(names: readonly string[], days = 365): ServingCert {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  const cn = names[0] ?? 'wsgate-operator';
  const name = seq(der(0x31, seq(oid('2.5.4.3'), der(0x0c, Buffer.from(cn)))));
  const serial = randomBytes(12);
  serial[0] = (serial[0]! & 0x7f) | 0x01; // positive, no leading zero
  const now = Date.now();
  const sans = names.map((n) =>
    isIPv4(n)
      ? der(0x87, Buffer.from(n.split('.').map(Number)))
      : der(0x82, Buffer.from(n, 'ascii')),
  );
  const ext = (id: string, critical: boolean, value: Buffer) =>
    seq(oid(id), ...(critical ? [der(0x01, Buffer.from([0xff]))] : []), der(0x04, value));
  const exts = [
    ext('2.5.29.19', true, seq()), // basicConstraints: not a CA
    ext('2.5.29.15', true, der(0x03, Buffer.from([0x07, 0x80]))), // keyUsage: digitalSignature
    ext('2.5.29.37', false, seq(oid('1.3.6.1.5.5.7.3.1'))), // extKeyUsage: serverAuth
    ext('2.5.29.14', false, der(0x04, createHash('sha1').update(spki).digest())),
    ext('2.5.29.17', false, seq(...sans)),
  ];
  const tbs = seq(
    der(0xa0, der(0x02, Buffer.from([0x02]))), // v3
    der(0x02, serial),
    ECDSA_SHA256,
    name,
    seq(utcTime(new Date(now - 3_600_000)), utcTime(new Date(now + days * 86_400_000))),
    name,
    spki,
    der(0xa3, seq(...exts)),
  );
  const signature = sign('sha256', tbs, privateKey);
  const certDer = seq(tbs, ECDSA_SHA256, der(0x03, Buffer.from([0]), signature));
  const b64 = certDer.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n$/, '');
  return {
    cert: `-----BEGIN CERTIFICATE-----\n${b64}\n-----END CERTIFICATE-----\n`,
    key: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    source: 'self-signed',
  };
}
