/**
 * Shared helpers for the token resolver tests: temporary directories, Kubernetes-style
 * Secret mounts (`..data` symlink swaps), and self-signed certificates built with
 * node:crypto and the DER writer of test/helpers/tls.ts, so the tests need no openssl binary.
 */
import { sign, type KeyObject } from 'node:crypto';
import {
  mkdirSync,
  mkdtempSync,
  readlinkSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { certificatePem, der, oid, utcTime } from '../helpers/tls.js';

/** A fresh directory under the OS temp dir; remove it with `rmSync(dir, {recursive: true})`. */
export function tempDir(prefix = 'wsgate-tokens-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/**
 * A self-signed X.509 v1 certificate (PEM) for `publicKey`, signed by `privateKey`
 * (which may belong to another pair, to fake an issuer). RSA and EC keys.
 */
export function selfSignedCert(
  privateKey: KeyObject,
  publicKey: KeyObject,
  cn = 'engine.test',
): string {
  const rsa = privateKey.asymmetricKeyType === 'rsa';
  const algorithm = rsa
    ? der(0x30, oid('1.2.840.113549.1.1.11'), Buffer.from([0x05, 0x00]))
    : der(0x30, oid('1.2.840.10045.4.3.2'));
  const name = der(0x30, der(0x31, der(0x30, oid('2.5.4.3'), der(0x0c, Buffer.from(cn)))));
  const now = Date.now();
  const tbs = der(
    0x30,
    der(0x02, Buffer.from([0x01, 0x23])),
    algorithm,
    name,
    der(0x30, utcTime(new Date(now - 86_400_000)), utcTime(new Date(now + 365 * 86_400_000))),
    name,
    publicKey.export({ type: 'spki', format: 'der' }),
  );
  const signature = sign('sha256', tbs, privateKey);
  const cert = der(0x30, tbs, algorithm, der(0x03, Buffer.from([0]), signature));
  return certificatePem(cert);
}

let generation = 0;

/**
 * Lays out `files` the way the kubelet mounts a Secret: the real files in a
 * timestamped directory, `..data` pointing at it, and each name a symlink through
 * `..data`. Calling it again on the same directory performs the kubelet's atomic swap.
 */
export function writeSecretMount(dir: string, files: Record<string, string | Buffer>): void {
  generation += 1;
  const stamp = `..2026_01_01_00_00_00.${String(process.pid)}${String(generation).padStart(6, '0')}`;
  mkdirSync(join(dir, stamp));
  for (const [name, content] of Object.entries(files))
    writeFileSync(join(dir, stamp, name), content);
  const data = join(dir, '..data');
  let previous: string | undefined;
  try {
    previous = join(dir, readlinkSync(data));
  } catch {
    previous = undefined;
  }
  symlinkSync(stamp, join(dir, '..data_tmp'));
  renameSync(join(dir, '..data_tmp'), data);
  for (const name of Object.keys(files)) {
    try {
      symlinkSync(join('..data', name), join(dir, name));
    } catch {
      // Already linked through ..data from an earlier generation.
    }
  }
  if (previous) rmSync(previous, { recursive: true, force: true });
}

export { eventually } from '../helpers/proxy.js';

/**
 * A resolution without the ticket's expiry and subject, for tests about the target
 * (tests of expiry and subject assert those on their own).
 */
export function targetOnly<T extends { kind: string }>(resolution: T): T {
  if (resolution.kind !== 'target') return resolution;
  const {
    expiresAt: _e,
    subject: _s,
    ...rest
  } = resolution as T & {
    expiresAt?: number;
    subject?: string;
  };
  return rest as T;
}
