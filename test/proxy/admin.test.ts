/**
 * The admin API (`--admin-listen`) against real sessions: bearer-token checks that
 * close nothing, listing, closing one session and closing by target, its TLS, its
 * configuration errors, and with `--workers 2` the primary answering for both workers.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync, rmSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { WebSocket } from 'ws';
import { mintTicket } from '../../proxy/src/tokens/mint.js';
import { portOf, startWsgate } from '../helpers/cli.js';
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
import { makePki } from '../helpers/tls.js';
import { assertNoLeaks } from '../helpers/leak-scan.js';
import { tempDir } from './tokens-fixtures.js';

const ADMIN_TOKEN = 'admin-0123456789abcdef';
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
let echo: TestServer;
let other: TestServer;
let dir: string;
let tokens: string;
let adminTokenFile: string;
let pub: string;

before(async () => {
  echo = await startEchoServer();
  other = await startEchoServer();
  dir = tempDir('wsgate-admin-');
  tokens = join(dir, 'tokens');
  writeFileSync(tokens, `echo: 127.0.0.1:${echo.port}\nother: 127.0.0.1:${other.port}\n`);
  adminTokenFile = join(dir, 'admin-token');
  writeFileSync(adminTokenFile, `${ADMIN_TOKEN}\n`);
  pub = join(dir, 'pub.pem');
  writeFileSync(pub, rsa.publicKey.export({ type: 'spki', format: 'pem' }));
});
after(async () => {
  await echo.close();
  await other.close();
  rmSync(dir, { recursive: true, force: true });
});

const adminFlags = () => ['--admin-listen', '127.0.0.1:0', '--admin-token-file', adminTokenFile];

async function withProxy(flags: string[], fn: (p: TestProxy) => Promise<void>): Promise<void> {
  const proxy = await startTestProxy([...adminFlags(), ...flags]);
  try {
    await fn(proxy);
  } finally {
    await proxy.close();
  }
}

interface Answer {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

async function call(
  base: string,
  method: string,
  path: string,
  token: string | null = ADMIN_TOKEN,
): Promise<Answer> {
  const res = await fetch(base + path, {
    method,
    headers: token === null ? {} : { authorization: `Bearer ${token}` },
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Answer['body'] };
}

const adminUrl = (proxy: TestProxy) => `http://127.0.0.1:${proxy.adminAddress!.port}`;

async function roundTrip(ws: WebSocket): Promise<void> {
  ws.send(Buffer.from('ping'));
  assert.equal((await receive(ws, 4)).toString(), 'ping');
}

interface View {
  id: string;
  client: string;
  target: string;
  subject?: string;
  started: string;
  bytesClientToTarget: number;
  bytesTargetToClient: number;
}

describe('admin API', () => {
  test('401 without the token, with a wrong one or another scheme; nothing is closed', async () => {
    await withProxy(['--token-file', tokens], async (proxy) => {
      const ws = await openClient(proxy.url('/?token=echo'));
      const base = adminUrl(proxy);
      const wrong = [null, 'admin-0123456789abcdeX', 'short', `${ADMIN_TOKEN}x`];
      for (const token of wrong) {
        for (const [method, path] of [
          ['GET', '/sessions'],
          ['DELETE', '/sessions?target=' + encodeURIComponent(`127.0.0.1:${echo.port}`)],
          ['DELETE', '/sessions/' + String(proxy.server.registry.list()[0]!.id)],
          ['GET', '/nope'],
        ] as const) {
          const a = await call(base, method, path, token);
          assert.equal(a.status, 401, `${method} ${path} with ${token}`);
          assert.equal(a.headers.get('x-wsgate-error'), 'PROXY_ERR_ADMIN_UNAUTHORIZED');
          assert.match(String(a.headers.get('www-authenticate')), /^Bearer /);
        }
      }
      const basic = await fetch(`${base}/sessions`, {
        headers: { authorization: `Basic ${Buffer.from(`x:${ADMIN_TOKEN}`).toString('base64')}` },
      });
      assert.equal(basic.status, 401);
      // Every refusal has been answered: the session is still there and relaying.
      await roundTrip(ws);
      assert.equal(proxy.server.registry.size, 1);
      assert.equal(
        await metricValue(
          proxy.metricsUrl('/metrics'),
          'wsgate_sessions_closed_by_proxy_total',
          '{reason="admin"}',
        ),
        0,
      );
      const refusals = proxy.logs.filter((l) => l.msg === 'admin request refused');
      assert.equal(refusals.length, wrong.length * 4 + 1);
      assert.ok(refusals.every((l) => l.client === '127.0.0.1' && l.status === 401));
      assertNoLeaks(proxy.logs, ['admin-0123456789abcde']);
      ws.close();
    });
  });

  test('GET /sessions lists id, client, target, subject, start and bytes', async () => {
    await withProxy(
      ['--jwt-key', pub, '--allow-target', `127.0.0.1/32:${echo.port}`],
      async (proxy) => {
        const ticket = await mintTicket({
          key: { key: rsa.privateKey },
          target: { host: '127.0.0.1', port: echo.port },
          ttlSeconds: 60,
          subject: 'alice',
        });
        const before = Date.now();
        const ws = await openClient(proxy.url(`/?token=${ticket}`));
        await roundTrip(ws);
        const a = await call(adminUrl(proxy), 'GET', '/sessions');
        assert.equal(a.status, 200);
        const sessions = a.body.sessions as View[];
        assert.equal(sessions.length, 1);
        const s = sessions[0]!;
        const opened = proxy.logs.find((l) => l.msg === 'connection opened')!;
        assert.equal(s.id, opened.conn);
        assert.equal(s.client, '127.0.0.1');
        assert.equal(s.target, `127.0.0.1:${echo.port}`);
        assert.equal(s.subject, 'alice');
        assert.ok(Date.parse(s.started) >= before - 1000 && Date.parse(s.started) <= Date.now());
        assert.equal(new Date(s.started).toISOString(), s.started);
        assert.equal(s.bytesClientToTarget, 4);
        assert.equal(s.bytesTargetToClient, 4);
        assert.ok(!JSON.stringify(a.body).includes(ticket), 'the ticket is not listed');
        const line = proxy.logs.find((l) => l.msg === 'admin request')!;
        assert.equal(line.client, '127.0.0.1');
        assert.equal(line.sessions, 1);
        ws.close();
      },
    );
  });

  test('DELETE /sessions/{id} closes that session with 1008 and no other', async () => {
    await withProxy(['--token-file', tokens], async (proxy) => {
      const victim = await openClient(proxy.url('/?token=echo'));
      const bystander = await openClient(proxy.url('/?token=echo'));
      const id = proxy.server.registry.list()[0]!.id;
      const victimClosed = closed(victim);
      const a = await call(adminUrl(proxy), 'DELETE', `/sessions/${id}`);
      assert.equal(a.status, 200);
      assert.deepEqual(
        (a.body.closed as View[]).map((s) => s.id),
        [id],
      );
      assert.deepEqual(await victimClosed, [1008, 'closed by administrator']);
      await roundTrip(bystander);
      const line = await eventually(() =>
        proxy.logs.find((l) => l.msg === 'connection closed' && l.conn === id),
      );
      assert.equal(line.closedBy, 'proxy');
      const audit = proxy.logs.find((l) => l.msg === 'admin closed sessions')!;
      assert.deepEqual(audit.closed, [id]);
      assert.equal(audit.client, '127.0.0.1');
      assert.equal(
        await metricValue(
          proxy.metricsUrl('/metrics'),
          'wsgate_sessions_closed_by_proxy_total',
          '{reason="admin"}',
        ),
        1,
      );
      const again = await call(adminUrl(proxy), 'DELETE', `/sessions/${id}`);
      assert.equal(again.status, 404);
      assert.equal(again.headers.get('x-wsgate-error'), 'PROXY_ERR_SESSION_NOT_FOUND');
      bystander.close();
    });
  });

  test('DELETE /sessions?target= closes every session to that target only', async () => {
    await withProxy(['--token-file', tokens], async (proxy) => {
      const a1 = await openClient(proxy.url('/?token=echo'));
      const a2 = await openClient(proxy.url('/?token=echo'));
      const b = await openClient(proxy.url('/?token=other'));
      const ends = Promise.all([closed(a1), closed(a2)]);
      const target = `127.0.0.1:${echo.port}`;
      const a = await call(adminUrl(proxy), 'DELETE', `/sessions?target=${target}`);
      assert.equal(a.status, 200);
      assert.equal((a.body.closed as View[]).length, 2);
      assert.ok((a.body.closed as View[]).every((s) => s.target === target));
      for (const end of await ends) assert.deepEqual(end, [1008, 'closed by administrator']);
      await roundTrip(b);
      const none = await call(adminUrl(proxy), 'DELETE', `/sessions?target=127.0.0.1:1`);
      assert.deepEqual(none.body, { closed: [] });
      b.close();
    });
  });

  test('bad requests get their own codes', async () => {
    await withProxy(['--token-file', tokens], async (proxy) => {
      const base = adminUrl(proxy);
      const cases: [string, string, number, string][] = [
        ['DELETE', '/sessions', 400, 'PROXY_ERR_ADMIN_BAD_REQUEST'],
        ['POST', '/sessions', 405, 'PROXY_ERR_ADMIN_BAD_METHOD'],
        ['GET', '/sessions/x', 405, 'PROXY_ERR_ADMIN_BAD_METHOD'],
        ['GET', '/metrics', 404, 'PROXY_ERR_ADMIN_NOT_FOUND'],
      ];
      for (const [method, path, status, code] of cases) {
        const a = await call(base, method, path);
        assert.equal(a.status, status, `${method} ${path}`);
        assert.equal(a.headers.get('x-wsgate-error'), code);
        assert.equal(a.body.error, code);
      }
    });
  });

  test('with --tls-cert the admin API speaks HTTPS with the same certificate', async () => {
    const pki = makePki();
    const leaf = pki.server();
    const cert = join(dir, 'tls.crt');
    const key = join(dir, 'tls.key');
    writeFileSync(cert, pki.chain(leaf));
    writeFileSync(key, leaf.key);
    await withProxy(
      ['--token-file', tokens, '--tls-cert', cert, '--tls-key', key],
      async (proxy) => {
        const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
          const req = httpsRequest(
            {
              host: '127.0.0.1',
              port: proxy.adminAddress!.port,
              path: '/sessions',
              ca: pki.root.cert,
              headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
            },
            (res) => {
              let body = '';
              res.on('data', (d: Buffer) => (body += d));
              res.on('end', () => resolve({ status: res.statusCode!, body }));
            },
          );
          req.on('error', reject);
          req.end();
        });
        assert.equal(answer.status, 200);
        assert.deepEqual(JSON.parse(answer.body), { sessions: [] });
        await assert.rejects(fetch(`${adminUrl(proxy)}/sessions`), 'no plain HTTP on it');
      },
    );
  });

  test('configuration errors name the flag', async () => {
    const short = join(dir, 'short-token');
    writeFileSync(short, 'tooshort\n');
    await assert.rejects(
      startTestProxy(['--token-file', tokens, '--admin-listen', '127.0.0.1:0']),
      /--admin-listen needs --admin-token-file/,
    );
    await assert.rejects(
      startTestProxy(['--token-file', tokens, '--admin-token-file', adminTokenFile]),
      /--admin-token-file needs --admin-listen/,
    );
    await assert.rejects(
      startTestProxy([
        '--token-file',
        tokens,
        '--admin-listen',
        '127.0.0.1:0',
        '--admin-token-file',
        short,
      ]),
      /--admin-token-file: .*at least 16 characters/,
    );
    await assert.rejects(
      startTestProxy([
        '--token-file',
        tokens,
        '--admin-listen',
        '127.0.0.1:0',
        '--admin-token-file',
        join(dir, 'missing'),
      ]),
      /--admin-token-file: .*missing: file not found/,
    );
  });
});

describe('admin API with --workers 2', () => {
  test("the primary lists both workers' sessions and closes them in either", async () => {
    const d = startWsgate([
      'proxy',
      '--listen',
      '127.0.0.1:0',
      '--token-file',
      tokens,
      '--workers',
      '2',
      '--metrics-listen',
      '127.0.0.1:0',
      '--drain-timeout',
      '300ms',
      '--allow-missing-origin',
      ...adminFlags(),
    ]);
    const clients: WebSocket[] = [];
    try {
      const base = `http://127.0.0.1:${portOf(await d.waitFor((l) => l.msg === 'admin API listening'))}`;
      const port = portOf(await d.waitFor((l) => l.msg === 'proxy listening'));
      const metrics = `http://127.0.0.1:${portOf(await d.waitFor((l) => l.msg === 'metrics listening'))}`;
      await eventually(
        async () => (await fetch(`${metrics}/readyz`)).status === 200,
        10_000,
        'all workers ready',
      );
      // The primary hands connections to the workers in turn: 4 land on both.
      for (let i = 0; i < 4; i++) {
        const ws = await openClient(`ws://127.0.0.1:${port}/?token=${i % 2 ? 'other' : 'echo'}`);
        await roundTrip(ws);
        clients.push(ws);
      }
      const listed = (await call(base, 'GET', '/sessions')).body.sessions as View[];
      assert.equal(listed.length, 4);
      const pids = new Set(listed.map((s) => s.id.split('-')[0]));
      assert.equal(pids.size, 2, 'sessions of both workers are listed');
      const opened = (await d.waitForCount((l) => l.msg === 'connection opened', 4)).map(
        (l) => l.conn,
      );
      assert.deepEqual(new Set(listed.map((s) => s.id)), new Set(opened));

      // Close one session by id in each worker.
      const victims = [...pids].map((pid) => listed.find((s) => s.id.startsWith(`${pid}-`))!);
      for (const v of victims) {
        const a = await call(base, 'DELETE', `/sessions/${v.id}`);
        assert.equal(a.status, 200);
        assert.deepEqual(
          (a.body.closed as View[]).map((s) => s.id),
          [v.id],
        );
      }
      await eventually(
        () =>
          victims.every((v) =>
            d.logs.some(
              (l) => l.msg === 'connection closed' && l.conn === v.id && l.closeCode === 1008,
            ),
          ),
        5000,
        'both victims closed',
      );
      const left = (await call(base, 'GET', '/sessions')).body.sessions as View[];
      assert.equal(left.length, 2);
      assert.ok(left.every((s) => !victims.some((v) => v.id === s.id)));
      // By target across workers: whatever is left to the echo target.
      const target = `127.0.0.1:${echo.port}`;
      const byTarget = await call(base, 'DELETE', `/sessions?target=${target}`);
      assert.deepEqual(
        (byTarget.body.closed as View[]).map((s) => s.id).sort(),
        left
          .filter((s) => s.target === target)
          .map((s) => s.id)
          .sort(),
      );
      assert.equal((await call(base, 'GET', '/sessions', 'wrong-token-0123456789')).status, 401);
    } finally {
      for (const ws of clients) ws.terminate();
      d.child.kill('SIGTERM');
      await d.exited;
    }
  });
});
