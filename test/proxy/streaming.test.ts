/**
 * The streaming relay end to end, held against `ws` as the reference: random client frame
 * streams written to a real proxy in pieces of 1–7 bytes (headers cut apart) must reach
 * the target byte-exact, target bytes must reach the client byte-exact, over ws:// and
 * wss://; every protocol error closes with the code `ws` would use, and other sessions
 * keep working. Seeded and bounded.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { after, before, describe, test } from 'node:test';
import {
  ERROR_CASE_MAX_MESSAGE,
  PROTOCOL_ERRORS,
  randomFrameStream,
  randomSplits,
  wsReference,
} from '../helpers/frame-streams.js';
import { openClient, receive, startTestProxy, type TestProxy } from '../helpers/proxy.js';
import { FrameReader, frame, prng, rawUpgrade, upgradeRequest } from '../helpers/raw.js';
import { makePki } from '../helpers/tls.js';
import { sleep } from '../helpers/wait.js';

/** A target that records what each connection sends, or sends `sendBytes` to it. */
interface Target {
  port: number;
  server: Server;
  received: Buffer[];
  sockets: Socket[];
}

async function startTarget(onConnect: (s: Socket, t: Target) => void): Promise<Target> {
  const t: Target = { port: 0, server: createServer(), received: [], sockets: [] };
  t.server.on('connection', (s) => {
    t.sockets.push(s);
    s.on('error', () => {});
    onConnect(s, t);
  });
  await new Promise<void>((r) => t.server.listen(0, '127.0.0.1', r));
  t.port = (t.server.address() as AddressInfo).port;
  return t;
}

/** Polls `check` every 10 ms until true; fails naming `what` after `ms`. */
async function until(check: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(10);
  }
}

/** Upgrades over TLS by hand and returns the frame reader on the TLS socket. */
async function rawTlsUpgrade(port: number, path: string, ca: string): Promise<FrameReader> {
  const socket = tlsConnect({ port, host: '127.0.0.1', ca, servername: 'localhost' });
  await new Promise<void>((resolve, reject) => {
    socket.once('secureConnect', resolve);
    socket.once('error', reject);
  });
  socket.write(upgradeRequest(path));
  let head = Buffer.alloc(0);
  const deadline = Date.now() + 5000;
  while (head.indexOf('\r\n\r\n') < 0) {
    if (Date.now() > deadline) assert.fail('no upgrade response within 5 s');
    const chunk = await new Promise<Buffer | null>((r) => {
      socket.once('data', r);
      setTimeout(() => r(null), 100);
    });
    if (chunk) head = Buffer.concat([head, chunk]);
  }
  socket.pause();
  const end = head.indexOf('\r\n\r\n') + 4;
  assert.match(head.subarray(0, 12).toString(), /^HTTP\/1\.1 101/);
  const reader = new FrameReader(socket, head.subarray(end));
  socket.resume();
  return reader;
}

/** Writes `parts` one by one, yielding now and then so they reach the proxy as many reads. */
async function writeInPieces(socket: Socket, parts: Buffer[]): Promise<void> {
  for (let i = 0; i < parts.length; i++) {
    if (!socket.write(parts[i]!)) await new Promise((r) => socket.once('drain', r));
    else if (i % 32 === 0) await new Promise((r) => setImmediate(r));
  }
}

describe('streaming relay', () => {
  const pki = makePki('wsgate streaming');
  const dir = mkdtempSync(join(tmpdir(), 'wsgate-streaming-'));
  let sink: Target;
  let source: Target;
  let echo: Target;
  let sourceBytes: Buffer = Buffer.alloc(0);
  const proxies: Record<'ws' | 'wss', TestProxy> = {} as never;

  before(async () => {
    sink = await startTarget((s, t) => s.on('data', (d: Buffer) => t.received.push(d)));
    source = await startTarget(async (s) => {
      // Random chunk sizes with gaps, so the proxy sees reads of every size.
      const rng = prng(99);
      for (let at = 0; at < sourceBytes.length;) {
        const n = 1 + rng.int(rng.int(4) === 0 ? 200_000 : 2000);
        if (!s.write(sourceBytes.subarray(at, at + n)))
          await new Promise((r) => s.once('drain', r));
        at += n;
        if (rng.int(8) === 0) await sleep(1);
      }
    });
    echo = await startTarget((s) => s.pipe(s));
    writeFileSync(
      join(dir, 'tokens'),
      `sink: 127.0.0.1:${sink.port}\nsource: 127.0.0.1:${source.port}\necho: 127.0.0.1:${echo.port}\n`,
    );
    const server = pki.server();
    writeFileSync(join(dir, 'tls.crt'), pki.chain(server));
    writeFileSync(join(dir, 'tls.key'), server.key);
    const common = ['--token-file', join(dir, 'tokens'), '--log-level', 'warn'];
    common.push('--max-message-bytes', String(ERROR_CASE_MAX_MESSAGE * 1000));
    proxies.ws = await startTestProxy(common);
    proxies.wss = await startTestProxy([
      ...common,
      '--tls-cert',
      join(dir, 'tls.crt'),
      '--tls-key',
      join(dir, 'tls.key'),
    ]);
  });
  after(async () => {
    await proxies.ws?.close();
    await proxies.wss?.close();
    for (const t of [sink, source, echo]) {
      for (const s of t?.sockets ?? []) s.destroy();
      t?.server.close();
    }
  });

  const open = (scheme: 'ws' | 'wss', path: string) =>
    scheme === 'ws'
      ? rawUpgrade(proxies.ws.address.port, path)
      : rawTlsUpgrade(proxies.wss.address.port, path, pki.root.cert);

  for (const scheme of ['ws', 'wss'] as const) {
    test(`${scheme}: random frame streams written in 1–7 byte pieces reach the target byte-exact; pings get their pongs`, async () => {
      const deadline = Date.now() + 20_000;
      for (let seed = 1; seed <= 6 && Date.now() < deadline; seed++) {
        const rng = prng(seed * 7919);
        const stream = randomFrameStream(rng, { messages: 2 + rng.int(6), maxMessage: 200_000 });
        const ref = await wsReference(stream.bytes, 0);
        assert.ok(ref.data.equals(stream.data), `seed ${seed}: ws agrees on the payloads`);
        sink.received.length = 0;
        const reader = await open(scheme, '/?token=sink');
        await writeInPieces(reader.socket, randomSplits(rng, stream.bytes, 20_000));
        const expected = stream.data.length;
        const got = () => sink.received.reduce((n, b) => n + b.length, 0);
        await until(() => got() >= expected, 15_000, `${expected} bytes at the target`);
        assert.ok(Buffer.concat(sink.received).equals(ref.data), `seed ${seed}: byte-exact`);
        const pings = ref.controls.filter((c) => c.opcode === 0x9).map((c) => c.payload);
        await until(
          () => reader.frames.filter((f) => f.opcode === 0xa).length >= pings.length,
          5000,
          `${pings.length} pongs`,
        );
        const pongs = reader.frames.filter((f) => f.opcode === 0xa).map((f) => f.payload);
        assert.deepEqual(pongs, pings, `seed ${seed}: one pong per ping, same payload`);
        reader.socket.destroy();
      }
    });

    test(`${scheme}: target bytes in reads of every size reach the client byte-exact`, async () => {
      sourceBytes = prng(5).bytes(3 * 1024 * 1024 + 17);
      const reader = await open(scheme, '/?token=source');
      assert.ok(await reader.data(sourceBytes.length, 20_000), 'every byte arrived');
      const frames = reader.frames.filter((f) => f.opcode !== 0x9);
      assert.ok(
        frames.every((f) => f.opcode === 0x2),
        'binary frames only',
      );
      assert.ok(Buffer.concat(frames.map((f) => f.payload)).equals(sourceBytes), 'byte-exact');
      reader.socket.destroy();
    });
  }

  test("protocol errors close with ws's code; the connection ends; other sessions keep working", async () => {
    const proxy = await startTestProxy([
      '--token-file',
      join(dir, 'tokens'),
      '--log-level',
      'warn',
      '--max-message-bytes',
      String(ERROR_CASE_MAX_MESSAGE),
    ]);
    try {
      const canary = await openClient(proxy.url('/?token=echo'));
      for (const [name, specs] of Object.entries(PROTOCOL_ERRORS)) {
        const valid = frame({ opcode: 0x2, payload: Buffer.from('valid first') });
        const bytes = Buffer.concat([valid, ...specs.map((s) => frame(s))]);
        const ref = await wsReference(bytes, ERROR_CASE_MAX_MESSAGE);
        const reader = await rawUpgrade(proxy.address.port, '/?token=echo');
        await writeInPieces(reader.socket, randomSplits(prng(name.length), bytes, 8));
        const close = await reader.close(5000);
        assert.ok(typeof close === 'object', `${name}: a close frame (${String(close)})`);
        assert.equal(close.code, ref.error, `${name}: ws's close code`);
        await until(() => reader.ended, 5000, `${name}: the proxy ends the connection`);
        const got = receive(canary, 5);
        canary.send(Buffer.from('alive'));
        assert.equal((await got).toString(), 'alive', `after ${name}: the canary still echoes`);
      }
      canary.terminate();
    } finally {
      await proxy.close();
    }
  });
});
