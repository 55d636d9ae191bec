/** The relay end to end: real ws clients, the proxy in-process, real TCP targets. */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { closed, eventually, openClient, receive, type TestProxy } from '../helpers/proxy.js';
import { assertNoLeaks } from '../helpers/leak-scan.js';
import { leakWatch } from '../helpers/leak-watch.js';
import { rawRequest, upgradeRequest } from '../helpers/raw.js';
import {
  refusedPort,
  startEchoServer,
  startGreetingServer,
  startTcpServer,
  type TestServer,
} from '../helpers/servers.js';

const MAX = 256 * 1024;

/** Every line every proxy here logs, scanned at the end for every token the tests used. */
const leaks = leakWatch(['echo', 'vnc-greeting', 'closer', 'dead', 'echo-v6', 'nope', 'resetter']);

describe('relay', () => {
  let echo: TestServer;
  let echo6: TestServer;
  let vnc: TestServer;
  let closer: TestServer;
  let proxy: TestProxy;
  let dead: number;

  before(async () => {
    echo = await startEchoServer();
    echo6 = await startTcpServer((s) => s.pipe(s), '::1');
    vnc = await startGreetingServer();
    closer = await startTcpServer((s) => s.end('bye'));
    dead = await refusedPort();
    const dir = mkdtempSync(join(tmpdir(), 'wsgate-relay-'));
    const tokens = join(dir, 'tokens.txt');
    writeFileSync(
      tokens,
      [
        `echo: 127.0.0.1:${echo.port}`,
        `vnc-greeting: 127.0.0.1:${vnc.port}`,
        `closer: 127.0.0.1:${closer.port}`,
        `dead: 127.0.0.1:${dead}`,
        `echo-v6: [::1]:${echo6.port}`,
      ].join('\n'),
    );
    proxy = await leaks.start(['--token-file', tokens, '--max-message-bytes', String(MAX)]);
  });
  after(async () => {
    await proxy.close();
    await Promise.all([echo.close(), echo6.close(), vnc.close(), closer.close()]);
  });

  test('echoes binary payloads in both directions up to the size limit', async () => {
    const ws = await openClient(proxy.url('/?token=echo'));
    for (const size of [1, 64, 4096, 65536, MAX]) {
      const payload = randomBytes(size);
      const got = receive(ws, size);
      ws.send(payload);
      assert.ok((await got).equals(payload), `payload of ${size} bytes came back intact`);
    }
    ws.close();
    await closed(ws);
  });

  test('delivers the target greeting that arrives before the upgrade completes', async () => {
    const ws = await openClient(proxy.url('/?token=vnc-greeting'));
    const greeting = await receive(ws, 12);
    assert.equal(greeting.toString(), 'RFB 003.008\n');
    ws.close();
  });

  test('chooses the binary subprotocol when offered, none otherwise', async () => {
    const a = await openClient(proxy.url('/?token=echo'), ['base64', 'binary']);
    assert.equal(a.protocol, 'binary');
    a.close();
    const b = await openClient(proxy.url('/?token=echo'));
    assert.equal(b.protocol, '');
    b.close();
  });

  test('takes the token from cookie, path and subprotocol', async () => {
    const viaCookie = await openClient(proxy.url('/websockify'), undefined, {
      headers: { cookie: 'x=1; token=echo' },
    });
    viaCookie.close();
    const viaPath = await openClient(proxy.url('/console/echo'));
    viaPath.close();
    const viaProtocol = await openClient(proxy.url('/'), ['binary', 'token.echo']);
    assert.equal(viaProtocol.protocol, 'binary');
    viaProtocol.close();
  });

  test('relays to an IPv6 target from the token file', async () => {
    const ws = await openClient(proxy.url('/?token=echo-v6'));
    const got = receive(ws, 3);
    ws.send(Buffer.from('six'));
    assert.equal((await got).toString(), 'six');
    ws.close();
  });

  test('401 for a missing or unknown token, with the catalogue code', async () => {
    await assert.rejects(
      openClient(proxy.url('/')),
      (e: { status: number; headers: Record<string, string> }) => {
        assert.equal(e.status, 401);
        assert.equal(e.headers['x-wsgate-error'], 'PROXY_ERR_NO_TOKEN');
        return true;
      },
    );
    await assert.rejects(
      openClient(proxy.url('/?token=nope')),
      (e: { status: number; headers: Record<string, string> }) => {
        assert.equal(e.status, 401);
        assert.equal(e.headers['x-wsgate-error'], 'PROXY_ERR_UNKNOWN_TOKEN');
        return true;
      },
    );
  });

  test('502 when the target refuses', async () => {
    await assert.rejects(
      openClient(proxy.url('/?token=dead')),
      (e: { status: number; body: string }) => {
        assert.equal(e.status, 502);
        assert.match(e.body, /refused/);
        return true;
      },
    );
  });

  test('malformed handshakes get a precise 4xx', async () => {
    const res = await fetch(proxy.url('/?token=echo').replace('ws:', 'http:'));
    assert.equal(res.status, 426);
    // Everything the proxy sent back before it closed, as text.
    const answer = async (request: string) =>
      (await rawRequest(proxy.address.port, request)).raw.toString('latin1');
    const raw = await answer(upgradeRequest('/?token=echo', { 'Sec-WebSocket-Key': null }));
    assert.match(raw, /^HTTP\/1.1 400 /);
    assert.match(raw, /PROXY_ERR_BAD_KEY/);
    const version = await answer(upgradeRequest('/?token=echo', { 'Sec-WebSocket-Version': '7' }));
    assert.match(version, /^HTTP\/1.1 400 /);
    assert.match(version, /PROXY_ERR_BAD_VERSION/);
    // RFC 6455 §4.1: HTTP/1.1 or later, and a Host header.
    const http10 = await answer(
      upgradeRequest('/?token=echo').replace(' HTTP/1.1\r\n', ' HTTP/1.0\r\n'),
    );
    assert.match(http10, /^HTTP\/1.1 400 /);
    assert.match(http10, /PROXY_ERR_BAD_HTTP/);
    const noHost = await answer(upgradeRequest('/?token=echo', { Host: null }));
    assert.match(noHost, /^HTTP\/1.1 400 /);
    assert.match(noHost, /PROXY_ERR_BAD_HTTP/);
    const garbage = await answer('\x16\x03\x01garbage\r\n\r\n');
    assert.match(garbage, /^HTTP\/1.1 400 /);
  });

  test('an oversized message closes with 1009 and other sessions keep working', async () => {
    const bystander = await openClient(proxy.url('/?token=echo'));
    const big = await openClient(proxy.url('/?token=echo'));
    const done = closed(big);
    big.send(Buffer.alloc(MAX + 1));
    const [code] = await done;
    assert.equal(code, 1009);
    const got = receive(bystander, 5);
    bystander.send(Buffer.from('still'));
    assert.equal((await got).toString(), 'still');
    bystander.close();
  });

  test('target closing ends the session with 1000 after its last bytes', async () => {
    const ws = await openClient(proxy.url('/?token=closer'));
    const got = receive(ws, 3);
    const done = closed(ws);
    assert.equal((await got).toString(), 'bye');
    const [code, reason] = await done;
    assert.equal(code, 1000);
    assert.match(reason, /target closed/);
  });

  test('a target reset closes with 1011 and a reason', async () => {
    const resetter = await startTcpServer((s) => setTimeout(() => s.resetAndDestroy(), 50));
    const dir = mkdtempSync(join(tmpdir(), 'wsgate-reset-'));
    writeFileSync(join(dir, 't'), `resetter: 127.0.0.1:${resetter.port}\n`);
    const p = await leaks.start(['--token-file', join(dir, 't')]);
    try {
      const ws = await openClient(p.url('/?token=resetter'));
      const [code, reason] = await closed(ws);
      assert.equal(code, 1011);
      assert.match(reason, /ECONNRESET/);
      const line = await eventually(() => p.logs.find((l) => l.msg === 'connection closed'));
      assert.equal(line.closeCode, 1011);
    } finally {
      await p.close();
      await resetter.close();
    }
  });

  test('logs one line per session with bytes, duration and close code, never the token', async () => {
    const before = proxy.logs.length;
    const ws = await openClient(proxy.url('/?token=echo'));
    const got = receive(ws, 10);
    ws.send(Buffer.alloc(10));
    await got;
    ws.close(1000, 'bye');
    await closed(ws);
    const line = await eventually(() =>
      proxy.logs.slice(before).find((l) => l.msg === 'connection closed'),
    );
    assert.equal(line.bytesClientToTarget, 10);
    assert.equal(line.bytesTargetToClient, 10);
    assert.equal(line.closeCode, 1000);
    assert.equal(line.target, `127.0.0.1:${echo.port}`);
    assert.equal(line.client, '127.0.0.1');
    assert.equal(typeof line.durationMs, 'number');
    const opened = proxy.logs.slice(before).find((l) => l.msg === 'connection opened')!;
    assert.match(String(opened.token), /^sha256:[0-9a-f]{12}$/);
    assertNoLeaks(proxy.logs, ['echo']);
  });
});

test('no line any proxy here logged holds a token in any form (leak-scan)', () => {
  assert.ok(leaks.scanned > 20, `only ${leaks.scanned} lines were scanned`);
  leaks.assertClean();
});
