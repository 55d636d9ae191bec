/**
 * What resolvers report besides the target: the ticket's expiry (for
 * `--end-at-ticket-expiry`) and its subject (for the audit log and admin API).
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { SignJWT } from 'jose';
import { createJwtResolver } from '../../proxy/src/tokens/jwt.js';
import { mintTicket } from '../../proxy/src/tokens/mint.js';
import { createOvirtResolver } from '../../proxy/src/tokens/ovirt.js';
import { auditSubject } from '../../proxy/src/tokens/target-claims.js';
import { engineTicket, newEngine } from '../helpers/ovirt.js';
import { tempDir } from './tokens-fixtures.js';

const NOW = Date.UTC(2026, 4, 17, 12, 0, 0);
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });

describe('ticket facts', () => {
  let dir: string;
  let pub: string;
  before(() => {
    dir = tempDir();
    pub = join(dir, 'pub.pem');
    writeFileSync(pub, rsa.publicKey.export({ type: 'spki', format: 'pem' }));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('a JWT reports its exp (ms) and sub', async () => {
    const r = createJwtResolver({ keyFile: pub, now: () => NOW, watch: false });
    try {
      const ticket = await mintTicket({
        key: { key: rsa.privateKey },
        target: { host: '10.0.0.5', port: 5900 },
        ttlSeconds: 30,
        subject: 'alice@example.com',
        now: NOW,
      });
      assert.deepEqual(await r.resolve(ticket), {
        kind: 'target',
        target: { host: '10.0.0.5', port: 5900 },
        expiresAt: NOW + 30_000,
        subject: 'alice@example.com',
      });
    } finally {
      r.close();
    }
  });

  test('a JWT without sub has no subject; one without exp (allowed) has no expiry', async () => {
    const r = createJwtResolver({ keyFile: pub, now: () => NOW, watch: false, allowNoExp: true });
    try {
      const ticket = await new SignJWT({ host: 'h', port: 1 })
        .setProtectedHeader({ alg: 'RS256' })
        .sign(rsa.privateKey);
      assert.deepEqual(await r.resolve(ticket), {
        kind: 'target',
        target: { host: 'h', port: 1 },
      });
    } finally {
      r.close();
    }
  });

  test('a sub that is not a printable string up to 256 characters is left out', async () => {
    const r = createJwtResolver({ keyFile: pub, now: () => NOW, watch: false });
    try {
      for (const sub of ['a\nforged log line', 'x'.repeat(257), '']) {
        const ticket = await new SignJWT({ host: 'h', port: 1, sub })
          .setProtectedHeader({ alg: 'RS256' })
          .setExpirationTime(NOW / 1000 + 60)
          .sign(rsa.privateKey);
        const got = await r.resolve(ticket);
        assert.equal(got.kind, 'target');
        assert.equal('subject' in got, false, JSON.stringify(sub));
      }
    } finally {
      r.close();
    }
  });

  test('auditSubject', () => {
    assert.equal(auditSubject('bob'), 'bob');
    assert.equal(auditSubject('x'.repeat(256)), 'x'.repeat(256));
    assert.equal(auditSubject(42), undefined);
    assert.equal(auditSubject('tab\there'), undefined);
    assert.equal(auditSubject('del\u007f'), undefined);
  });

  test('an oVirt ticket reports validTo as its expiry and no subject (the engine signs no user)', () => {
    const engine = newEngine();
    const cert = join(dir, 'engine.cer');
    writeFileSync(cert, engine.certPem);
    const r = createOvirtResolver({ certFile: cert, now: () => NOW, watch: false });
    try {
      const got = r.resolve(engineTicket(engine, { at: NOW, lifetimeSeconds: 120 }));
      assert.deepEqual(got, {
        kind: 'target',
        target: { host: '192.0.2.10', port: 5900 },
        expiresAt: NOW + 120_000,
      });
    } finally {
      r.close();
    }
  });
});
