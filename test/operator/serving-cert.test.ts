/**
 * The operator's self-signed serving certificate: a valid X.509 v3 server certificate
 * for the given names, which a TLS client that trusts it accepts for those names (a
 * real HTTPS server on 127.0.0.1) and refuses for others.
 */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { readServingCert, selfSignedCert } from '../../operator/src/serving/cert.js';

function get(port: number, ca: string, servername: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/', ca, servername }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('serving certificate', () => {
  test('self-signed for the given names, a year long, not a CA', () => {
    const { cert, source } = selfSignedCert(['wsgate-operator-abc', 'localhost', '127.0.0.1']);
    const x = new X509Certificate(cert);
    assert.equal(source, 'self-signed');
    assert.equal(x.subject, 'CN=wsgate-operator-abc');
    assert.equal(x.issuer, x.subject);
    assert.equal(x.ca, false);
    assert.ok(x.verify(x.publicKey), 'signed by its own key');
    assert.equal(x.subjectAltName, 'DNS:wsgate-operator-abc, DNS:localhost, IP Address:127.0.0.1');
    const days = (Date.parse(x.validTo) - Date.now()) / 86_400_000;
    assert.ok(days > 364 && days <= 365, `${days} days`);
    assert.ok(Date.parse(x.validFrom) < Date.now());
    assert.ok(x.checkHost('localhost'));
    assert.ok(x.checkIP('127.0.0.1'));
  });

  test('serves HTTPS that a client trusting it accepts for its names only', async () => {
    const pair = selfSignedCert(['localhost', '127.0.0.1']);
    const server = createServer(pair, (_req, res) => res.end('ok'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const { port } = server.address() as AddressInfo;
      assert.equal(await get(port, pair.cert, 'localhost'), 200);
      await assert.rejects(get(port, pair.cert, 'elsewhere.example'), /altnames/);
      await assert.rejects(
        get(port, selfSignedCert(['localhost']).cert, 'localhost'),
        (e: NodeJS.ErrnoException) => /self[- ]signed|signature/i.test(`${e.code} ${e.message}`),
      );
    } finally {
      server.close();
    }
  });

  test('reads tls.crt and tls.key from a directory, naming a missing file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wsgate-cert-'));
    try {
      const pair = selfSignedCert(['localhost']);
      writeFileSync(join(dir, 'tls.crt'), pair.cert);
      assert.throws(() => readServingCert(dir), /tls\.key/);
      writeFileSync(join(dir, 'tls.key'), pair.key);
      assert.deepEqual(readServingCert(dir), { ...pair, source: dir });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
