/**
 * README promises that no other test held the proxy to: each test here fails if the
 * behaviour it names is removed. Real parts throughout: an in-process proxy or the real
 * `wsgate` executable, real TCP targets, real `ws` clients and raw sockets.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { WebSocket } from 'ws';
import { portOf, startTokenFileProxy } from '../helpers/cli.js';
import {
  closed,
  eventually,
  metricValue,
  openClient,
  receive,
  startTestProxy,
} from '../helpers/proxy.js';
import { rawRequest, upgradeRequest } from '../helpers/raw.js';
import { startEchoServer, type TestServer } from '../helpers/servers.js';
import { startUnansweredPort, type UnansweredPort } from '../helpers/unanswered-port.js';

let echo: TestServer;
let stuck: UnansweredPort;
let dir: string;
let tokens: string;

before(async () => {
  echo = await startEchoServer();
  stuck = await startUnansweredPort();
  dir = mkdtempSync(join(tmpdir(), 'wsgate-readme-'));
  tokens = join(dir, 'tokens');
  writeFileSync(tokens, `echo: 127.0.0.1:${echo.port}\nstuck: 127.0.0.1:${stuck.port}\n`);
});
after(async () => {
  await echo.close();
  await stuck.close();
});

describe('README: troubleshooting and limits', () => {
  test('a target that never answers the TCP handshake within --connect-timeout: HTTP 502 with X-Wsgate-Error PROXY_ERR_TARGET_TIMEOUT', async () => {
    const proxy = await startTestProxy([
      '--token-file',
      tokens,
      '--connect-timeout',
      '400ms',
      '--handshake-timeout',
      '20s',
    ]);
    try {
      const started = Date.now();
      const refusal = await openClient(proxy.url('/?token=stuck')).then(
        () => assert.fail('the upgrade succeeded'),
        (e: { status?: number; headers?: Record<string, string> }) => e,
      );
      const elapsed = Date.now() - started;
      assert.equal(refusal.status, 502);
      assert.equal(refusal.headers?.['x-wsgate-error'], 'PROXY_ERR_TARGET_TIMEOUT');
      // The 400 ms bound, not the kernel's SYN retries (about 2 minutes) nor the 20 s handshake limit.
      assert.ok(elapsed >= 350 && elapsed < 5000, `refused after ${elapsed} ms`);
      const line = await eventually(() => proxy.logs.find((l) => l.msg === 'handshake refused'));
      assert.equal(line.code, 'PROXY_ERR_TARGET_TIMEOUT');
      assert.equal(
        await metricValue(
          proxy.metricsUrl('/metrics'),
          'wsgate_connections_total',
          'result="upstream_error"',
        ),
        1,
      );
    } finally {
      await proxy.close();
    }
  });

  test('request headers over 16 KiB: HTTP 431 (not 400) with PROXY_ERR_HEADERS_TOO_LARGE', async () => {
    const proxy = await startTestProxy(['--token-file', tokens]);
    try {
      const request = upgradeRequest('/?token=echo', { 'X-Big': 'a'.repeat(17 * 1024) });
      const res = await rawRequest(proxy.address.port, request);
      assert.equal(res.status, 431, res.raw.toString('latin1').slice(0, 200));
      assert.equal(res.headers['x-wsgate-error'], 'PROXY_ERR_HEADERS_TOO_LARGE');
      // Just under the limit is still an ordinary upgrade: the 431 is about size alone.
      const fits = upgradeRequest('/?token=echo', { 'X-Big': 'a'.repeat(15 * 1024) });
      const ok = await rawRequest(proxy.address.port, fits);
      assert.equal(ok.status, 101);
      ok.socket?.destroy();
    } finally {
      await proxy.close();
    }
  });

  test('permessage-deflate is refused: the 101 carries no Sec-WebSocket-Extensions and data arrives byte-exact', async () => {
    const proxy = await startTestProxy(['--token-file', tokens]);
    try {
      const ws = new WebSocket(proxy.url('/?token=echo'), { perMessageDeflate: true });
      const upgrade = new Promise<IncomingMessage>((resolve) => ws.once('upgrade', resolve));
      const chunks: Buffer[] = [];
      ws.on('message', (d: Buffer) => chunks.push(d));
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no open within 5 s')), 5000);
        ws.once('open', () => (clearTimeout(timer), resolve()));
        ws.once('error', (e) => (clearTimeout(timer), reject(e)));
      });
      const res = await upgrade;
      assert.equal(res.headers['sec-websocket-extensions'], undefined);
      assert.equal(ws.extensions, '');
      // Compressible and incompressible bytes alike come back exactly as sent.
      const payload = Buffer.concat([Buffer.alloc(32 * 1024, 'a'), randomBytes(32 * 1024)]);
      ws.send(payload);
      await eventually(
        () => chunks.reduce((n, c) => n + c.length, 0) >= payload.length,
        5000,
        'the echo',
      );
      assert.ok(Buffer.concat(chunks).equals(payload), 'echoed bytes differ');
      ws.close();
    } finally {
      await proxy.close();
    }
  });
});

describe('README: drain', () => {
  test('upgrades refused during a drain are counted as result="draining"', async () => {
    const proxy = await startTestProxy(['--token-file', tokens]);
    const count = (result: string) =>
      metricValue(proxy.metricsUrl('/metrics'), 'wsgate_connections_total', `result="${result}"`);
    const ws = await openClient(proxy.url('/?token=echo'));
    const drained = proxy.drain(10_000);
    try {
      assert.equal(await count('draining'), undefined);
      for (let i = 0; i < 2; i++)
        await assert.rejects(
          openClient(proxy.url('/?token=echo')),
          (e: { status: number; headers: Record<string, string> }) =>
            e.status === 503 && e.headers['x-wsgate-error'] === 'PROXY_ERR_DRAINING',
        );
      assert.equal(await count('draining'), 2);
      assert.equal(await count('ok'), 1);
    } finally {
      ws.close(1000);
      await drained;
    }
  });

  test('a second signal closes at once: SIGTERM twice exits well before --drain-timeout and closes the open session', async () => {
    const d = startTokenFileProxy(tokens, ['--drain-timeout', '60s']);
    try {
      const port = portOf(await d.waitFor((l) => l.msg === 'proxy listening'));
      const ws = await openClient(`ws://127.0.0.1:${port}/?token=echo`);
      const wsClosed = closed(ws);
      d.child.kill('SIGTERM');
      await d.waitFor((l) => l.msg === 'draining');
      // The first signal only drains: the session still relays.
      const got = receive(ws, 5);
      ws.send(Buffer.from('alive'));
      assert.equal((await got).toString(), 'alive');
      const started = Date.now();
      d.child.kill('SIGTERM');
      const code = await Promise.race([
        d.exited,
        new Promise<'late'>((r) => setTimeout(() => r('late'), 10_000).unref()),
      ]);
      const elapsed = Date.now() - started;
      assert.equal(code, 0, `exit ${code} after ${elapsed} ms of a 60 s drain`);
      assert.ok(elapsed < 5000, `exited ${elapsed} ms after the second signal`);
      const [closeCode] = await Promise.race([
        wsClosed,
        new Promise<never>((_, reject) =>
          setTimeout(() => reject(new Error('session still open')), 5000).unref(),
        ),
      ]);
      assert.notEqual(closeCode, 1000);
      assert.ok(d.logs.some((l) => l.msg === 'second signal: closing now'));
    } finally {
      if (d.child.exitCode === null && d.child.signalCode === null) d.child.kill('SIGKILL');
    }
  });
});
