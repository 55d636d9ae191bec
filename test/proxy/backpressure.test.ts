/**
 * Backpressure both ways with real sockets: a client that stops reading must pause the
 * target (and the reverse), keeping what the proxy buffers bounded, and every byte
 * must arrive in order once the slow side reads again.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { HIGH_WATER_MARK } from '../../proxy/src/live-sessions.js';
import {
  eventually,
  openClient,
  receive,
  startTestProxy,
  type TestProxy,
} from '../helpers/proxy.js';
import { startEchoServer, startTcpServer, type TestServer } from '../helpers/servers.js';
import { sleep } from '../helpers/wait.js';

const CHUNK = 64 * 1024;
const LIMIT = 256 * 1024 * 1024; // bound on what the source may ever write

/** Byte i of the stream is i mod 251, so order and completeness can be checked. */
function pattern(offset: number, length: number): Buffer {
  const b = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) b[i] = (offset + i) % 251;
  return b;
}

describe('backpressure', () => {
  let source: TestServer;
  let sink: TestServer;
  let sourceWritten = 0;
  let sourceStop = false;
  let sinkSocket: Socket | undefined;
  let sourceSocket: Socket | undefined;
  let echo: TestServer;
  let proxy: TestProxy;

  /**
   * Round trips through another session of the same proxy. Each one passes through the
   * proxy's event loop (in this process) and the loopback stack: a chance to read a
   * paused socket, had the relay wrongly resumed it. (The paused session itself cannot
   * carry a round trip: its client or its target is not reading.)
   */
  const proxyTurns = async (n: number) => {
    const ws = await openClient(proxy.url('/?token=canary'));
    for (let i = 0; i < n; i++) {
      const got = receive(ws, 1024, 5000);
      ws.send(Buffer.alloc(1024, i));
      assert.ok((await got).equals(Buffer.alloc(1024, i)), 'the canary echoed');
    }
    ws.terminate();
  };

  before(async () => {
    echo = await startEchoServer();
    source = await startTcpServer((s) => {
      sourceSocket = s;
      const pump = () => {
        while (!sourceStop && sourceWritten < LIMIT) {
          const ok = s.write(pattern(sourceWritten, CHUNK));
          sourceWritten += CHUNK;
          if (!ok) return void s.once('drain', pump);
        }
      };
      pump();
    });
    sink = await startTcpServer((s) => {
      s.pause();
      sinkSocket = s;
    });
    const dir = mkdtempSync(join(tmpdir(), 'wsgate-bp-'));
    writeFileSync(
      join(dir, 't'),
      `source: 127.0.0.1:${source.port}\nsink: 127.0.0.1:${sink.port}\ncanary: 127.0.0.1:${echo.port}\n`,
    );
    proxy = await startTestProxy(['--token-file', join(dir, 't'), '--log-level', 'warn']);
  });
  after(async () => {
    await proxy.close();
    await source.close();
    await sink.close();
    await echo.close();
  });

  test('a client that stops reading pauses the target; proxy buffers stay bounded', async (t) => {
    const ws = await openClient(proxy.url('/?token=source'));
    ws.pause();
    const [relay] = proxy.server.sessions;
    assert.ok(relay);
    await eventually(() => relay.targetPaused, 5000, 'target paused');
    // The source blocks (a write left waiting for 'drain') once the kernel buffers between
    // it and the paused proxy are full; only the proxy reading again could unblock it.
    await eventually(() => sourceSocket?.writableNeedDrain, 10_000, 'the source to block');
    const stalledAt = sourceWritten;
    await proxyTurns(5);
    assert.equal(sourceWritten, stalledAt, 'the source stalls once every buffer is full');
    assert.ok(relay.targetPaused, 'target still paused');
    const buffered = relay.bufferedBytes();
    assert.ok(buffered <= HIGH_WATER_MARK + 2 * CHUNK, `proxy buffers ${buffered} bytes`);
    assert.ok(stalledAt < 64 * 1024 * 1024, `source wrote only ${stalledAt} bytes before stalling`);
    t.diagnostic(`source stalled after ${stalledAt} bytes; proxy buffered ${buffered} bytes`);

    // Resume: every byte arrives, in order.
    sourceStop = true;
    const expected = sourceWritten;
    ws.resume();
    const got = await receive(ws, expected, 30_000);
    assert.ok(got.equals(pattern(0, expected)), `${expected} bytes arrived intact and in order`);
    ws.terminate();
  });

  test('a target that stops reading pauses the client; proxy buffers stay bounded', async (t) => {
    const ws = await openClient(proxy.url('/?token=sink'));
    await eventually(() => sinkSocket, 5000, 'sink connected');
    const relay = [...proxy.server.sessions].find((r) => r.target.remotePort === sink.port)!;
    let sent = 0;
    const deadline = Date.now() + 10_000;
    // Send until the client's own buffer backs up well past what loopback socket buffers
    // absorb (several MiB): the proxy has stopped reading.
    while (ws.bufferedAmount < 32 * 1024 * 1024 && sent < LIMIT && Date.now() < deadline) {
      ws.send(pattern(sent, CHUNK));
      sent += CHUNK;
      if (sent % (16 * CHUNK) === 0) await sleep(5);
    }
    await eventually(() => relay.clientPaused, 5000, 'client paused');
    await proxyTurns(5);
    const buffered = relay.target.writableLength;
    assert.ok(buffered <= 4 * CHUNK, `proxy buffers ${buffered} bytes towards the target`);
    assert.ok(ws.bufferedAmount > 0, 'the client is held back');
    t.diagnostic(
      `client held ${ws.bufferedAmount} bytes after sending ${sent}; proxy buffered ${buffered}`,
    );

    let received = 0;
    const parts: Buffer[] = [];
    const all = new Promise<void>((resolve) => {
      sinkSocket!.on('data', (d: Buffer) => {
        parts.push(d);
        received += d.length;
        if (received >= sent) resolve();
      });
    });
    sinkSocket!.resume();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([all, new Promise((r) => (timer = setTimeout(r, 30_000)))]);
    clearTimeout(timer);
    assert.equal(received, sent);
    assert.ok(Buffer.concat(parts).equals(pattern(0, sent)), 'bytes arrived intact and in order');
    ws.terminate();
  });
});
