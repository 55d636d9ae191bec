import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes, createSecretKey, type KeyObject } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SignJWT, type JWTPayload } from 'jose';
import {
  createJwtResolver,
  jwsHeader,
  type JwtResolverOptions,
} from '../../proxy/src/tokens/jwt.js';
import { parseSigningKey } from '../../proxy/src/tokens/keys.js';
import { mintTicket } from '../../proxy/src/tokens/mint.js';
import { assertNoLeaks } from '../helpers/leak-scan.js';
import { REFUSALS } from '../../proxy/src/errors.js';
import {
  ReplayStoreUnavailable,
  type Claim,
  type ClaimResult,
  type ReplayStore,
} from '../../proxy/src/replay/store.js';
import type { Resolution } from '../../proxy/src/tokens/types.js';
import {
  eventually,
  selfSignedCert,
  targetOnly,
  tempDir,
  writeSecretMount,
} from './tokens-fixtures.js';
import {
  eventually as until,
  metricValue,
  openClient,
  receive,
  startTestProxy,
} from '../helpers/proxy.js';
import { refusedWith } from '../helpers/proxy-session.js';
import { startEchoServer } from '../helpers/servers.js';

const NOW = Date.UTC(2026, 4, 17, 12, 0, 0);
const NOW_S = NOW / 1000;

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const rsa2 = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const ed = generateKeyPairSync('ed25519');
const secret = randomBytes(32);

const pem = (k: KeyObject) =>
  k.type === 'private'
    ? (k.export({ type: 'pkcs8', format: 'pem' }) as string)
    : (k.export({ type: 'spki', format: 'pem' }) as string);

interface SignOptions {
  alg?: string;
  kid?: string;
  claims?: JWTPayload;
  /** Drop these default claims. */
  omit?: string[];
}

/** Signs arbitrary claims (unlike mintTicket, which only makes good tickets). */
async function jws(key: KeyObject | Uint8Array, o: SignOptions = {}): Promise<string> {
  const claims: JWTPayload = {
    host: '10.0.0.5',
    port: 5900,
    iat: NOW_S,
    exp: NOW_S + 60,
    ...o.claims,
  };
  for (const k of o.omit ?? []) delete claims[k];
  const header = o.kid ? { alg: o.alg ?? 'RS256', kid: o.kid } : { alg: o.alg ?? 'RS256' };
  return new SignJWT(claims).setProtectedHeader(header).sign(key);
}

const ok = (host = '10.0.0.5', port = 5900, tls?: boolean): Resolution => ({
  kind: 'target',
  target: tls ? { host, port, tls } : { host, port },
});
const no = (reason: string): Resolution => ({ kind: 'refused', reason });
const replayed: Resolution = {
  kind: 'refused',
  reason: 'ticket already used',
  refusal: REFUSALS.tokenReplayed,
};

describe('jwt resolver', () => {
  let dir: string;
  const file = (name: string, content: string | Buffer) => {
    const path = join(dir, name);
    writeFileSync(path, content);
    return path;
  };
  before(() => {
    dir = tempDir();
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  function resolver(keyFile: string, extra: Partial<JwtResolverOptions> = {}) {
    return createJwtResolver({ keyFile, now: () => NOW, watch: false, ...extra });
  }

  describe('#resolve', () => {
    const cases: {
      name: string;
      key: () => string;
      opts?: Partial<JwtResolverOptions>;
      token: () => Promise<string> | string;
      want: Resolution;
    }[] = [
      {
        name: 'RS256, PEM public key',
        key: () => file('rs.pem', pem(rsa.publicKey)),
        token: () => jws(rsa.privateKey),
        want: ok(),
      },
      {
        name: 'RS256, PEM private key (public half derived)',
        key: () => file('rs-priv.pem', pem(rsa.privateKey)),
        token: () => jws(rsa.privateKey),
        want: ok(),
      },
      {
        name: 'ES256, certificate',
        key: () => file('ec.crt', selfSignedCert(ec.privateKey, ec.publicKey)),
        token: () => jws(ec.privateKey, { alg: 'ES256' }),
        want: ok(),
      },
      {
        name: 'EdDSA, JWK',
        key: () => file('ed.jwk', JSON.stringify(ed.publicKey.export({ format: 'jwk' }))),
        token: () => jws(ed.privateKey, { alg: 'EdDSA' }),
        want: ok(),
      },
      {
        name: 'JWKS picks the key by kid',
        key: () =>
          file(
            'set.jwks',
            JSON.stringify({
              keys: [
                { ...rsa.publicKey.export({ format: 'jwk' }), kid: 'one' },
                { ...rsa2.publicKey.export({ format: 'jwk' }), kid: 'two' },
              ],
            }),
          ),
        token: () => jws(rsa2.privateKey, { kid: 'two' }),
        want: ok(),
      },
      {
        name: 'JWKS without kid tries every key',
        key: () =>
          file(
            'set2.jwks',
            JSON.stringify({
              keys: [
                rsa.publicKey.export({ format: 'jwk' }),
                rsa2.publicKey.export({ format: 'jwk' }),
              ],
            }),
          ),
        token: () => jws(rsa2.privateKey),
        want: ok(),
      },
      {
        name: 'JWKS with an unknown kid',
        key: () =>
          file(
            'set3.jwks',
            JSON.stringify({ keys: [{ ...rsa.publicKey.export({ format: 'jwk' }), kid: 'one' }] }),
          ),
        token: () => jws(rsa.privateKey, { kid: 'nine' }),
        want: no('no key for this ticket'),
      },
      {
        name: 'HS256, raw secret file (default list becomes HS256)',
        key: () => file('secret', Buffer.concat([secret, Buffer.from('\n')])),
        token: () => jws(secret, { alg: 'HS256' }),
        want: ok(),
      },
      {
        name: 'HS256, oct JWK',
        key: () => file('oct.jwk', JSON.stringify({ kty: 'oct', k: secret.toString('base64url') })),
        token: () => jws(secret, { alg: 'HS256' }),
        want: ok(),
      },
      {
        name: 'port as a string, tls claim',
        key: () => file('rs.pem', pem(rsa.publicKey)),
        token: () => jws(rsa.privateKey, { claims: { port: '5901', tls: true } }),
        want: ok('10.0.0.5', 5901, true),
      },
      {
        name: 'expired',
        key: () => file('rs.pem', pem(rsa.publicKey)),
        token: () => jws(rsa.privateKey, { claims: { exp: NOW_S - 6 } }),
        want: no('ticket expired'),
      },
      {
        name: 'expired within the leeway',
        key: () => file('rs.pem', pem(rsa.publicKey)),
        token: () => jws(rsa.privateKey, { claims: { exp: NOW_S - 4 } }),
        want: ok(),
      },
      {
        name: 'not yet valid',
        key: () => file('rs.pem', pem(rsa.publicKey)),
        token: () => jws(rsa.privateKey, { claims: { nbf: NOW_S + 30 } }),
        want: no('ticket not yet valid'),
      },
      {
        name: 'no exp',
        key: () => file('rs.pem', pem(rsa.publicKey)),
        token: () => jws(rsa.privateKey, { omit: ['exp'] }),
        want: no('ticket has no expiry'),
      },
      {
        name: 'no exp, allowed',
        key: () => file('rs.pem', pem(rsa.publicKey)),
        opts: { allowNoExp: true },
        token: () => jws(rsa.privateKey, { omit: ['exp'] }),
        want: ok(),
      },
      {
        name: 'audience matches',
        key: () => file('rs.pem', pem(rsa.publicKey)),
        opts: { audience: 'wsgate' },
        token: () => jws(rsa.privateKey, { claims: { aud: ['other', 'wsgate'] } }),
        want: ok(),
      },
      {
        name: 'audience mismatch',
        key: () => file('rs.pem', pem(rsa.publicKey)),
        opts: { audience: 'wsgate' },
        token: () => jws(rsa.privateKey, { claims: { aud: 'other' } }),
        want: no('audience mismatch'),
      },
      {
        name: 'audience missing',
        key: () => file('rs.pem', pem(rsa.publicKey)),
        opts: { audience: 'wsgate' },
        token: () => jws(rsa.privateKey),
        want: no('audience mismatch'),
      },
      {
        name: 'issuer mismatch',
        key: () => file('rs.pem', pem(rsa.publicKey)),
        opts: { issuer: 'https://portal' },
        token: () => jws(rsa.privateKey, { claims: { iss: 'https://evil' } }),
        want: no('issuer mismatch'),
      },
      {
        name: 'algorithm outside the allow-list',
        key: () => file('rs.pem', pem(rsa.publicKey)),
        opts: { algorithms: ['RS256'] },
        token: () => jws(rsa.privateKey, { alg: 'PS256' }),
        want: no('algorithm not allowed'),
      },
      {
        name: 'alg none',
        key: () => file('rs.pem', pem(rsa.publicKey)),
        token: () =>
          `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from('{"host":"a","port":1}').toString('base64url')}.`,
        want: no('algorithm not allowed'),
      },
      {
        name: 'HS256 signed with the public key as secret (key confusion)',
        key: () => file('rs.pem', pem(rsa.publicKey)),
        opts: { algorithms: ['RS256'] },
        token: () => jws(createSecretKey(Buffer.from(pem(rsa.publicKey))), { alg: 'HS256' }),
        want: no('algorithm not allowed'),
      },
      {
        name: 'signed by another key',
        key: () => file('rs.pem', pem(rsa.publicKey)),
        token: () => jws(rsa2.privateKey),
        want: no('signature invalid'),
      },
      {
        name: 'payload tampered',
        key: () => file('rs.pem', pem(rsa.publicKey)),
        token: async () => {
          const [h, , s] = (await jws(rsa.privateKey)).split('.');
          const p = Buffer.from(
            JSON.stringify({ host: '10.6.6.6', port: 22, exp: NOW_S + 60 }),
          ).toString('base64url');
          return `${h}.${p}.${s}`;
        },
        want: no('signature invalid'),
      },
      {
        name: 'missing host',
        key: () => file('rs.pem', pem(rsa.publicKey)),
        token: () => jws(rsa.privateKey, { omit: ['host'] }),
        want: no('target host missing'),
      },
      {
        name: 'host with a slash',
        key: () => file('rs.pem', pem(rsa.publicKey)),
        token: () => jws(rsa.privateKey, { claims: { host: 'a/b' } }),
        want: no('target host invalid'),
      },
      {
        name: 'port zero',
        key: () => file('rs.pem', pem(rsa.publicKey)),
        token: () => jws(rsa.privateKey, { claims: { port: 0 } }),
        want: no('target port out of range'),
      },
      {
        name: 'payload is not JSON',
        key: () => file('rs.pem', pem(rsa.publicKey)),
        token: async () => {
          const { FlattenedSign } = await import('jose');
          const f = await new FlattenedSign(Buffer.from('hello'))
            .setProtectedHeader({ alg: 'RS256' })
            .sign(rsa.privateKey);
          return `${f.protected}.${f.payload}.${f.signature}`;
        },
        want: no('ticket malformed'),
      },
      {
        name: 'file token',
        key: () => file('rs.pem', pem(rsa.publicKey)),
        token: () => 'vm-42',
        want: { kind: 'unknown' },
      },
      {
        name: 'two parts',
        key: () => file('rs.pem', pem(rsa.publicKey)),
        token: () => 'eyJhbGciOiJSUzI1NiJ9.e30',
        want: { kind: 'unknown' },
      },
      {
        name: 'header without alg',
        key: () => file('rs.pem', pem(rsa.publicKey)),
        token: () => `${Buffer.from('{"typ":"JWT"}').toString('base64url')}.e30.c2ln`,
        want: { kind: 'unknown' },
      },
      {
        name: 'dotted words',
        key: () => file('rs.pem', pem(rsa.publicKey)),
        token: () => 'host.example.com',
        want: { kind: 'unknown' },
      },
      {
        name: 'JWE (five parts)',
        key: () => file('rs.pem', pem(rsa.publicKey)),
        token: () => 'eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0..aXY.Y3Q.dGFn',
        want: { kind: 'unknown' },
      },
    ];

    for (const c of cases) {
      test(c.name, async () => {
        const r = resolver(c.key(), c.opts);
        try {
          const token = await c.token();
          const got = await r.resolve(token);
          assert.deepEqual(targetOnly(got), c.want);
          if (got.kind === 'refused') assert.ok(!got.reason.includes(token));
        } finally {
          r.close();
        }
      });
    }
  });

  describe('single use', () => {
    test('a jti is accepted once until it expires, then forgotten', async () => {
      let now = NOW;
      const r = createJwtResolver({
        keyFile: file('su.pem', pem(rsa.publicKey)),
        singleUse: true,
        now: () => now,
        watch: false,
      });
      const first = await mintTicket({
        key: { key: rsa.privateKey },
        target: { host: 'h', port: 1 },
        ttlSeconds: 30,
        jti: 'a',
        now,
      });
      const second = await mintTicket({
        key: { key: rsa.privateKey },
        target: { host: 'h', port: 1 },
        ttlSeconds: 30,
        jti: 'b',
        now,
      });
      assert.equal((await r.resolve(first)).kind, 'target');
      assert.deepEqual(await r.resolve(first), replayed);
      assert.equal((await r.resolve(second)).kind, 'target');
      assert.equal(r.replayEntries, 2);
      now += 40_000; // past exp + leeway: both expired, and swept on the next insert
      const third = await mintTicket({
        key: { key: rsa.privateKey },
        target: { host: 'h', port: 1 },
        ttlSeconds: 30,
        jti: 'c',
        now,
      });
      assert.equal((await r.resolve(third)).kind, 'target');
      assert.equal(r.replayEntries, 1);
      assert.deepEqual(await r.resolve(first), no('ticket expired'));
      r.close();
    });

    test('concurrent uses of one ticket: exactly one wins', async () => {
      const r = resolver(file('su.pem', pem(rsa.publicKey)), { singleUse: true });
      const t = await mintTicket({
        key: { key: rsa.privateKey },
        target: { host: 'h', port: 1 },
        ttlSeconds: 30,
        jti: 'x',
        now: NOW,
      });
      const results = await Promise.all([r.resolve(t), r.resolve(t), r.resolve(t)]);
      assert.equal(results.filter((x) => x.kind === 'target').length, 1);
      r.close();
    });

    test('a ticket without jti, or without exp, is refused', async () => {
      const r = resolver(file('su.pem', pem(rsa.publicKey)), { singleUse: true, allowNoExp: true });
      assert.deepEqual(
        await r.resolve(await jws(rsa.privateKey)),
        no('single-use ticket has no jti'),
      );
      assert.deepEqual(
        await r.resolve(await jws(rsa.privateKey, { claims: { jti: 'j' }, omit: ['exp'] })),
        no('single-use ticket has no expiry'),
      );
      r.close();
    });

    test('a full replay cache refuses rather than forgets', async () => {
      const r = resolver(file('su.pem', pem(rsa.publicKey)), {
        singleUse: true,
        maxReplayEntries: 2,
      });
      for (const jti of ['1', '2']) {
        assert.equal(
          (await r.resolve(await jws(rsa.privateKey, { claims: { jti } }))).kind,
          'target',
        );
      }
      assert.deepEqual(await r.resolve(await jws(rsa.privateKey, { claims: { jti: '3' } })), {
        kind: 'refused',
        reason: 'replay store unavailable: too many single-use tickets outstanding',
        refusal: REFUSALS.replayStore,
      });
      r.close();
    });

    test('one console: the same client may reuse the ticket within the window, no one else', async () => {
      let now = NOW;
      const r = createJwtResolver({
        keyFile: file('su.pem', pem(rsa.publicKey)),
        singleUse: true,
        singleUseWindowMs: 5000,
        now: () => now,
        watch: false,
      });
      const t = await mintTicket({
        key: { key: rsa.privateKey },
        target: { host: 'h', port: 1 },
        ttlSeconds: 60,
        jti: 'spice',
        now,
      });
      const from = (client: string) => r.resolve(t, { client });
      assert.equal((await from('10.0.0.1')).kind, 'target', 'main channel');
      now += 1000;
      for (const channel of ['display', 'inputs', 'cursor']) {
        assert.equal((await from('10.0.0.1')).kind, 'target', channel);
      }
      assert.deepEqual(await from('10.0.0.2'), replayed, 'another client inside the window');
      assert.deepEqual(await r.resolve(t), replayed, 'no client address');
      now += 4001;
      assert.deepEqual(await from('10.0.0.1'), replayed, 'the same client after the window');
      r.close();
    });

    test('a store that cannot answer refuses the ticket (fail closed) with 503', async () => {
      const down: ReplayStore = {
        kind: 'test',
        claim: () => Promise.reject(new ReplayStoreUnavailable('ECONNREFUSED (127.0.0.1:1)')),
        unavailable: () => 'ECONNREFUSED (127.0.0.1:1)',
        close() {},
      };
      const r = resolver(file('su.pem', pem(rsa.publicKey)), {
        singleUse: true,
        replayStore: down,
      });
      const t = await jws(rsa.privateKey, { claims: { jti: 'k' } });
      assert.deepEqual(await r.resolve(t, { client: '10.0.0.1' }), {
        kind: 'refused',
        reason: 'replay store unavailable: ECONNREFUSED (127.0.0.1:1)',
        refusal: REFUSALS.replayStore,
      });
      r.close();
    });

    test('without singleUse a jti is just a claim', async () => {
      const r = resolver(file('su.pem', pem(rsa.publicKey)));
      const t = await jws(rsa.privateKey, { claims: { jti: 'same' } });
      assert.equal((await r.resolve(t)).kind, 'target');
      assert.equal((await r.resolve(t)).kind, 'target');
      r.close();
    });
  });

  describe('configuration', () => {
    const bad: {
      name: string;
      key: () => string;
      opts?: Partial<JwtResolverOptions>;
      error: RegExp;
      type: typeof Error;
    }[] = [
      {
        name: 'missing key file',
        key: () => join(dir, 'nope.pem'),
        error: /^jwtKey: .*nope\.pem: file not found$/,
        type: TypeError,
      },
      {
        name: 'HS256 with a public key',
        key: () => file('rs.pem', pem(rsa.publicKey)),
        opts: { algorithms: ['HS256'] },
        error: /^jwtKey: .*HS\* algorithms need a shared-secret key file/,
        type: TypeError,
      },
      {
        name: 'RS256 with a secret',
        key: () => file('sec', secret),
        opts: { algorithms: ['RS256'] },
        error: /a shared secret cannot verify RS256/,
        type: TypeError,
      },
      {
        name: 'HS256 mixed with RS256',
        key: () => file('sec', secret),
        opts: { algorithms: ['HS256', 'RS256'] },
        error: /^jwtAlgorithms: HS\* cannot be combined/,
        type: TypeError,
      },
      {
        name: 'unknown algorithm',
        key: () => file('rs.pem', pem(rsa.publicKey)),
        opts: { algorithms: ['none'] },
        error: /^jwtAlgorithms: "none" is not supported/,
        type: RangeError,
      },
      {
        name: 'short secret',
        key: () => file('short', 'hunter2\n'),
        error: /at least 32 bytes/,
        type: TypeError,
      },
      {
        name: 'JWKS mixing secrets and public keys',
        key: () =>
          file(
            'mixed.jwks',
            JSON.stringify({
              keys: [
                { kty: 'oct', k: secret.toString('base64url') },
                rsa.publicKey.export({ format: 'jwk' }),
              ],
            }),
          ),
        error: /mixes shared secrets and public keys/,
        type: TypeError,
      },
      {
        name: 'key fits none of the algorithms',
        key: () => file('ec.pem', pem(ec.publicKey)),
        opts: { algorithms: ['RS256', 'EdDSA'] },
        error: /no key fits any allowed algorithm/,
        type: TypeError,
      },
      {
        name: 'broken JSON',
        key: () => file('broken.jwk', '{"kty":'),
        error: /does not parse/,
        type: TypeError,
      },
      {
        name: 'encrypted private key',
        key: () =>
          file(
            'enc.pem',
            rsa.privateKey.export({
              type: 'pkcs8',
              format: 'pem',
              cipher: 'aes-256-cbc',
              passphrase: 'x',
            }) as string,
          ),
        error: /encrypted private keys are not supported/,
        type: TypeError,
      },
    ];
    for (const c of bad) {
      test(`refuses to start: ${c.name}`, () => {
        assert.throws(
          () => resolver(c.key(), c.opts),
          (e: Error) => {
            assert.ok(e instanceof Error);
            assert.match(e.message, c.error);
            return true;
          },
        );
      });
    }

    test('default allow-lists', () => {
      const pub = resolver(file('rs.pem', pem(rsa.publicKey)));
      assert.deepEqual(pub.algorithms, ['RS256', 'ES256', 'EdDSA']);
      pub.close();
      const sec = resolver(file('sec', secret));
      assert.deepEqual(sec.algorithms, ['HS256']);
      sec.close();
    });

    test('jwsHeader recognises only compact JWS', () => {
      assert.deepEqual(jwsHeader(`${Buffer.from('{"alg":"ES256"}').toString('base64url')}.e30.`), {
        alg: 'ES256',
      });
      assert.equal(jwsHeader('a.b.c'), undefined);
      assert.equal(jwsHeader('..'), undefined);
      assert.equal(jwsHeader(`${Buffer.from('[1]').toString('base64url')}.e30.x`), undefined);
    });
  });

  describe('key reload', () => {
    test('reloadKeys() takes a Kubernetes Secret swap; a bad or unfitting key keeps the old one', async () => {
      const mount = tempDir();
      try {
        writeSecretMount(mount, { 'jwt.pem': pem(rsa.publicKey) });
        const errors: Error[] = [];
        let reloads = 0;
        const r = resolver(join(mount, 'jwt.pem'), {
          onReload: () => reloads++,
          onReloadError: (e) => errors.push(e),
        });
        const byOne = await jws(rsa.privateKey);
        const byTwo = await jws(rsa2.privateKey);
        assert.equal((await r.resolve(byOne)).kind, 'target');
        assert.equal((await r.resolve(byTwo)).kind, 'refused');

        writeSecretMount(mount, { 'jwt.pem': pem(rsa2.publicKey) });
        assert.equal(r.reloadKeys(), 'reloaded');
        assert.equal(reloads, 1);
        assert.equal((await r.resolve(byTwo)).kind, 'target');
        assert.equal((await r.resolve(byOne)).kind, 'refused');

        writeSecretMount(mount, {
          'jwt.pem': '-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----\n',
        });
        assert.equal(r.reloadKeys(), 'error');
        writeSecretMount(mount, { 'jwt.pem': secret });
        assert.equal(r.reloadKeys(), 'error', 'a secret does not fit RS256/ES256/EdDSA');
        assert.equal(errors.length, 2);
        assert.match(errors[1]!.message, /jwt\.pem: a shared secret cannot verify/);
        assert.equal((await r.resolve(byTwo)).kind, 'target', 'old key still in use');
        r.close();
      } finally {
        rmSync(mount, { recursive: true, force: true });
      }
    });

    test('a running proxy: a broken key rewrite keeps the old key, is logged and counted; no ticket reaches the log', async () => {
      const echo = await startEchoServer();
      const path = file('running.pem', pem(rsa.publicKey));
      const proxy = await startTestProxy([
        '--jwt-key',
        path,
        '--allow-target',
        `127.0.0.1/32:${echo.port}`,
      ]);
      const tickets: string[] = [];
      const ticket = async (privateKey: KeyObject) => {
        const minted = await mintTicket({
          key: parseSigningKey(Buffer.from(pem(privateKey))),
          target: { host: '127.0.0.1', port: echo.port },
          ttlSeconds: 60,
        });
        tickets.push(minted);
        return minted;
      };
      const works = async (token: string) => {
        const ws = await openClient(proxy.url(`/?token=${token}`));
        const got = receive(ws, 2);
        ws.send(Buffer.from('hi'));
        assert.equal((await got).toString(), 'hi');
        ws.close();
      };
      try {
        await works(await ticket(rsa.privateKey));
        // The other key's PEM, cut short: its tickets must not start working.
        writeFileSync(path, pem(rsa2.publicKey).slice(0, 100));
        await until(
          async () =>
            (await metricValue(
              proxy.metricsUrl('/metrics'),
              'wsgate_config_reloads_total',
              'result="error"',
            )) === 1,
          5000,
          'the failed reload to be counted',
        );
        const line = await until(
          () =>
            proxy.logs.find((l) => l.msg === 'file reload failed; keeping the last good content'),
          2000,
          'the failure to be logged',
        );
        assert.equal(line.file, path);
        assert.match(String(line.err), new RegExp(`^${path}: `), 'the file, not the setting');
        await works(await ticket(rsa.privateKey));
        await assert.rejects(
          openClient(proxy.url(`/?token=${await ticket(rsa2.privateKey)}`)),
          refusedWith(401),
        );
        // Neither the tickets nor their payloads or signatures reached the log.
        assertNoLeaks(proxy.logs, tickets);
      } finally {
        await proxy.close();
        await echo.close();
      }
    });

    test('notices a rewrite through the directory watch', async () => {
      const path = file('watched.pem', pem(rsa.publicKey));
      let reloads = 0;
      const r = createJwtResolver({ keyFile: path, now: () => NOW, onReload: () => reloads++ });
      writeFileSync(join(dir, 'watched.pem.tmp'), pem(rsa2.publicKey));
      const { renameSync } = await import('node:fs');
      renameSync(join(dir, 'watched.pem.tmp'), path);
      await eventually(() => reloads === 1);
      assert.equal((await r.resolve(await jws(rsa2.privateKey))).kind, 'target');
      r.close();
    });
  });
});

/**
 * Claims, refusals and options of the JWT resolver at their edges (issue 19: each test
 * kills mutants of tokens/jwt.ts that the cases above let survive).
 */
describe('jwt resolver: edges', () => {
  let dir: string;
  let rsaFile: string;
  before(() => {
    dir = tempDir();
    rsaFile = join(dir, 'rs.pem');
    writeFileSync(rsaFile, pem(rsa.publicKey));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const withKey = (extra: Partial<JwtResolverOptions> = {}) =>
    createJwtResolver({ keyFile: rsaFile, now: () => NOW, watch: false, ...extra });
  /** Resolves `token` with a fresh resolver of `extra` options, then closes it. */
  async function resolveWith(
    token: string,
    extra: Partial<JwtResolverOptions> = {},
    client?: string,
  ): Promise<Resolution> {
    const r = withKey(extra);
    try {
      return await r.resolve(token, client === undefined ? undefined : { client });
    } finally {
      r.close();
    }
  }
  const b64 = (json: unknown) => Buffer.from(JSON.stringify(json)).toString('base64url');

  describe('jwsHeader', () => {
    const header = b64({ alg: 'RS256' });
    test('a part holding a character outside base64url is no JWS', () => {
      assert.equal(jwsHeader(`${header}.e30.a+b`), undefined);
      assert.equal(jwsHeader(`${header}.e3=0.c2ln`), undefined);
      assert.equal(jwsHeader(`${header}=.e30.c2ln`), undefined);
      assert.equal(jwsHeader(`${header}.e30.c2ln!`), undefined);
    });
    test('four parts are no JWS', () => {
      assert.equal(jwsHeader(`${header}.e30.c2ln.x`), undefined);
    });
    test('a header that is JSON null, a number or has a non-string alg is no JWS', () => {
      assert.equal(jwsHeader(`${Buffer.from('null').toString('base64url')}.e30.x`), undefined);
      assert.equal(jwsHeader(`${b64(7)}.e30.x`), undefined);
      assert.equal(jwsHeader(`${b64({ alg: 1 })}.e30.x`), undefined);
    });
    test('a header that does not parse as JSON is no JWS', () => {
      assert.equal(jwsHeader(`${Buffer.from('{alg').toString('base64url')}.e30.x`), undefined);
    });
    test('the whole header is returned, with an empty payload and signature allowed', () => {
      assert.deepEqual(jwsHeader(`${b64({ alg: 'RS256', kid: 'k', typ: 'JWT' })}..`), {
        alg: 'RS256',
        kid: 'k',
        typ: 'JWT',
      });
    });
  });

  describe('refusal reasons', () => {
    test('an exp that is not a number is "claim "exp" invalid", not "no expiry"', async () => {
      const t = await jws(rsa.privateKey, { claims: { exp: 'tomorrow' as unknown as number } });
      assert.deepEqual(await resolveWith(t), no('claim "exp" invalid'));
    });
    test('an iat that is not a number is "claim "iat" invalid"', async () => {
      const t = await jws(rsa.privateKey, { claims: { iat: 'now' as unknown as number } });
      assert.deepEqual(await resolveWith(t), no('claim "iat" invalid'));
    });
    test('an issuer required and absent is "issuer mismatch"', async () => {
      const t = await jws(rsa.privateKey);
      assert.deepEqual(await resolveWith(t, { issuer: 'https://portal' }), no('issuer mismatch'));
    });
    test('the issuer and audience configured and matching: accepted', async () => {
      const t = await jws(rsa.privateKey, { claims: { iss: 'https://portal', aud: 'wsgate' } });
      assert.deepEqual(
        targetOnly(await resolveWith(t, { issuer: 'https://portal', audience: 'wsgate' })),
        ok(),
      );
    });
    test('an unknown critical header is "ticket uses an unsupported feature"', async () => {
      const t = await new SignJWT({ host: 'h', port: 1, exp: NOW_S + 60 })
        .setProtectedHeader({ alg: 'RS256', crit: ['x-wsgate'], 'x-wsgate': 1 })
        .sign(rsa.privateKey, { crit: { 'x-wsgate': true } });
      assert.deepEqual(await resolveWith(t), no('ticket uses an unsupported feature'));
    });
    test('a ticket whose header names an EC algorithm for an RSA key: "no key for this ticket"', async () => {
      const t = await jws(ec.privateKey, { alg: 'ES256' });
      assert.deepEqual(await resolveWith(t), no('no key for this ticket'));
    });
    test("a JWK whose alg differs from the ticket's is no candidate", async () => {
      const jwks = join(dir, 'alg.jwks');
      writeFileSync(
        jwks,
        JSON.stringify({ keys: [{ ...rsa.publicKey.export({ format: 'jwk' }), alg: 'RS384' }] }),
      );
      const r = createJwtResolver({
        keyFile: jwks,
        algorithms: ['RS256', 'RS384'],
        now: () => NOW,
        watch: false,
      });
      try {
        assert.deepEqual(await r.resolve(await jws(rsa.privateKey)), no('no key for this ticket'));
        assert.deepEqual(
          targetOnly(await r.resolve(await jws(rsa.privateKey, { alg: 'RS384' }))),
          ok(),
        );
      } finally {
        r.close();
      }
    });
    test('a kid in the ticket matches a JWK without kid', async () => {
      const jwks = join(dir, 'nokid.jwks');
      writeFileSync(jwks, JSON.stringify({ keys: [rsa.publicKey.export({ format: 'jwk' })] }));
      const r = createJwtResolver({ keyFile: jwks, now: () => NOW, watch: false });
      try {
        assert.deepEqual(
          targetOnly(await r.resolve(await jws(rsa.privateKey, { kid: 'x' }))),
          ok(),
        );
      } finally {
        r.close();
      }
    });
    test('a ticket without kid, or with a kid that is not a string, may use a JWK that has a kid', async () => {
      const jwks = join(dir, 'kidded.jwks');
      writeFileSync(
        jwks,
        JSON.stringify({ keys: [{ ...rsa.publicKey.export({ format: 'jwk' }), kid: 'one' }] }),
      );
      const r = createJwtResolver({ keyFile: jwks, now: () => NOW, watch: false });
      try {
        assert.deepEqual(targetOnly(await r.resolve(await jws(rsa.privateKey))), ok());
        const numericKid = await new SignJWT({ host: '10.0.0.5', port: 5900, exp: NOW_S + 60 })
          .setProtectedHeader({ alg: 'RS256', kid: 5 as unknown as string })
          .sign(rsa.privateKey);
        assert.deepEqual(targetOnly(await r.resolve(numericKid)), ok());
      } finally {
        r.close();
      }
    });
    test('a key of the right kid that did not sign it: "signature invalid"', async () => {
      const jwks = join(dir, 'kid.jwks');
      writeFileSync(
        jwks,
        JSON.stringify({ keys: [{ ...rsa.publicKey.export({ format: 'jwk' }), kid: 'one' }] }),
      );
      const r = createJwtResolver({ keyFile: jwks, now: () => NOW, watch: false });
      try {
        assert.deepEqual(
          await r.resolve(await jws(rsa2.privateKey, { kid: 'one' })),
          no('signature invalid'),
        );
      } finally {
        r.close();
      }
    });
  });

  describe('target claims', () => {
    test('a unix claim alone names a socket target', async () => {
      const t = await jws(rsa.privateKey, {
        claims: { unix: '/run/vm.sock' },
        omit: ['host', 'port'],
      });
      assert.deepEqual(targetOnly(await resolveWith(t)), {
        kind: 'target',
        target: { host: '', port: 0, unix: '/run/vm.sock' },
      });
    });
    test('a unix claim with host or with port is refused', async () => {
      const reason = 'ticket names both a unix socket and host/port';
      const withHost = await jws(rsa.privateKey, {
        claims: { unix: '/run/vm.sock' },
        omit: ['port'],
      });
      const withPort = await jws(rsa.privateKey, {
        claims: { unix: '/run/vm.sock' },
        omit: ['host'],
      });
      assert.deepEqual(await resolveWith(withHost), no(reason));
      assert.deepEqual(await resolveWith(withPort), no(reason));
    });
    test("a relative unix path is refused with the path check's reason", async () => {
      const t = await jws(rsa.privateKey, { claims: { unix: 'vm.sock' }, omit: ['host', 'port'] });
      assert.deepEqual(await resolveWith(t), no('unix socket path must be absolute'));
    });
    test('a tls claim that is not a boolean is refused', async () => {
      const t = await jws(rsa.privateKey, { claims: { tls: 'yes' } });
      assert.deepEqual(await resolveWith(t), no('target tls flag invalid'));
    });
  });

  describe('ticket facts', () => {
    test('record true and record false are reported as given, with exp in ms', async () => {
      for (const record of [true, false]) {
        const t = await jws(rsa.privateKey, { claims: { record } });
        assert.deepEqual(await resolveWith(t), {
          kind: 'target',
          target: { host: '10.0.0.5', port: 5900 },
          expiresAt: (NOW_S + 60) * 1000,
          record,
        });
      }
    });
    test('a record claim that is not a boolean is refused', async () => {
      const t = await jws(rsa.privateKey, { claims: { record: 'yes' } });
      assert.deepEqual(await resolveWith(t), no('claim "record" invalid'));
    });
  });

  describe('options', () => {
    test('a negative, NaN or infinite leeway is refused at start', () => {
      for (const leewaySeconds of [-1, NaN, Infinity]) {
        assert.throws(() => withKey({ leewaySeconds }), {
          name: 'RangeError',
          message: 'jwt leeway must be a non-negative number of seconds',
        });
      }
    });
    test('a negative or NaN single-use window is refused at start', () => {
      for (const singleUseWindowMs of [-1, NaN]) {
        assert.throws(() => withKey({ singleUseWindowMs }), {
          name: 'RangeError',
          message: 'jwt single-use window must be a non-negative number of milliseconds',
        });
      }
    });
    test('options given as undefined take their defaults (5 s leeway)', async () => {
      const t = await jws(rsa.privateKey, { claims: { exp: NOW_S - 4 } });
      const got = await resolveWith(t, {
        leewaySeconds: undefined,
        singleUseWindowMs: undefined,
        maxReplayEntries: undefined,
      });
      assert.deepEqual(targetOnly(got), ok());
      assert.deepEqual(
        await resolveWith(await jws(rsa.privateKey, { claims: { exp: NOW_S - 6 } }), {
          leewaySeconds: undefined,
        }),
        no('ticket expired'),
      );
    });
    test('a leeway of 0 refuses a ticket 1 s past its exp', async () => {
      const t = await jws(rsa.privateKey, { claims: { exp: NOW_S - 1 } });
      assert.deepEqual(await resolveWith(t, { leewaySeconds: 0 }), no('ticket expired'));
    });
    test('a leeway of 0 and a single-use window of 0 are accepted', async () => {
      const t = await jws(rsa.privateKey, { claims: { jti: 'w0' } });
      const got = await resolveWith(t, { leewaySeconds: 0, singleUse: true, singleUseWindowMs: 0 });
      assert.deepEqual(targetOnly(got), ok());
    });
    test('the resolver is named jwt (its metrics label)', () => {
      const r = withKey();
      assert.equal(r.name, 'jwt');
      r.close();
    });
    test('the allow-list cannot be changed after start', () => {
      const r = withKey({ algorithms: ['RS256'] });
      try {
        assert.ok(Object.isFrozen(r.algorithms));
        assert.deepEqual(r.algorithms, ['RS256']);
      } finally {
        r.close();
      }
    });
  });

  describe('single use', () => {
    /** A store that records each claim and answers `answer`. */
    const recording = (answer: () => Promise<ClaimResult>) => {
      const claims: Claim[] = [];
      const store: ReplayStore = {
        kind: 'test',
        claim: (c) => {
          claims.push(c);
          return answer();
        },
        unavailable: () => null,
        close() {},
      };
      return { claims, store };
    };

    test('claims the jti for the client until exp + leeway, with the configured window', async () => {
      const { claims, store } = recording(() => Promise.resolve('first'));
      const t = await jws(rsa.privateKey, { claims: { jti: 'j1', exp: NOW_S + 30 } });
      const got = await resolveWith(
        t,
        { singleUse: true, replayStore: store, singleUseWindowMs: 1234, leewaySeconds: 7 },
        '192.0.2.1',
      );
      assert.equal(got.kind, 'target');
      assert.deepEqual(claims, [{ key: 'j1', client: '192.0.2.1', ttlMs: 37_000, windowMs: 1234 }]);
    });
    test('without a client address the claim names client ""', async () => {
      const { claims, store } = recording(() => Promise.resolve('first'));
      const t = await jws(rsa.privateKey, { claims: { jti: 'j2' } });
      await resolveWith(t, { singleUse: true, replayStore: store });
      assert.equal(claims[0]?.client, '');
    });
    test('a use from the same client within the window is accepted', async () => {
      const { store } = recording(() => Promise.resolve('same-client-window'));
      const t = await jws(rsa.privateKey, { claims: { jti: 'j3' } });
      assert.equal((await resolveWith(t, { singleUse: true, replayStore: store })).kind, 'target');
    });
    test('a jti that is empty or longer than 256 characters is refused; 256 is accepted', async () => {
      for (const jti of ['', 'x'.repeat(257)]) {
        const t = await jws(rsa.privateKey, { claims: { jti } });
        assert.deepEqual(
          await resolveWith(t, { singleUse: true }),
          no('single-use ticket has no jti'),
          `jti of ${jti.length}`,
        );
      }
      const t = await jws(rsa.privateKey, { claims: { jti: 'x'.repeat(256) } });
      assert.equal((await resolveWith(t, { singleUse: true })).kind, 'target');
    });
    test('a store failing with anything but ReplayStoreUnavailable rejects the resolution', async () => {
      const { store } = recording(() => Promise.reject(new Error('bug in the store')));
      const t = await jws(rsa.privateKey, { claims: { jti: 'j4' } });
      await assert.rejects(resolveWith(t, { singleUse: true, replayStore: store }), {
        message: 'bug in the store',
      });
    });
    test("close() forgets the jtis of the resolver's own store", async () => {
      const r = withKey({ singleUse: true });
      await r.resolve(await jws(rsa.privateKey, { claims: { jti: 'c1' } }));
      assert.equal(r.replayEntries, 1);
      r.close();
      assert.equal(r.replayEntries, 0);
    });
    test('a resolver given a store remembers no jti itself', async () => {
      const { store } = recording(() => Promise.resolve('first'));
      const r = withKey({ singleUse: true, replayStore: store });
      try {
        await r.resolve(await jws(rsa.privateKey, { claims: { jti: 'j5' } }));
        assert.equal(r.replayEntries, 0);
      } finally {
        r.close();
      }
    });
  });
});
