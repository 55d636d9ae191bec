/**
 * X.509 v3 certificates for TLS tests, built with node:crypto and a small DER writer (no
 * openssl binary needed): a root CA, intermediates, server leaves with DNS and IP
 * subjectAltNames, and client certificates. Keys are EC P-256, which is fast to generate.
 */
import {
  X509Certificate,
  createHash,
  generateKeyPairSync,
  randomBytes,
  sign,
  type KeyObject,
} from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';
import { der, oid, seq, utcTime } from '../../operator/src/serving/der.js';

export interface Issued {
  /** PEM certificate. */
  cert: string;
  /** PEM private key (PKCS#8). */
  key: string;
  privateKey: KeyObject;
  x509: X509Certificate;
  /** notAfter as Unix seconds (whole seconds, as encoded). */
  notAfter: number;
  /** `AA:BB:...`, the format of `getPeerCertificate().fingerprint256`. */
  fingerprint256: string;
  /** Subject key identifier, for the issued certificates' authorityKeyIdentifier. */
  keyId: Buffer;
  cn: string;
  /** DER subject Name, the issuer Name of the certificates this one signs. */
  subject: Buffer;
}

export interface CertOptions {
  /** Subject CN. */
  cn: string;
  /** Signer; omitted: self-signed. */
  issuer?: Issued;
  /** Is this a CA (basicConstraints cA=TRUE)? */
  ca?: boolean;
  /** subjectAltName dNSName entries. */
  dns?: string[];
  /** subjectAltName iPAddress entries. */
  ips?: string[];
  /** Lifetime from now, in days (default 90). notBefore is one day ago. */
  days?: number;
}

export { der, oid, utcTime } from '../../operator/src/serving/der.js';

function ipBytes(ip: string): Buffer {
  if (isIPv4(ip)) return Buffer.from(ip.split('.').map(Number));
  if (!isIPv6(ip)) throw new TypeError(`${ip} is not an IP address`);
  const [head, tail] = ip.split('::') as [string, string | undefined];
  const groups = (s: string | undefined) => (s ? s.split(':') : []);
  const h = groups(head);
  const t = groups(tail);
  const all =
    tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  const out = Buffer.alloc(16);
  all.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

/** A DER certificate as PEM, base64 in lines of 64. */
export function certificatePem(certDer: Buffer): string {
  const b64 = certDer.toString('base64').replace(/.{64}/g, '$&\n');
  return `-----BEGIN CERTIFICATE-----\n${b64.endsWith('\n') ? b64 : `${b64}\n`}-----END CERTIFICATE-----\n`;
}

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return seq(oid(id), ...(critical ? [der(0x01, Buffer.from([0xff]))] : []), der(0x04, value));
}

const ECDSA_SHA256 = seq(oid('1.2.840.10045.4.3.2'));

/** Issues a certificate (self-signed when no issuer is given) for a fresh P-256 key. */
export function issue(opts: CertOptions): Issued {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  const keyId = createHash('sha1').update(spki).digest();
  const name = seq(der(0x31, seq(oid('2.5.4.3'), der(0x0c, Buffer.from(opts.cn)))));
  const issuerName = opts.issuer ? opts.issuer.subject : name;
  const now = Date.now();
  const notAfterMs = Math.floor((now + (opts.days ?? 90) * 86_400_000) / 1000) * 1000;
  const serial = randomBytes(12);
  serial[0]! &= 0x7f; // positive
  serial[0]! |= 0x01; // and no leading zero byte to worry about

  const exts: Buffer[] = [
    extension('2.5.29.19', true, seq(...(opts.ca ? [der(0x01, Buffer.from([0xff]))] : []))),
    extension('2.5.29.14', false, der(0x04, keyId)),
  ];
  if (opts.ca) {
    // keyUsage: digitalSignature, keyCertSign, cRLSign.
    exts.push(extension('2.5.29.15', true, der(0x03, Buffer.from([0x01, 0x86]))));
  }
  if (opts.issuer) {
    exts.push(extension('2.5.29.35', false, seq(der(0x80, opts.issuer.keyId))));
  }
  const sans = [
    ...(opts.dns ?? []).map((d) => der(0x82, Buffer.from(d, 'ascii'))),
    ...(opts.ips ?? []).map((ip) => der(0x87, ipBytes(ip))),
  ];
  if (sans.length) exts.push(extension('2.5.29.17', false, seq(...sans)));

  const tbs = seq(
    der(0xa0, der(0x02, Buffer.from([0x02]))), // v3
    der(0x02, serial),
    ECDSA_SHA256,
    issuerName,
    seq(utcTime(new Date(now - 86_400_000)), utcTime(new Date(notAfterMs))),
    name,
    spki,
    der(0xa3, seq(...exts)),
  );
  const signer = opts.issuer?.privateKey ?? privateKey;
  const signature = sign('sha256', tbs, signer);
  const certDer = seq(tbs, ECDSA_SHA256, der(0x03, Buffer.from([0]), signature));
  const cert = certificatePem(certDer);
  const x509 = new X509Certificate(cert);
  return {
    cert,
    key: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    privateKey,
    x509,
    notAfter: notAfterMs / 1000,
    fingerprint256: x509.fingerprint256,
    keyId,
    cn: opts.cn,
    subject: name,
  };
}

/** A root CA, an intermediate it signs, and the PEM chain a server sends after its leaf. */
export interface Pki {
  root: Issued;
  intermediate: Issued;
  /** A server certificate for 127.0.0.1 and localhost, issued by the intermediate. */
  server(opts?: Partial<CertOptions>): Issued;
  /** A client certificate with this CN, issued by the root. */
  client(cn: string): Issued;
  /** `leaf + intermediate`, what `--tls-cert` should hold. */
  chain(leaf: Issued): string;
}

export function makePki(name = 'wsgate test'): Pki {
  const root = issue({ cn: `${name} root CA`, ca: true, days: 3650 });
  const intermediate = issue({ cn: `${name} intermediate CA`, ca: true, issuer: root, days: 1825 });
  return {
    root,
    intermediate,
    server: (opts = {}) =>
      issue({
        cn: 'localhost',
        dns: ['localhost'],
        ips: ['127.0.0.1', '::1'],
        issuer: intermediate,
        ...opts,
      }),
    client: (cn) => issue({ cn, issuer: root }),
    chain: (leaf) => leaf.cert + intermediate.cert,
  };
}
