/** Session lifetime limits and shutdown: idle timeout, heartbeat, handshake timeout, drain. */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  closed,
  eventually,
  metricValue,
  openClient,
  receive,
  startTestProxy,
} from '../helpers/proxy.js';
import { startEchoServer, type TestServer } from '../helpers/servers.js';

let echo: TestServer;
let tokens: string;

before(async () => {
  echo = await startEchoServer();
  const dir = mkdtempSync(join(tmpdir(), 'wsgate-life-'));
  tokens = join(dir, 'tokens');
  writeFileSync(tokens, `echo: 127.0.0.1:${echo.port}\n`);
});
after(() => echo.close());

describe('idle timeout', () => {
  test('closes a silent session with 1008 and keeps a busy one', async () => {
    const proxy = await startTestProxy(['--token-file', tokens, '--idle-timeout', '400ms']);
    try {
      const silent = await openClient(proxy.url('/?token=echo'));
      const busy = await openClient(proxy.url('/?token=echo'));
      const silentClosed = closed(silent);
      const started = Date.now();
      let busyOpen = true;
      busy.once('close', () => (busyOpen = false));
      const ping = setInterval(() => busy.send(Buffer.from('x')), 100);
      const [code, reason] = await silentClosed;
      const elapsed = Date.now() - started;
      assert.equal(code, 1008);
      assert.equal(reason, 'idle timeout');
      assert.ok(elapsed >= 350, `closed after ${elapsed} ms, not before the timeout`);
      // A second silent session, opened now and closed by the idle sweep, proves the sweep
      // ran again after the busy session had been open for more than twice the timeout.
      const later = await openClient(proxy.url('/?token=echo'));
      const [laterCode] = await closed(later);
      assert.equal(laterCode, 1008);
      assert.ok(Date.now() - started >= 750, 'the busy session outlived the timeout twice over');
      clearInterval(ping);
      assert.ok(busyOpen, 'a session with traffic stays open past the idle timeout');
      busy.close();
    } finally {
      await proxy.close();
    }
  });
});

describe('heartbeat', () => {
  test('terminates a peer that does not answer pings; a live one stays', async () => {
    const proxy = await startTestProxy(['--token-file', tokens, '--heartbeat', '200ms']);
    try {
      const deaf = await openClient(proxy.url('/?token=echo'), undefined, { autoPong: false });
      const live = await openClient(proxy.url('/?token=echo'));
      let pings = 0;
      live.on('ping', () => pings++);
      const [code] = await closed(deaf);
      assert.equal(code, 1006, 'terminated without a close handshake');
      const line = await eventually(() => proxy.logs.find((l) => l.msg === 'connection closed'));
      assert.match(String(line.closeReason), /heartbeat/);
      // Two more heartbeats after the deaf peer's end: each was a chance to end this one.
      const seen = pings;
      await eventually(() => pings >= seen + 2, 3000, 'two more pings to the live peer');
      assert.equal(live.readyState, live.OPEN);
      assert.ok(pings >= 2, `live peer was pinged ${pings} times`);
      live.close();
    } finally {
      await proxy.close();
    }
  });
});

describe('handshake timeout', () => {
  test('a client dribbling its headers is cut off; others are served meanwhile', async () => {
    const proxy = await startTestProxy(['--token-file', tokens, '--handshake-timeout', '500ms']);
    try {
      const slow = connect(proxy.address.port, '127.0.0.1');
      slow.on('error', () => {});
      const request = 'GET /?token=echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n';
      let i = 0;
      const dribble = setInterval(
        () => slow.writable && i < request.length && slow.write(request[i++]!),
        100,
      );
      const started = Date.now();
      const ws = await openClient(proxy.url('/?token=echo'));
      const got = receive(ws, 2);
      ws.send(Buffer.from('ok'));
      assert.equal((await got).toString(), 'ok');
      await new Promise((r) => slow.once('close', r));
      clearInterval(dribble);
      const elapsed = Date.now() - started;
      assert.ok(elapsed >= 400 && elapsed < 3000, `cut off after ${elapsed} ms`);
      assert.ok(i < request.length, 'cut off before the headers were complete');
      ws.close();
    } finally {
      await proxy.close();
    }
  });
});

describe('drain', () => {
  test('open sessions run until the drain timeout, then close 1001; new upgrades get 503; readyz 503', async () => {
    const proxy = await startTestProxy(['--token-file', tokens]);
    const ws = await openClient(proxy.url('/?token=echo'));
    assert.equal((await fetch(proxy.metricsUrl('/readyz'))).status, 200);
    const started = Date.now();
    const drained = proxy.drain(800);
    const wsClosed = closed(ws);
    assert.equal((await fetch(proxy.metricsUrl('/readyz'))).status, 503);
    await assert.rejects(
      openClient(proxy.url('/?token=echo')),
      (e: { status: number }) => e.status === 503,
    );
    // The open session still relays during the drain.
    const got = receive(ws, 5);
    ws.send(Buffer.from('alive'));
    assert.equal((await got).toString(), 'alive');
    const [code, reason] = await wsClosed;
    assert.equal(code, 1001);
    assert.equal(reason, 'proxy shutting down');
    await drained;
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= 750, `drain waited ${elapsed} ms for the session`);
  });

  test('drain finishes as soon as the last session ends by itself', async () => {
    const proxy = await startTestProxy(['--token-file', tokens]);
    const ws = await openClient(proxy.url('/?token=echo'));
    const started = Date.now();
    const drained = proxy.drain(10_000);
    setTimeout(() => ws.close(1000), 200);
    await drained;
    const elapsed = Date.now() - started;
    assert.ok(elapsed < 3000, `drain returned after ${elapsed} ms, not the 10 s timeout`);
    const line = await eventually(() => proxy.logs.find((l) => l.msg === 'connection closed'));
    assert.equal(line.closeCode, 1000);
  });
});

describe('metrics', () => {
  test('count sessions, bytes, outcomes and durations after known traffic', async () => {
    const proxy = await startTestProxy(['--token-file', tokens]);
    try {
      const m = (name: string, labels = '') =>
        metricValue(proxy.metricsUrl('/metrics'), name, labels);
      const a = await openClient(proxy.url('/?token=echo'));
      const b = await openClient(proxy.url('/?token=echo'));
      await assert.rejects(openClient(proxy.url('/?token=wrong')));
      await assert.rejects(openClient(proxy.url('/')));
      assert.equal(await m('wsgate_connections_active'), 2);
      const got = receive(a, 1000);
      a.send(Buffer.alloc(1000));
      await got;
      // Live sessions' bytes are visible before they close.
      assert.equal(await m('wsgate_bytes_total', 'direction="client_to_target"'), 1000);
      assert.equal(await m('wsgate_bytes_total', 'direction="target_to_client"'), 1000);
      const got2 = receive(b, 500);
      b.send(Buffer.alloc(500));
      await got2;
      a.close();
      b.close();
      await Promise.all([closed(a), closed(b)]);
      await eventually(
        async () => (await m('wsgate_connections_active')) === 0,
        3000,
        'sessions ended',
      );
      assert.equal(await m('wsgate_connections_total', 'result="ok"'), 2);
      assert.equal(await m('wsgate_connections_total', 'result="unauthorized"'), 2);
      assert.equal(await m('wsgate_bytes_total', 'direction="client_to_target"'), 1500);
      assert.equal(await m('wsgate_bytes_total', 'direction="target_to_client"'), 1500);
      assert.equal(await m('wsgate_connection_duration_seconds_count'), 2);
      assert.equal(await m('wsgate_upstream_connect_seconds_count'), 2);
      assert.equal(await m('wsgate_token_resolutions_total', 'resolver="file",result="target"'), 2);
      assert.equal(
        await m('wsgate_token_resolutions_total', 'resolver="file",result="unknown"'),
        1,
      );
      assert.ok(
        (await m('process_resident_memory_bytes'))! > 0,
        'default process metrics are exported',
      );
      assert.equal((await fetch(proxy.metricsUrl('/healthz'))).status, 200);
    } finally {
      await proxy.close();
    }
  });
});
