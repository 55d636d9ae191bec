import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runOk } from './proc.js';

/**
 * Certificates and keys for one control plane. Node cannot issue X.509
 * certificates, so they come from the `openssl` command (Debian's openssl
 * package, a dependency of ca-certificates); the service-account key pair is
 * plain Node crypto.
 */
export interface Pki {
  readonly dir: string;
  readonly caCert: string;
  readonly caKey: string;
  readonly apiserverCert: string;
  readonly apiserverKey: string;
  /** Client certificate in group system:masters, for the admin and the components. */
  readonly adminCert: string;
  readonly adminKey: string;
  /** The aggregation layer's CA and client, so kcm and scheduler find a request-header CA. */
  readonly frontProxyCaCert: string;
  readonly frontProxyClientCert: string;
  readonly frontProxyClientKey: string;
  /** Service-account token signing key pair (RSA, PEM). */
  readonly saKey: string;
  readonly saPub: string;
}

const DAYS = '3650';

/** A minimal openssl config, so the host's openssl.cnf cannot add or clash with extensions. */
function config(subject: Record<string, string>, extensions: Record<string, string>): string {
  const dn = Object.entries(subject).map(([k, v]) => `${k} = ${v}`);
  const ext = Object.entries(extensions).map(([k, v]) => `${k} = ${v}`);
  return [
    '[req]',
    'distinguished_name = dn',
    'prompt = no',
    '[dn]',
    ...dn,
    '[ext]',
    ...ext,
    '',
  ].join('\n');
}

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

async function selfSignedCa(dir: string, name: string, cn: string): Promise<void> {
  const cnf = join(dir, `${name}.cnf`);
  writeFileSync(
    cnf,
    config(
      { CN: cn },
      {
        basicConstraints: 'critical,CA:TRUE',
        keyUsage: 'critical,keyCertSign,cRLSign,digitalSignature',
        subjectKeyIdentifier: 'hash',
      },
    ),
  );
  const args = ['req', '-x509', '-new', '-config', cnf, '-extensions', 'ext', ...EC_KEY];
  args.push('-keyout', join(dir, `${name}.key`), '-out', join(dir, `${name}.crt`), '-days', DAYS);
  await runOk('openssl', args);
}

async function signedLeaf(
  dir: string,
  ca: string,
  name: string,
  subject: Record<string, string>,
  usage: 'serverAuth' | 'clientAuth',
  sans?: string,
): Promise<void> {
  const cnf = join(dir, `${name}.cnf`);
  const ext: Record<string, string> = {
    basicConstraints: 'critical,CA:FALSE',
    keyUsage: 'critical,digitalSignature,keyEncipherment',
    extendedKeyUsage: usage,
    authorityKeyIdentifier: 'keyid',
  };
  if (sans !== undefined) ext['subjectAltName'] = sans;
  writeFileSync(cnf, config(subject, ext));
  const csr = join(dir, `${name}.csr`);
  const key = join(dir, `${name}.key`);
  await runOk('openssl', ['req', '-new', '-config', cnf, ...EC_KEY, '-keyout', key, '-out', csr]);
  const sign = ['x509', '-req', '-in', csr, '-days', DAYS, '-out', join(dir, `${name}.crt`)];
  sign.push('-CA', join(dir, `${ca}.crt`), '-CAkey', join(dir, `${ca}.key`));
  sign.push('-set_serial', `0x${randomBytes(16).toString('hex')}`);
  sign.push('-extfile', cnf, '-extensions', 'ext');
  await runOk('openssl', sign);
}

/** Generates a fresh PKI in `dir` (replacing any previous one). */
export async function createPki(dir: string): Promise<Pki> {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  // Independent openssl runs, so in parallel: the CAs, then the leaves they sign.
  await Promise.all([
    selfSignedCa(dir, 'ca', 'wsgate-test-ca'),
    selfSignedCa(dir, 'front-proxy-ca', 'wsgate-test-front-proxy-ca'),
  ]);
  const apiserverSans = [
    'DNS:localhost',
    'DNS:kubernetes',
    'DNS:kubernetes.default',
    'DNS:kubernetes.default.svc',
    'DNS:kubernetes.default.svc.cluster.local',
    'IP:127.0.0.1',
    // First address of --service-cluster-ip-range (the `kubernetes` Service).
    'IP:10.0.0.1',
  ].join(',');
  const fp = 'front-proxy-client';
  await Promise.all([
    signedLeaf(dir, 'ca', 'apiserver', { CN: 'kube-apiserver' }, 'serverAuth', apiserverSans),
    signedLeaf(dir, 'ca', 'admin', { O: 'system:masters', CN: 'wsgate-admin' }, 'clientAuth'),
    signedLeaf(dir, 'front-proxy-ca', fp, { CN: fp }, 'clientAuth'),
  ]);
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  writeFileSync(join(dir, 'sa.key'), privateKey.export({ type: 'pkcs8', format: 'pem' }), {
    mode: 0o600,
  });
  writeFileSync(join(dir, 'sa.pub'), publicKey.export({ type: 'spki', format: 'pem' }));
  const f = (n: string): string => join(dir, n);
  return {
    dir,
    caCert: f('ca.crt'),
    caKey: f('ca.key'),
    apiserverCert: f('apiserver.crt'),
    apiserverKey: f('apiserver.key'),
    adminCert: f('admin.crt'),
    adminKey: f('admin.key'),
    frontProxyCaCert: f('front-proxy-ca.crt'),
    frontProxyClientCert: f('front-proxy-client.crt'),
    frontProxyClientKey: f('front-proxy-client.key'),
    saKey: f('sa.key'),
    saPub: f('sa.pub'),
  };
}
