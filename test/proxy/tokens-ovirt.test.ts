import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { constants, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  createOvirtResolver,
  decodeTicket,
  parseTicketTime,
  verifyTicket,
  parseEngineCertificates,
} from '../../proxy/src/tokens/ovirt.js';
import type { Resolution } from '../../proxy/src/tokens/types.js';
import { assertNoLeaks } from '../helpers/leak-scan.js';
import { engineTicket, newEngine, ticketTime } from '../helpers/ovirt.js';
import { openClient, receive, startTestProxy } from '../helpers/proxy.js';
import { refusedWith } from '../helpers/proxy-session.js';
import { startEchoServer } from '../helpers/servers.js';
import {
  eventually,
  selfSignedCert,
  targetOnly,
  tempDir,
  writeSecretMount,
} from './tokens-fixtures.js';

const NOW = Date.UTC(2026, 4, 17, 12, 0, 0);
const target = (host: string, port: number, tls?: boolean): Resolution => ({
  kind: 'target',
  target: tls ? { host, port, tls } : { host, port },
});

describe('ovirt ticket resolver', () => {
  const engine = newEngine();
  const attacker = newEngine('attacker');
  let dir: string;
  let certFile: string;

  before(() => {
    dir = tempDir();
    certFile = join(dir, 'engine.cer');
    writeFileSync(certFile, engine.certPem);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const resolver = () => createOvirtResolver({ certFile, now: () => NOW, watch: false });

  describe('#resolve', () => {
    const cases: { name: string; ticket: () => string; want: Resolution }[] = [
      {
        name: 'Java engine ticket',
        ticket: () => engineTicket(engine, { at: NOW }),
        want: target('192.0.2.10', 5900),
      },
      {
        name: 'Python ticket.py layout',
        ticket: () => engineTicket(engine, { at: NOW, python: true }),
        want: target('192.0.2.10', 5900),
      },
      {
        name: 'ssl_target true',
        ticket: () => engineTicket(engine, { at: NOW, sslTarget: true, port: '5901' }),
        want: target('192.0.2.10', 5901, true),
      },
      {
        name: 'IPv6 host and numeric port',
        ticket: () =>
          engineTicket(engine, {
            at: NOW,
            data: encodeURI(JSON.stringify({ host: '2001:db8::5', port: 5902 })),
          }),
        want: target('2001:db8::5', 5902),
      },
      {
        name: 'within the leeway after validTo',
        ticket: () => engineTicket(engine, { at: NOW - 124_000, lifetimeSeconds: 120 }),
        want: target('192.0.2.10', 5900),
      },
      {
        name: 'within the leeway before validFrom',
        ticket: () => engineTicket(engine, { at: NOW + 4_000 }),
        want: target('192.0.2.10', 5900),
      },
      {
        name: 'signed by another key, embedding its own certificate',
        ticket: () => engineTicket(attacker, { at: NOW }),
        want: { kind: 'refused', reason: 'signature invalid' },
      },
      {
        name: 'embedded certificate swapped for the attacker’s',
        ticket: () => engineTicket(engine, { at: NOW, after: { certificate: attacker.certPem } }),
        want: target('192.0.2.10', 5900),
      },
      {
        name: 'expired',
        ticket: () => engineTicket(engine, { at: NOW - 130_000, lifetimeSeconds: 120 }),
        want: { kind: 'refused', reason: 'ticket expired' },
      },
      {
        name: 'not yet valid',
        ticket: () => engineTicket(engine, { at: NOW + 60_000 }),
        want: { kind: 'refused', reason: 'ticket not yet valid' },
      },
      {
        name: 'validTo not signed (and pushed out a year)',
        ticket: () =>
          engineTicket(engine, {
            at: NOW - 3_600_000,
            signOnly: ['salt', 'digest', 'validFrom', 'data'],
            after: { validTo: ticketTime(NOW + 365 * 86_400_000) },
          }),
        want: { kind: 'refused', reason: 'validTo is not signed' },
      },
      {
        name: 'data not signed (and pointed elsewhere)',
        ticket: () =>
          engineTicket(engine, {
            at: NOW,
            signOnly: ['salt', 'digest', 'validFrom', 'validTo'],
            after: { data: encodeURI(JSON.stringify({ host: '10.9.9.9', port: '22' })) },
          }),
        want: { kind: 'refused', reason: 'data is not signed' },
      },
      {
        name: 'validFrom not signed',
        ticket: () =>
          engineTicket(engine, { at: NOW, signOnly: ['salt', 'digest', 'validTo', 'data'] }),
        want: { kind: 'refused', reason: 'validFrom is not signed' },
      },
      {
        name: 'data tampered after signing',
        ticket: () =>
          engineTicket(engine, {
            at: NOW,
            after: {
              data: encodeURI(JSON.stringify({ host: '10.9.9.9', port: '22', ssl_target: false })),
            },
          }),
        want: { kind: 'refused', reason: 'signature invalid' },
      },
      {
        name: 'signedFields reordered',
        ticket: () =>
          engineTicket(engine, {
            at: NOW,
            after: { signedFields: 'data,validTo,validFrom,digest,salt' },
          }),
        want: { kind: 'refused', reason: 'signature invalid' },
      },
      {
        name: 'v1 (SHA-1) signature only',
        ticket: () => engineTicket(engine, { at: NOW, noV2: true }),
        want: { kind: 'refused', reason: 'no v2_signature (SHA-1 is not accepted)' },
      },
      {
        name: 'a signed field is missing',
        ticket: () => engineTicket(engine, { at: NOW, after: { digest: undefined } }),
        want: { kind: 'refused', reason: 'signed field digest missing' },
      },
      {
        name: 'signedFields repeats a field',
        ticket: () =>
          engineTicket(engine, {
            at: NOW,
            signOnly: ['salt', 'digest', 'validFrom', 'validTo', 'data', 'data'],
          }),
        want: { kind: 'refused', reason: 'signedFields repeats a field' },
      },
      {
        name: 'impossible date, validly signed',
        ticket: () => signedWith({ validFrom: '20260231120000' }),
        want: { kind: 'refused', reason: 'validity times malformed' },
      },
      {
        name: 'data is not JSON',
        ticket: () => engineTicket(engine, { at: NOW, data: 'host=a&port=1' }),
        want: { kind: 'refused', reason: 'data malformed' },
      },
      {
        name: 'data has a bad percent escape',
        ticket: () => engineTicket(engine, { at: NOW, data: '%7B%ZZ' }),
        want: { kind: 'refused', reason: 'data malformed' },
      },
      {
        name: 'port out of range',
        ticket: () => engineTicket(engine, { at: NOW, port: '70000' }),
        want: { kind: 'refused', reason: 'target port out of range' },
      },
      {
        name: 'KubeVirt WebSocket target',
        ticket: () =>
          engineTicket(engine, {
            at: NOW,
            data: encodeURI(
              JSON.stringify({
                host: 'k',
                port: '443',
                path: '/apis/x',
                token: 't',
                ssl_target: true,
              }),
            ),
          }),
        want: { kind: 'refused', reason: 'ticket names a WebSocket target, not supported' },
      },
      { name: 'websockify file token', ticket: () => 'vm-42', want: { kind: 'unknown' } },
      {
        name: 'a JWT',
        ticket: () => 'eyJhbGciOiJSUzI1NiJ9.eyJob3N0IjoiYSJ9.c2ln',
        want: { kind: 'unknown' },
      },
      {
        name: 'base64 of something that is not JSON',
        ticket: () => Buffer.from('just some words here').toString('base64'),
        want: { kind: 'unknown' },
      },
      {
        name: 'base64 JSON without signedFields',
        ticket: () => Buffer.from(JSON.stringify({ salt: 'x', data: 'y' })).toString('base64'),
        want: { kind: 'unknown' },
      },
      {
        name: 'base64 JSON array',
        ticket: () => Buffer.from('["signedFields"]').toString('base64'),
        want: { kind: 'unknown' },
      },
    ];

    /** A Java-layout ticket with chosen raw values, properly signed by the engine. */
    function signedWith(values: Record<string, string>): string {
      const fields: Record<string, string> = {
        salt: randomBytes(8).toString('base64'),
        digest: 'sha1',
        validFrom: ticketTime(NOW),
        validTo: ticketTime(NOW + 60_000),
        data: encodeURI(JSON.stringify({ host: 'a', port: '1', ssl_target: false })),
        ...values,
      };
      const order = Object.keys(fields);
      const v2 = sign('sha256', Buffer.concat(order.map((k) => Buffer.from(fields[k]!))), {
        key: engine.key,
        padding: constants.RSA_PKCS1_PSS_PADDING,
        saltLength: constants.RSA_PSS_SALTLEN_MAX_SIGN,
      });
      const json = JSON.stringify({
        ...fields,
        signedFields: order.join(','),
        v2_signature: v2.toString('base64'),
      });
      return Buffer.from(json).toString('base64');
    }

    for (const c of cases) {
      test(c.name, () => {
        const r = resolver();
        try {
          const token = c.ticket();
          const got = r.resolve(token);
          assert.deepEqual(targetOnly(got), c.want);
          if (got.kind === 'refused') assert.ok(!got.reason.includes(token));
        } finally {
          r.close();
        }
      });
    }

    test('characters shifted between unseparated signed fields are refused', () => {
      // digest "sha1" ends in a digit: moving it into validFrom, and validFrom's last
      // digit into validTo, keeps the signed byte string identical.
      const r = resolver();
      // Python's layout signs salt, digest, validFrom, validTo, data in that order.
      const fields = JSON.parse(
        Buffer.from(engineTicket(engine, { at: NOW, python: true }), 'base64').toString(),
      ) as Record<string, string>;
      assert.equal(fields.signedFields, 'salt,digest,validFrom,validTo,data');
      const shifted = { ...fields };
      shifted.digest = 'sha';
      shifted.validFrom = `1${fields.validFrom!.slice(0, 13)}`;
      shifted.validTo = `${fields.validFrom!.slice(13)}${fields.validTo!.slice(0, 13)}`;
      shifted.data = `${fields.validTo!.slice(13)}${fields.data}`;
      const token = Buffer.from(JSON.stringify(shifted)).toString('base64');
      const got = r.resolve(token);
      assert.equal(got.kind, 'refused');
      r.close();
    });

    test('accepts URL-safe base64 and a "+" turned into a space', () => {
      const r = resolver();
      // Base64 of ASCII only yields "+" and "/" from bytes like "~" and "?" (which
      // encodeURI keeps) in the third position of a group; real tickets rarely have any.
      const data = encodeURI(
        JSON.stringify({ host: '192.0.2.10', port: '5900', ssl_target: false, x: '~~~???' }),
      );
      const ticket = engineTicket(engine, { at: NOW, data });
      assert.ok(ticket.includes('+') && ticket.includes('/'));
      assert.deepEqual(
        targetOnly(r.resolve(ticket.replace(/\+/g, ' '))),
        target('192.0.2.10', 5900),
      );
      assert.deepEqual(
        targetOnly(r.resolve(ticket.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, ''))),
        target('192.0.2.10', 5900),
      );
      r.close();
    });

    test('uses the injected clock', () => {
      let now = NOW;
      const r = createOvirtResolver({ certFile, now: () => now, watch: false, leewaySeconds: 0 });
      const ticket = engineTicket(engine, { at: NOW, lifetimeSeconds: 10 });
      assert.equal(r.resolve(ticket).kind, 'target');
      now = NOW + 10_000;
      assert.equal(r.resolve(ticket).kind, 'target');
      now = NOW + 11_000;
      assert.deepEqual(r.resolve(ticket), { kind: 'refused', reason: 'ticket expired' });
      r.close();
    });
  });

  describe('options', () => {
    test('a negative, NaN or infinite leeway is refused at start', () => {
      for (const leewaySeconds of [-1, NaN, Infinity]) {
        assert.throws(() => createOvirtResolver({ certFile, leewaySeconds, watch: false }), {
          name: 'RangeError',
          message: 'ovirt leeway must be a non-negative number of seconds',
        });
      }
    });

    test('a leeway given as undefined is the default 5 s', () => {
      const r = createOvirtResolver({
        certFile,
        now: () => NOW,
        watch: false,
        leewaySeconds: undefined,
      });
      try {
        // validTo = NOW - 5 s: inside a 5 s leeway, outside 6 s past it.
        const at = (ms: number) => engineTicket(engine, { at: ms, lifetimeSeconds: 10 });
        assert.equal(r.resolve(at(NOW - 15_000)).kind, 'target');
        assert.deepEqual(r.resolve(at(NOW - 16_000)), {
          kind: 'refused',
          reason: 'ticket expired',
        });
      } finally {
        r.close();
      }
    });

    test('a leeway of 2 s is used as given: 2 s past validTo accepted, 3 s refused', () => {
      const r = createOvirtResolver({ certFile, now: () => NOW, watch: false, leewaySeconds: 2 });
      try {
        const at = (ms: number) => engineTicket(engine, { at: ms, lifetimeSeconds: 10 });
        assert.equal(r.resolve(at(NOW - 12_000)).kind, 'target');
        assert.deepEqual(r.resolve(at(NOW - 13_000)), {
          kind: 'refused',
          reason: 'ticket expired',
        });
      } finally {
        r.close();
      }
    });

    test('the resolver is named ovirt (its metrics label)', () => {
      const r = createOvirtResolver({ certFile, watch: false });
      assert.equal(r.name, 'ovirt');
      r.close();
    });

    test('without an injected clock the resolver uses the current time', () => {
      const r = createOvirtResolver({ certFile, watch: false });
      try {
        assert.equal(r.resolve(engineTicket(engine, { at: Date.now() })).kind, 'target');
        assert.deepEqual(r.resolve(engineTicket(engine, { at: NOW - 86_400_000 })), {
          kind: 'refused',
          reason: 'ticket expired',
        });
      } finally {
        r.close();
      }
    });

    test('watch given as undefined is the default: the certificate file is watched', async () => {
      const file = join(dir, 'watched-default.cer');
      writeFileSync(file, engine.certPem);
      const next = newEngine('default-watch');
      let reloads = 0;
      const r = createOvirtResolver({
        certFile: file,
        now: () => NOW,
        watch: undefined,
        onReload: () => reloads++,
      });
      try {
        writeFileSync(`${file}.tmp`, next.certPem);
        const { renameSync } = await import('node:fs');
        renameSync(`${file}.tmp`, file);
        await eventually(() => reloads === 1);
        assert.equal(r.resolve(engineTicket(next, { at: NOW })).kind, 'target');
      } finally {
        r.close();
      }
    });
  });

  describe('certificate file', () => {
    test('accepts any certificate of a bundle (rotation overlap)', () => {
      const file = join(dir, 'bundle.cer');
      writeFileSync(file, engine.certPem + attacker.certPem);
      const r = createOvirtResolver({ certFile: file, now: () => NOW, watch: false });
      assert.equal(r.resolve(engineTicket(engine, { at: NOW })).kind, 'target');
      assert.equal(r.resolve(engineTicket(attacker, { at: NOW })).kind, 'target');
      r.close();
    });

    test('a bare RSA public key works too', () => {
      const file = join(dir, 'engine.pub');
      const pub = parseEngineCertificates(Buffer.from(engine.certPem))[0]!;
      writeFileSync(file, pub.export({ type: 'spki', format: 'pem' }));
      const r = createOvirtResolver({ certFile: file, now: () => NOW, watch: false });
      assert.equal(r.resolve(engineTicket(engine, { at: NOW })).kind, 'target');
      r.close();
    });

    const bad: { name: string; content: string | undefined; message: RegExp }[] = [
      { name: 'missing file', content: undefined, message: /^ovirtCert: .*file not found/ },
      { name: 'empty file', content: '', message: /^ovirtCert: .*no CERTIFICATE found/ },
      { name: 'private key', content: 'PRIVATE', message: /unexpected PEM block "PRIVATE KEY"/ },
      { name: 'EC certificate', content: 'EC', message: /engine key is ec, not RSA/ },
    ];
    for (const c of bad) {
      test(`refuses to start with ${c.name}`, () => {
        const file = join(dir, `bad-${c.name.replace(/ /g, '-')}.cer`);
        if (c.content === 'PRIVATE') {
          writeFileSync(file, engine.key.export({ type: 'pkcs8', format: 'pem' }));
        } else if (c.content === 'EC') {
          const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
          writeFileSync(file, selfSignedCert(ec.privateKey, ec.publicKey));
        } else if (c.content !== undefined) {
          writeFileSync(file, c.content);
        }
        assert.throws(
          () => createOvirtResolver({ certFile: file, watch: false }),
          (e: Error) => {
            assert.ok(e instanceof TypeError);
            assert.match(e.message, c.message);
            return true;
          },
        );
      });
    }

    test('reloadCertificates() takes a Kubernetes Secret symlink swap; a bad update keeps the old certificate', () => {
      const mount = tempDir();
      try {
        const next = newEngine('next');
        writeSecretMount(mount, { 'engine.cer': engine.certPem });
        const errors: Error[] = [];
        let reloads = 0;
        const r = createOvirtResolver({
          certFile: join(mount, 'engine.cer'),
          now: () => NOW,
          watch: false,
          onReload: () => reloads++,
          onReloadError: (e) => errors.push(e),
        });
        assert.equal(r.resolve(engineTicket(next, { at: NOW })).kind, 'refused');
        assert.equal(r.reloadCertificates(), 'unchanged');

        writeSecretMount(mount, { 'engine.cer': next.certPem });
        assert.equal(r.reloadCertificates(), 'reloaded');
        assert.equal(reloads, 1);
        assert.equal(r.resolve(engineTicket(next, { at: NOW })).kind, 'target');
        assert.equal(r.resolve(engineTicket(engine, { at: NOW })).kind, 'refused');

        writeSecretMount(mount, { 'engine.cer': 'garbage' });
        assert.equal(r.reloadCertificates(), 'error');
        assert.equal(r.reloadCertificates(), 'error');
        assert.equal(errors.length, 1, 'one report per bad version, not per poll');
        assert.match(errors[0]!.message, /engine\.cer: no CERTIFICATE found/);
        assert.equal(r.resolve(engineTicket(next, { at: NOW })).kind, 'target');

        writeSecretMount(mount, { 'engine.cer': next.certPem });
        assert.equal(r.reloadCertificates(), 'unchanged', 'same bytes as the key in use');
        r.close();
      } finally {
        rmSync(mount, { recursive: true, force: true });
      }
    });

    test('notices the swap through the directory watch', async () => {
      const mount = tempDir();
      try {
        const next = newEngine('watched');
        writeSecretMount(mount, { 'engine.cer': engine.certPem });
        let reloads = 0;
        const r = createOvirtResolver({
          certFile: join(mount, 'engine.cer'),
          now: () => NOW,
          onReload: () => reloads++,
        });
        writeSecretMount(mount, { 'engine.cer': next.certPem });
        await eventually(() => reloads === 1);
        assert.equal(r.resolve(engineTicket(next, { at: NOW })).kind, 'target');
        r.close();
      } finally {
        rmSync(mount, { recursive: true, force: true });
      }
    });
  });
});

describe('parseTicketTime', () => {
  const cases: [string, number][] = [
    ['20260517120000', NOW],
    ['20240229235959', Date.UTC(2024, 1, 29, 23, 59, 59)],
    ['20250229000000', NaN],
    ['20260517240000', NaN],
    ['2026051712000', NaN],
    ['2026-05-17T12:00', NaN],
    [' 20260517120000', NaN],
  ];
  for (const [text, want] of cases) {
    test(JSON.stringify(text), () => assert.deepEqual(parseTicketTime(text), want));
  }
});

describe('decodeTicket / verifyTicket', () => {
  test('verifyTicket is pure over decoded fields', () => {
    const engine = newEngine();
    const keys = parseEngineCertificates(Buffer.from(engine.certPem));
    const ticket = decodeTicket(engineTicket(engine, { at: NOW }))!;
    assert.deepEqual(targetOnly(verifyTicket(ticket, keys, NOW, 0)), target('192.0.2.10', 5900));
    assert.deepEqual(verifyTicket(ticket, keys, NOW + 3_600_000, 0), {
      kind: 'refused',
      reason: 'ticket expired',
    });
  });
});

describe('a running proxy with --ovirt-cert', () => {
  test('no ticket, nor its signatures, reaches any log line, whether it is accepted, forged, expired or re-encoded (leak-scan)', async () => {
    const engine = newEngine();
    const attacker = newEngine('attacker');
    const dir = tempDir();
    const cert = join(dir, 'engine.cer');
    writeFileSync(cert, engine.certPem);
    const echo = await startEchoServer();
    const proxy = await startTestProxy([
      '--ovirt-cert',
      cert,
      '--allow-target',
      `127.0.0.1/32:${echo.port}`,
    ]);
    const to = { host: '127.0.0.1', port: String(echo.port) };
    const good = engineTicket(engine, to);
    const forged = engineTicket(attacker, to);
    const expired = engineTicket(engine, { ...to, at: Date.now() - 3_600_000 });
    const urlSafe = good.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
    try {
      for (const path of [
        `/${encodeURIComponent(good)}`,
        `/?token=${encodeURIComponent(urlSafe)}`,
      ]) {
        const ws = await openClient(proxy.url(path));
        const got = receive(ws, 2);
        ws.send(Buffer.from('hi'));
        assert.equal((await got).toString(), 'hi');
        ws.close();
      }
      for (const bad of [forged, expired])
        await assert.rejects(
          openClient(proxy.url(`/${encodeURIComponent(bad)}`)),
          refusedWith(401, 'PROXY_ERR_TOKEN_REFUSED'),
        );
      await assert.rejects(
        openClient(proxy.url(`/?token=${encodeURIComponent(good.slice(0, 200))}`)),
        refusedWith(401),
      );
    } finally {
      await proxy.close();
      await echo.close();
      rmSync(dir, { recursive: true, force: true });
    }
    assert.ok(proxy.logs.some((l) => l.msg === 'connection opened'));
    assertNoLeaks(proxy.logs, [good, forged, expired, urlSafe, good.slice(0, 200)]);
  });
});
