/**
 * Session features of issue #13 against real `ws` clients and TCP echo targets: the
 * audit facts on every session log line, the per-target limit (refuse and replace) and
 * sessions that end with their ticket (JWT `exp`, oVirt `validTo`).
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { mintTicket } from '../../proxy/src/tokens/mint.js';
import { engineTicket, newEngine } from '../helpers/ovirt.js';
import {
  closed,
  eventually,
  metricValue,
  openClient,
  receive,
  startTestProxy,
  type TestProxy,
} from '../helpers/proxy.js';
import { startEchoServer, type TestServer } from '../helpers/servers.js';
import { assertNoLeaks } from '../helpers/leak-scan.js';

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
let echo: TestServer;
let other: TestServer;
let dir: string;
let tokens: string;
let pub: string;

before(async () => {
  echo = await startEchoServer();
  other = await startEchoServer();
  dir = mkdtempSync(join(tmpdir(), 'wsgate-sessions-'));
  tokens = join(dir, 'tokens');
  // Three tokens for one target: three consoles of the same VM.
  writeFileSync(
    tokens,
    [1, 2, 3].map((n) => `echo${n === 1 ? '' : n}: 127.0.0.1:${echo.port}\n`).join('') +
      `other: 127.0.0.1:${other.port}\n`,
  );
  pub = join(dir, 'pub.pem');
  writeFileSync(pub, rsa.publicKey.export({ type: 'spki', format: 'pem' }));
});
after(async () => {
  await echo.close();
  await other.close();
  rmSync(dir, { recursive: true, force: true });
});

async function withProxy(flags: string[], fn: (p: TestProxy) => Promise<void>): Promise<void> {
  const proxy = await startTestProxy(flags);
  try {
    await fn(proxy);
  } finally {
    await proxy.close();
  }
}

const ticket = (o: { ttlSeconds?: number; subject?: string; port?: number } = {}) =>
  mintTicket({
    key: { key: rsa.privateKey },
    target: { host: '127.0.0.1', port: o.port ?? echo.port },
    ttlSeconds: o.ttlSeconds ?? 60,
    subject: o.subject,
  });

async function roundTrip(ws: import('ws').WebSocket): Promise<void> {
  ws.send(Buffer.from('ping'));
  assert.equal((await receive(ws, 4)).toString(), 'ping');
}

describe('audit', () => {
  test("opened and closed lines carry id, client, target and the JWT's subject, never the token", async () => {
    await withProxy(
      ['--jwt-key', pub, '--allow-target', `127.0.0.1/32:${echo.port}`],
      async (proxy) => {
        const t = await ticket({ subject: 'alice@example.com' });
        const ws = await openClient(proxy.url(`/?token=${t}`));
        await roundTrip(ws);
        ws.close();
        const closedLine = await eventually(() =>
          proxy.logs.find((l) => l.msg === 'connection closed'),
        );
        const opened = proxy.logs.find((l) => l.msg === 'connection opened')!;
        for (const line of [opened, closedLine]) {
          assert.match(String(line.conn), /^[0-9a-z]+-[0-9a-z]+$/);
          assert.equal(line.client, '127.0.0.1');
          assert.equal(line.target, `127.0.0.1:${echo.port}`);
          assert.equal(line.subject, 'alice@example.com');
        }
        assert.equal(opened.conn, closedLine.conn);
        assertNoLeaks(proxy.logs, [t]);
      },
    );
  });

  test('token-file sessions have no subject field', async () => {
    await withProxy(['--token-file', tokens], async (proxy) => {
      const ws = await openClient(proxy.url('/?token=echo'));
      await roundTrip(ws);
      const opened = proxy.logs.find((l) => l.msg === 'connection opened')!;
      assert.equal('subject' in opened, false);
      assert.equal(opened.target, `127.0.0.1:${echo.port}`);
      ws.close();
    });
  });
});

describe('--max-sessions-per-target', () => {
  test('refuse: the console over the limit gets 409 PROXY_ERR_TARGET_BUSY; other targets and freed slots are served', async () => {
    await withProxy(['--token-file', tokens, '--max-sessions-per-target', '2'], async (proxy) => {
      const a = await openClient(proxy.url('/?token=echo'));
      const b = await openClient(proxy.url('/?token=echo2'));
      const err = await openClient(proxy.url('/?token=echo3')).then(
        () => assert.fail('third session to the same target was accepted'),
        (e: { status: number; headers: Record<string, string> }) => e,
      );
      assert.equal(err.status, 409);
      assert.equal(err.headers['x-wsgate-error'], 'PROXY_ERR_TARGET_BUSY');
      assert.equal(
        await metricValue(
          proxy.metricsUrl('/metrics'),
          'wsgate_connections_total',
          '{result="target_busy"}',
        ),
        1,
      );
      const refusedLine = proxy.logs.find((l) => l.code === 'PROXY_ERR_TARGET_BUSY')!;
      assert.equal(refusedLine.detail, `127.0.0.1:${echo.port}`);
      // The limit is per target: another one is still served.
      const c = await openClient(proxy.url('/?token=other'));
      await roundTrip(c);
      // Open sessions are untouched by the refusal.
      await roundTrip(a);
      await roundTrip(b);
      a.close();
      await eventually(() => proxy.logs.some((l) => l.msg === 'connection closed'));
      const d = await openClient(proxy.url('/?token=echo'));
      await roundTrip(d);
      for (const ws of [b, c, d]) ws.close();
    });
  });

  test('the channels of one console (same token, same client: SPICE) count once', async () => {
    await withProxy(['--token-file', tokens, '--max-sessions-per-target', '1'], async (proxy) => {
      const channels = [];
      for (let i = 0; i < 4; i++) channels.push(await openClient(proxy.url('/?token=echo')));
      for (const ws of channels) await roundTrip(ws);
      const err = await openClient(proxy.url('/?token=echo2')).then(
        () => assert.fail('a second console was accepted'),
        (e: { status: number }) => e,
      );
      assert.equal(err.status, 409);
      for (const ws of channels) ws.close();
    });
  });

  test('replace: every session of the oldest console is closed with 4001 and counted', async () => {
    await withProxy(
      [
        '--token-file',
        tokens,
        '--max-sessions-per-target',
        '1',
        '--target-limit-policy',
        'replace',
      ],
      async (proxy) => {
        // The oldest console has two channels; a further one of it replaces nothing.
        const oldest = [
          await openClient(proxy.url('/?token=echo')),
          await openClient(proxy.url('/?token=echo')),
        ];
        const oldClosed = Promise.all(oldest.map(closed));
        const elsewhere = await openClient(proxy.url('/?token=other'));
        const newest = await openClient(proxy.url('/?token=echo2'));
        for (const end of await oldClosed) {
          assert.deepEqual(end, [4001, 'replaced by a newer session']);
        }
        await roundTrip(newest);
        await roundTrip(elsewhere);
        const line = await eventually(() =>
          proxy.logs.find((l) => l.msg === 'connection closed' && l.closeCode === 4001),
        );
        assert.equal(line.closedBy, 'proxy');
        assert.equal(
          await metricValue(
            proxy.metricsUrl('/metrics'),
            'wsgate_sessions_closed_by_proxy_total',
            '{reason="replaced"}',
          ),
          2,
        );
        newest.close();
        elsewhere.close();
      },
    );
  });

  test('a bad value exits with a message naming the flag', async () => {
    await assert.rejects(
      startTestProxy(['--token-file', tokens, '--target-limit-policy', 'kick']),
      /--target-limit-policy: "kick" is not one of refuse, replace/,
    );
  });
});

describe('--end-at-ticket-expiry', () => {
  test("a JWT session closes with 1008 'ticket expired' at exp; without the flag it stays", async () => {
    const flags = ['--jwt-key', pub, '--allow-target', `127.0.0.1/32:${echo.port}`];
    const withFlag = await startTestProxy([...flags, '--end-at-ticket-expiry']);
    const without = await startTestProxy(flags);
    try {
      const t = await ticket({ ttlSeconds: 2, subject: 'bob' });
      const exp = JSON.parse(Buffer.from(t.split('.')[1]!, 'base64url').toString()).exp * 1000;
      const ending = await openClient(withFlag.url(`/?token=${t}`));
      const staying = await openClient(without.url(`/?token=${t}`));
      const [code, reason] = await closed(ending);
      const at = Date.now();
      assert.equal(code, 1008);
      assert.equal(reason, 'ticket expired');
      assert.ok(at >= exp - 50, `closed ${exp - at} ms before exp`);
      assert.ok(at < exp + 1500, `closed ${at - exp} ms after exp`);
      // The expiry has passed (the other session proves it): this one still relays.
      await roundTrip(staying);
      const line = await eventually(() => withFlag.logs.find((l) => l.msg === 'connection closed'));
      assert.equal(line.closedBy, 'proxy');
      assert.equal(line.subject, 'bob');
      assert.equal(
        await metricValue(
          withFlag.metricsUrl('/metrics'),
          'wsgate_sessions_closed_by_proxy_total',
          '{reason="ticket_expired"}',
        ),
        1,
      );
      staying.close();
    } finally {
      await withFlag.close();
      await without.close();
    }
  });

  test("an oVirt session closes at the ticket's validTo", async () => {
    const engine = newEngine();
    const cert = join(dir, 'engine.cer');
    writeFileSync(cert, engine.certPem);
    await withProxy(
      [
        '--ovirt-cert',
        cert,
        '--allow-target',
        `127.0.0.1/32:${echo.port}`,
        '--end-at-ticket-expiry',
      ],
      async (proxy) => {
        const at = Date.now();
        const t = engineTicket(engine, {
          at,
          host: '127.0.0.1',
          port: String(echo.port),
          lifetimeSeconds: 2,
        });
        // validTo has whole seconds: the ticket ends at the start of that second.
        const validTo = Math.floor((at + 2000) / 1000) * 1000;
        const ws = await openClient(proxy.url(`/${encodeURIComponent(t)}`));
        await roundTrip(ws);
        const [code, reason] = await closed(ws);
        const now = Date.now();
        assert.deepEqual([code, reason], [1008, 'ticket expired']);
        assert.ok(
          now >= validTo - 50 && now < validTo + 1500,
          `closed at validTo${now - validTo >= 0 ? '+' : ''}${now - validTo} ms`,
        );
      },
    );
  });

  test('a session whose ticket has no expiry (token file) is not closed by the flag', async () => {
    await withProxy(
      ['--token-file', tokens, '--end-at-ticket-expiry', '--max-session', '1s'],
      async (proxy) => {
        const ws = await openClient(proxy.url('/?token=echo'));
        // --max-session gives the proxy a deadline of its own: the close it sends proves
        // the session was not ended earlier for lack of a ticket expiry.
        const [code, reason] = await closed(ws);
        assert.deepEqual([code, reason], [1008, 'maximum session length reached']);
        assert.ok(proxy.logs.every((l) => l.closeReason !== 'ticket expired'));
        assert.ok(
          proxy.logs.some(
            (l) =>
              l.level === 40 && String(l.msg).startsWith('--end-at-ticket-expiry has no effect'),
          ),
          'the useless flag is warned about',
        );
      },
    );
  });
});
