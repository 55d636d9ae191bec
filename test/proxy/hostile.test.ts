/**
 * Hostile input against one running proxy, while a healthy session (the canary) keeps
 * relaying: garbage on the port, dribbled headers, invalid and oversized frames, a flood
 * of failing handshakes, a seeded fuzz of handshake requests and of frames, and PROXY
 * protocol headers. Every rejection must be a specific status or close code, nothing may
 * hang (every request has a deadline), memory must come back, and the process must live.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { WebSocket } from 'ws';
import { eventually, metricValue, openClient, receive, type TestProxy } from '../helpers/proxy.js';
import { leakWatch } from '../helpers/leak-watch.js';
import {
  closePayload,
  frame,
  prng,
  proxyProtocolFront,
  proxyV1,
  proxyV2,
  rawRequest,
  rawUpgrade,
  upgradeRequest,
  WS_KEY,
  type FrameSpec,
  type Front,
  type Prng,
  type RawResponse,
} from '../helpers/raw.js';
import { startEchoServer, type TestServer } from '../helpers/servers.js';
import { tempDir } from './tokens-fixtures.js';
import { sleep } from '../helpers/wait.js';

const SEED = 0x5eed_2026;
const MAX_MESSAGE = 64 * 1024;

// A forced GC makes heap measurements comparable (node --test gives no --expose-gc).
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
function heapAfterGc(): number {
  for (let i = 0; i < 3; i++) gc();
  return process.memoryUsage().heapUsed;
}

/** Runs `fn(0..n-1)` with at most `concurrency` in flight. */
async function pool<T>(
  n: number,
  concurrency: number,
  fn: (i: number) => Promise<T>,
): Promise<T[]> {
  const out = new Array<T>(n);
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const i = next++;
      out[i] = await fn(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, worker));
  return out;
}

/** A session that must keep echoing whatever the other connections do. */
class Canary {
  private seq = 0;
  roundTrips = 0;
  slowestMs = 0;
  constructor(readonly ws: WebSocket) {}

  static async open(url: string): Promise<Canary> {
    return new Canary(await openClient(url));
  }

  /** One payload out and back, within `timeoutMs`. */
  async roundTrip(label: string, timeoutMs = 5000): Promise<void> {
    const payload = Buffer.from(`canary-${(this.seq++).toString().padStart(8, '0')}`);
    const started = performance.now();
    const got = receive(this.ws, payload.length, timeoutMs);
    this.ws.send(payload);
    let back: Buffer;
    try {
      back = await got;
    } catch (e) {
      throw new Error(`${label}: the healthy session stalled: ${(e as Error).message}`, {
        cause: e,
      });
    }
    assert.ok(back.equals(payload), `${label}: the healthy session's bytes came back intact`);
    this.roundTrips++;
    this.slowestMs = Math.max(this.slowestMs, performance.now() - started);
  }
}

/**
 * Runs `attack` while the canary round-trips continuously (at least once during the
 * attack, each within a deadline), then once more after it.
 */
async function underAttack<T>(canary: Canary, label: string, attack: () => Promise<T>): Promise<T> {
  let attacking = true;
  const done = attack().finally(() => (attacking = false));
  let during = 0;
  const probe = (async () => {
    do {
      await canary.roundTrip(`${label} (during)`);
      during++;
      await sleep(25);
    } while (attacking);
  })();
  const [result] = await Promise.all([done, probe]);
  assert.ok(during >= 1);
  await canary.roundTrip(`${label} (after)`);
  return result;
}

const connectionsTotal = (proxy: TestProxy, result: string) =>
  metricValue(proxy.metricsUrl('/metrics'), 'wsgate_connections_total', `result="${result}"`);

/** Statuses that a hostile request may get; 5xx only where a cause exists (none here). */
function assertAnswered(r: RawResponse, allowed: readonly number[], what: string): void {
  assert.ok(!r.timedOut, `${what}: no answer before the deadline`);
  if (r.status === undefined) {
    assert.ok(
      allowed.includes(0),
      `${what}: connection closed without a status: ${r.raw.toString('latin1').slice(0, 80)}`,
    );
    return;
  }
  assert.ok(
    allowed.includes(r.status),
    `${what}: status ${r.status} not in [${allowed.join(', ')}]: ${r.raw.toString('latin1').slice(0, 120)}`,
  );
}

let echo: TestServer;
let tokens: string;
/**
 * Every line both proxies log (scanned as written: the suites empty `proxy.logs`), checked
 * at the end for the valid token and an unknown one, in any form, whatever the input.
 */
const leaks = leakWatch(['echo', 'nope']);

before(async () => {
  echo = await startEchoServer();
  tokens = join(tempDir('wsgate-hostile-'), 'tokens.txt');
  writeFileSync(tokens, `echo: 127.0.0.1:${echo.port}\n`);
});
after(() => echo.close());

describe('hostile clients', () => {
  let proxy: TestProxy;
  let canary: Canary;
  let port: number;
  let heapBefore: number;
  const suiteStart = performance.now();

  before(async () => {
    proxy = await leaks.start([
      '--token-file',
      tokens,
      '--handshake-timeout',
      '1s',
      '--max-message-bytes',
      String(MAX_MESSAGE),
    ]);
    port = proxy.address.port;
    canary = await Canary.open(proxy.url('/?token=echo'));
    // Warm up the paths measured later, so lazily built state is not counted as growth.
    await pool(200, 20, (i) => rawRequest(port, upgradeRequest(`/?token=warm-${i}`)));
    await canary.roundTrip('warm-up');
    // The harness keeps every log line; they are the test's memory, not the proxy's.
    proxy.logs.splice(0);
    heapBefore = heapAfterGc();
  });

  after(async () => {
    canary.ws.terminate();
    await proxy.close();
  });

  test('random bytes on the port: 400 or closed, never a hang', async () => {
    const rnd = prng(SEED);
    const before = (await connectionsTotal(proxy, 'bad_request'))!;
    const results = await underAttack(canary, 'random bytes', () =>
      pool(60, 20, () => rawRequest(port, rnd.bytes(1 + rnd.int(4096)), 4000)),
    );
    results.forEach((r, i) => assertAnswered(r, [400, 0], `random payload #${i}`));
    assert.equal((await connectionsTotal(proxy, 'bad_request'))! - before, 60, 'each counted once');
  });

  test('garbage HTTP: 400 (or 426/405 where the request parses)', async () => {
    const cases: [string, string | Buffer, number[]][] = [
      ['not HTTP', 'HELLO WORLD\r\n\r\n', [400]],
      ['binary', Buffer.from([0, 1, 2, 3, 0xff, 0xfe, 13, 10, 13, 10]), [400]],
      ['HTTP/0.9 style', 'GET /\r\n\r\n', [400, 426]],
      ['unknown version', 'GET / HTTP/9.9\r\nHost: x\r\n\r\n', [400]],
      ['header without colon', 'GET / HTTP/1.1\r\nHost x\r\n\r\n', [400]],
      [
        'control character in the target',
        'GET /?token=echo\x01 HTTP/1.1\r\nHost: x\r\n\r\n',
        [400],
      ],
      ['bare LF line ends', upgradeRequest('/?token=echo').replace(/\r\n/g, '\n'), [400]],
      ['obsolete line folding', upgradeRequest('/?token=echo', { 'X-A': 'a\r\n b' }), [400]],
      ['space in a header name', upgradeRequest('/?token=echo', { 'X Bad': 'v' }), [400]],
      ['NUL in a header', upgradeRequest('/?token=echo', { 'X-A': 'a\0b' }), [400]],
      [
        'Content-Length and Transfer-Encoding',
        upgradeRequest('/?token=echo', { 'Transfer-Encoding': 'chunked', 'Content-Length': '3' }),
        [400],
      ],
      ['plain GET', 'GET / HTTP/1.1\r\nHost: x\r\n\r\n', [426]],
      ['POST without upgrade', 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n', [426]],
    ];
    const before = (await connectionsTotal(proxy, 'bad_request'))!;
    const results = await underAttack(canary, 'garbage HTTP', () =>
      pool(cases.length, 5, (i) => rawRequest(port, cases[i]![1], 4000)),
    );
    results.forEach((r, i) => {
      assertAnswered(r, cases[i]![2], cases[i]![0]);
      assert.ok(r.closed, `${cases[i]![0]}: the connection is closed after the answer`);
    });
    assert.equal(
      (await connectionsTotal(proxy, 'bad_request'))! - before,
      cases.length,
      'each counted once as bad_request',
    );
  });

  test('headers dribbled a byte a second are cut off by the handshake timeout', async () => {
    const before = (await connectionsTotal(proxy, 'bad_request'))!;
    const timeouts = proxy.logs.filter((l) => l.msg === 'handshake timeout').length;
    const request = upgradeRequest('/?token=echo');
    const N = 8;
    const results = await underAttack(canary, 'dribble', () =>
      pool(N, N, async () => {
        const started = performance.now();
        const chunks = [...request].slice(0, 10);
        const r = await rawRequest(port, chunks, 5000, 1000);
        return { r, ms: performance.now() - started };
      }),
    );
    for (const { r, ms } of results) {
      assert.ok(r.closed && !r.timedOut, 'the proxy closed the connection');
      assert.equal(r.status, undefined, 'no answer to an incomplete request');
      assert.ok(ms >= 900 && ms < 4000, `cut off after ${Math.round(ms)} ms (timeout 1 s)`);
    }
    assert.equal((await connectionsTotal(proxy, 'bad_request'))! - before, N);
    // Nor can a second request be dribbled on a connection kept alive after a refusal.
    const kept = await rawRequest(
      port,
      ['GET / HTTP/1.1\r\nHost: x\r\n\r\n', ...[...request].slice(0, 5)],
      5000,
      1000,
    );
    assert.equal(kept.status, 426);
    assert.ok(kept.closed && !kept.timedOut, 'closed after the refusal');
    assert.equal(kept.raw.toString('latin1').match(/HTTP\/1\.1 /g)?.length, 1);
    await eventually(
      () => proxy.logs.filter((l) => l.msg === 'handshake timeout').length === timeouts + N,
      2000,
      'one log line per timeout',
    );
  });

  /** Sends frames on a fresh upgraded connection; returns the close code the proxy sent. */
  async function closeCodeFor(frames: Buffer[], deadlineMs = 4000): Promise<number | string> {
    const reader = await rawUpgrade(port, '/?token=echo');
    try {
      for (const f of frames) reader.socket.write(f);
      const c = await reader.close(deadlineMs);
      return typeof c === 'string' ? c : c.code;
    } finally {
      reader.socket.destroy();
    }
  }

  const closeLines = () => proxy.logs.filter((l) => l.msg === 'connection closed');

  test('invalid frames get close 1002, each logged with its code', async () => {
    const data = Buffer.from('hello');
    const cases: [string, Buffer[]][] = [
      ['unmasked client frame', [frame({ opcode: 2, masked: false, payload: data })]],
      ['RSV1 without an extension', [frame({ opcode: 2, rsv: 4, payload: data })]],
      ['RSV2', [frame({ opcode: 2, rsv: 2, payload: data })]],
      ['RSV3', [frame({ opcode: 1, rsv: 1, payload: data })]],
      ['reserved data opcode 3', [frame({ opcode: 3, payload: data })]],
      ['reserved control opcode 0xB', [frame({ opcode: 0xb })]],
      ['continuation without a start', [frame({ opcode: 0, payload: data })]],
      [
        'new message inside a fragmented one',
        [frame({ opcode: 2, fin: false, payload: data }), frame({ opcode: 2, payload: data })],
      ],
      ['close code 999', [frame({ opcode: 8, payload: closePayload(999) })]],
      ['close code 1005 on the wire', [frame({ opcode: 8, payload: closePayload(1005) })]],
      ['close code 1006 on the wire', [frame({ opcode: 8, payload: closePayload(1006) })]],
      ['close code 5000', [frame({ opcode: 8, payload: closePayload(5000) })]],
      ['close frame of one byte', [frame({ opcode: 8, payload: Buffer.from([3]) })]],
      ['ping of 126 bytes', [frame({ opcode: 9, payload: Buffer.alloc(126) })]],
      ['close of 126 bytes', [frame({ opcode: 8, payload: closePayload(1000, 'x'.repeat(124)) })]],
      ['fragmented ping', [frame({ opcode: 9, fin: false, payload: data })]],
      ['fragmented close', [frame({ opcode: 8, fin: false, payload: closePayload(1000) })]],
    ];
    await underAttack(canary, 'invalid frames', async () => {
      for (const [what, frames] of cases) {
        const ended = closeLines().length;
        assert.equal(await closeCodeFor(frames), 1002, what);
        const line = await eventually(
          () => closeLines()[ended],
          3000,
          `the log line for "${what}"`,
        );
        assert.equal(line.closeCode, 1002, `${what}: logged close code`);
        assert.equal(line.closedBy, 'client');
      }
    });
  });

  test('oversized frames get close 1009 before any payload is read', async () => {
    const cases: [string, Buffer[]][] = [
      ['length 2^62, no payload', [frame({ opcode: 2, length: 2n ** 62n })]],
      ['length 2^63 + 1 (top bit set)', [frame({ opcode: 2, length: 2n ** 63n + 1n })]],
      ['length 2^53, no payload', [frame({ opcode: 2, length: 2n ** 53n })]],
      ['one byte over the limit, no payload', [frame({ opcode: 2, length: MAX_MESSAGE + 1 })]],
      [
        'fragments adding up past the limit',
        [
          frame({ opcode: 2, fin: false, payload: Buffer.alloc(MAX_MESSAGE / 2) }),
          frame({ opcode: 0, fin: false, payload: Buffer.alloc(MAX_MESSAGE / 2) }),
          frame({ opcode: 0, length: 1 }),
        ],
      ],
    ];
    const heap = process.memoryUsage().heapUsed;
    await underAttack(canary, 'oversized frames', async () => {
      for (const [what, frames] of cases) {
        const ended = closeLines().length;
        assert.equal(await closeCodeFor(frames), 1009, what);
        const line = await eventually(() => closeLines()[ended], 3000, `log for "${what}"`);
        assert.equal(line.closeCode, 1009, `${what}: logged close code`);
      }
    });
    // Nothing the size of the announced lengths was allocated.
    assert.ok(process.memoryUsage().heapUsed - heap < 64 * 1024 * 1024);
    // A message exactly at the limit still goes through.
    const ws = await openClient(proxy.url('/?token=echo'));
    const got = receive(ws, MAX_MESSAGE);
    ws.send(Buffer.alloc(MAX_MESSAGE, 7));
    assert.equal((await got).length, MAX_MESSAGE);
    ws.close();
  });

  test('10,000 failing handshakes in a row: all 401, counted exactly, proxy keeps serving', async (t) => {
    const N = 10_000;
    const before = (await connectionsTotal(proxy, 'unauthorized'))!;
    const started = performance.now();
    // Two back-to-back halves with the heap measured after each: a leak per handshake
    // grows the second half as much as the first, warm-up (JIT, pools) does not.
    const heaps: number[] = [];
    const measure = () => {
      proxy.logs.splice(0); // the harness's copy of the log lines, not the proxy's memory
      heaps.push(heapAfterGc());
    };
    const half = (offset: number) =>
      pool(N / 2, 50, async (i) => {
        const r = await rawRequest(
          port,
          upgradeRequest(`/?token=not-a-token-${offset + i}`),
          10_000,
        );
        return r.status ?? (r.timedOut ? 'timeout' : 'closed');
      });
    const statuses = await underAttack(canary, 'handshake flood', async () => {
      measure();
      const first = await half(0);
      measure();
      const second = await half(N / 2);
      measure();
      return [...first, ...second];
    });
    const ms = performance.now() - started;
    const mib = (b: number) => (b / 2 ** 20).toFixed(1);
    t.diagnostic(
      `${N} refused handshakes in ${Math.round(ms)} ms; heap ${heaps.map(mib).join(' -> ')} MiB`,
    );
    assert.ok(
      heaps[2]! - heaps[1]! < 2 * 2 ** 20,
      `the second 5,000 refusals grew the heap by ${mib(heaps[2]! - heaps[1]!)} MiB`,
    );
    const tally = new Map<string | number, number>();
    for (const s of statuses) tally.set(s, (tally.get(s) ?? 0) + 1);
    assert.deepEqual([...tally], [[401, N]]);
    assert.equal((await connectionsTotal(proxy, 'unauthorized'))! - before, N);
    // New sessions still open and relay.
    const ws = await openClient(proxy.url('/?token=echo'));
    const got = receive(ws, 3);
    ws.send(Buffer.from('new'));
    assert.equal((await got).toString(), 'new');
    ws.close();
  });

  test('fuzzed handshake requests: each class gets its own status, nothing hangs', async (t) => {
    const rnd = prng(SEED + 1);
    const ITERATIONS = 400;
    const classes = handshakeMutations(rnd);
    const names = Object.keys(classes);
    const seen = new Map<string, Set<number>>();
    const plan = Array.from({ length: ITERATIONS }, () => {
      const name = rnd.pick(names);
      return { name, request: classes[name]!.make() };
    });
    const results = await underAttack(canary, 'handshake fuzz', () =>
      pool(plan.length, 10, async (i) => {
        const r = await rawRequest(port, plan[i]!.request, 4000);
        r.socket?.destroy();
        return r;
      }),
    );
    results.forEach((r, i) => {
      const { name, request } = plan[i]!;
      assertAnswered(
        r,
        classes[name]!.expect,
        `${name} #${i}: ${request.slice(0, 100).toString()}`,
      );
      if (r.status !== undefined) {
        assert.ok(r.status < 500, `${name}: no 5xx without a failing target`);
        let s = seen.get(name);
        if (!s) seen.set(name, (s = new Set()));
        s.add(r.status);
        if (r.status !== 101) {
          // Our own refusals carry a code; the HTTP parser's 400s are plain.
          if (r.headers['x-wsgate-error'] === undefined)
            assert.equal(r.status, 400, `${name}: refusal without a code`);
        }
      }
    });
    t.diagnostic([...seen].map(([n, s]) => `${n}: ${[...s].sort().join('/')}`).join('; '));
    assert.equal(seen.size, names.length, 'every mutation class was exercised');
  });

  test('fuzzed frames after a good upgrade: the close code is the one RFC 6455 demands', async (t) => {
    const rnd = prng(SEED + 2);
    const SESSIONS = 150;
    const outcomes = new Map<string, number>();
    await underAttack(canary, 'frame fuzz', async () => {
      await pool(SESSIONS, 5, async (i) => {
        const specs = randomSession(rnd);
        const expected = predictClose(specs, MAX_MESSAGE);
        const frames = specs.map((s) => frame(s));
        frames.push(frame({ opcode: 8, payload: closePayload(1000) }));
        const got = await closeCodeFor(frames);
        const describe = specs
          .map(
            (s) =>
              `op=${s.opcode} fin=${s.fin} rsv=${s.rsv} mask=${s.masked} len=${s.length ?? s.payload?.length}`,
          )
          .join(' | ');
        assert.equal(got, expected, `session ${i}: ${describe}`);
        outcomes.set(String(got), (outcomes.get(String(got)) ?? 0) + 1);
      });
    });
    t.diagnostic([...outcomes].map(([c, n]) => `${c}: ${n}`).join(', '));
    for (const code of ['1000', '1002', '1009'])
      assert.ok(outcomes.has(code), `the fuzz produced close ${code} at least once`);
  });

  test('memory comes back and nothing is left behind', async (t) => {
    // Let sockets from the attacks finish closing.
    await eventually(() => proxy.server.sessions.size === 1, 10_000, 'only the canary left');
    const { connections } = (
      proxy.server as unknown as { listener: { connections: Map<string, unknown> } }
    ).listener;
    await eventually(() => connections.size <= 1, 10_000, 'connection table back to the canary');
    assert.equal(await metricValue(proxy.metricsUrl('/metrics'), 'wsgate_connections_active'), 1);
    proxy.logs.splice(0);
    const heapAfter = heapAfterGc();
    const grown = heapAfter - heapBefore;
    t.diagnostic(
      `heap ${(heapBefore / 2 ** 20).toFixed(1)} -> ${(heapAfter / 2 ** 20).toFixed(1)} MiB; ` +
        `canary: ${canary.roundTrips} round trips, slowest ${Math.round(canary.slowestMs)} ms; ` +
        `suite ${Math.round((performance.now() - suiteStart) / 1000)} s`,
    );
    assert.ok(grown < 16 * 2 ** 20, `heap grew by ${(grown / 2 ** 20).toFixed(1)} MiB`);
    await canary.roundTrip('final');
  });
});

interface Mutation {
  make(): Buffer;
  /** Acceptable statuses; 0 means "closed without a status". */
  expect: number[];
}

/** Handshake mutation classes, each with the statuses it may get. */
function handshakeMutations(rnd: Prng): Record<string, Mutation> {
  const req = (path: string, headers: Record<string, string | null> = {}, method = 'GET') =>
    Buffer.from(upgradeRequest(path, headers, method), 'latin1');
  const good = '/?token=echo';
  const duplicate = (name: string, value: string) => {
    const text = upgradeRequest(good);
    return Buffer.from(text.replace('\r\n\r\n', `\r\n${name}: ${value}\r\n\r\n`), 'latin1');
  };
  const badPercent = ['%', '%z', '%zz', '%E0%A4%A', '%C0%AF', '%ED%A0%80', '%%', '%0', '%ff%fe'];
  return {
    'duplicated headers': {
      make: () =>
        rnd.pick([
          () => duplicate('Sec-WebSocket-Key', WS_KEY),
          () => duplicate('Sec-WebSocket-Version', '13'),
          () => duplicate('Upgrade', 'websocket'),
          () => duplicate('Host', 'elsewhere.example'),
          () => duplicate('Sec-WebSocket-Protocol', 'binary'),
          () => duplicate('Cookie', 'token=echo'),
          () => duplicate('Content-Length', '0'),
          () => duplicate('Connection', 'Upgrade'),
        ])(),
      expect: [101, 400, 401, 426],
    },
    'huge headers': {
      make: () =>
        rnd.pick([
          () => req(good, { 'X-Big': 'a'.repeat(16 * 1024 + rnd.int(32 * 1024)) }),
          () => req(`/?token=${'t'.repeat(16 * 1024 + rnd.int(16 * 1024))}`),
          () => req(good, { Cookie: `token=${'c'.repeat(17 * 1024)}` }),
          () =>
            req(
              good,
              Object.fromEntries(
                Array.from({ length: 1500 + rnd.int(1500) }, (_, i) => [`X-H${i}`, 'v'.repeat(10)]),
              ),
            ),
        ])(),
      expect: [400, 431],
    },
    'bad Sec-WebSocket-Key': {
      make: () =>
        req(good, {
          'Sec-WebSocket-Key': rnd.pick([
            null,
            '',
            'short',
            'dGhlIHNhbXBsZSBub25jZQ=',
            'dGhlIHNhbXBsZSBub25jZQ===',
            '!!!!!!!!!!!!!!!!!!!!!!==',
            'dGhlIHNhbXBsZSBub25jZQ==dGhl',
            rnd.bytes(24).toString('base64'),
          ]),
        }),
      expect: [400],
    },
    'bad versions': {
      make: () =>
        req(good, {
          'Sec-WebSocket-Version': rnd.pick([
            null,
            '',
            '12',
            '14',
            '0',
            '13.0',
            'abc',
            '-13',
            '1300',
          ]),
        }),
      expect: [400],
    },
    'bad subprotocol lists': {
      make: () =>
        req(good, {
          'Sec-WebSocket-Protocol': rnd.pick([
            '',
            ',',
            'binary,,base64',
            'binary, binary',
            'bin ary',
            'binary;q=1',
            '"binary"',
            'token.{x}',
            'b\u00e9',
          ]),
        }),
      expect: [400],
    },
    'non-GET methods': {
      make: () =>
        req(
          good,
          {},
          rnd.pick([
            'POST',
            'PUT',
            'DELETE',
            'HEAD',
            'OPTIONS',
            'PATCH',
            'TRACE',
            'CONNECT',
            'BREW',
            'get',
          ]),
        ),
      // 405 from the proxy; 400 for methods the HTTP parser does not know.
      expect: [400, 405],
    },
    'absolute-form URIs': {
      make: () =>
        req(
          rnd.pick([
            'http://127.0.0.1/?token=echo',
            'http://evil.example:99/console/echo',
            'https://[::1]:443/?token=nope',
            'ws://127.0.0.1/?token=echo',
            'http://user:pass@127.0.0.1/?token=echo',
            '*',
          ]),
        ),
      expect: [101, 400, 401],
    },
    'invalid percent-encodings': {
      make: () => {
        const bad = rnd.pick(badPercent);
        return rnd.pick([
          () => req(`/${bad}`),
          () => req(`/?token=${bad}`),
          () => req(`/?token=${bad}&token=echo`),
          () => req('/', { Cookie: `token=${bad}` }),
          () => req(`/console/ec${bad}ho?x=${bad}`),
        ])();
      },
      expect: [401],
    },
  };
}

/**
 * A random frame: any opcode, RSV bits, mask bit and length. Mostly plausible for the
 * state so far (`fragmented`), so sessions get past their first frame; each kind of
 * mistake still turns up often in a run. The expected outcome comes from
 * `predictClose`, not from how the frame was chosen.
 */
function randomFrame(rnd: Prng, fragmented: boolean): FrameSpec {
  const r = rnd.next();
  const opcode =
    r < 0.6
      ? fragmented
        ? rnd.pick([0, 0, 0, 2])
        : rnd.pick([1, 2, 2, 0])
      : r < 0.93
        ? rnd.pick([8, 9, 9, 10, 10])
        : rnd.int(16);
  const fin = rnd.next() < (opcode >= 8 ? 0.96 : 0.75);
  const rsv = rnd.next() < 0.96 ? 0 : 1 + rnd.int(7);
  const masked = rnd.next() < 0.97;
  if (rnd.next() < 0.04) {
    // A lying length beyond the limit: the payload never comes.
    return { opcode, fin, rsv, masked, length: BigInt(MAX_MESSAGE + 1 + rnd.int(1 << 30)) };
  }
  let payload: Buffer;
  if (opcode === 8 && rnd.next() < 0.8) {
    const code = rnd.pick([
      1000, 1001, 1003, 1004, 1005, 1006, 1011, 1014, 1015, 999, 2999, 3000, 4999, 5000,
    ]);
    payload = closePayload(code, rnd.next() < 0.5 ? '' : 'bye');
  } else {
    const len = rnd.next() < 0.1 ? 126 + rnd.int(400) : rnd.int(126);
    payload = rnd.bytes(len);
  }
  return { opcode, fin, rsv, masked, payload };
}

/** One to six random frames, each chosen with the fragmentation state so far in mind. */
function randomSession(rnd: Prng): FrameSpec[] {
  const frames: FrameSpec[] = [];
  let fragmented = false;
  for (let n = 1 + rnd.int(6); n > 0; n--) {
    const f = randomFrame(rnd, fragmented);
    frames.push(f);
    if (f.opcode <= 2) fragmented = !(f.fin ?? true);
  }
  return frames;
}

/**
 * What a conforming server answers to these frames followed by a close(1000), as `ws`
 * implements RFC 6455: the first protocol error decides (1002), a message past the size
 * limit is 1009, and a close frame is echoed with its code (none: 1005).
 */
function predictClose(specs: FrameSpec[], maxPayload: number): number {
  let fragmented = false;
  let total = 0;
  for (const s of specs) {
    const fin = s.fin ?? true;
    const rsv = s.rsv ?? 0;
    const len = Number(s.length ?? s.payload?.length ?? 0);
    if (rsv !== 0) return 1002;
    const op = s.opcode;
    if (op === 0) {
      if (!fragmented) return 1002;
    } else if (op === 1 || op === 2) {
      if (fragmented) return 1002;
    } else if (op >= 8 && op <= 10) {
      if (!fin) return 1002;
      if (len > 125 || (op === 8 && len === 1)) return 1002;
    } else {
      return 1002;
    }
    if (!(s.masked ?? true)) return 1002;
    if (op < 8) {
      total += len;
      if (len > 0 && total > maxPayload) return 1009;
      if (fin) {
        fragmented = false;
        total = 0;
      } else {
        fragmented = true;
      }
      continue;
    }
    if (op === 8) {
      if (len === 0) return 1005;
      const code = s.payload!.readUInt16BE(0);
      const valid =
        (code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) ||
        (code >= 3000 && code <= 4999);
      return valid ? code : 1002;
    }
  }
  return 1000;
}

describe('PROXY protocol', () => {
  let proxy: TestProxy;
  let front: Front;
  let canary: Canary;
  let port: number;

  before(async () => {
    proxy = await leaks.start([
      '--token-file',
      tokens,
      '--proxy-protocol',
      '--handshake-timeout',
      '1s',
    ]);
    port = proxy.address.port;
    // The canary comes through a load balancer that sends a v1 header.
    front = await proxyProtocolFront(port, (c) => proxyV1('192.0.2.1', c.remotePort!, port));
    canary = await Canary.open(`ws://127.0.0.1:${front.port}/?token=echo`);
  });
  after(async () => {
    canary.ws.terminate();
    await front.close();
    await proxy.close();
  });

  const v2v4 = (a: number[]) => proxyV2(Buffer.from(a), 40001, port);
  const opened = () => proxy.logs.filter((l) => l.msg === 'connection opened');
  const request = upgradeRequest('/?token=echo');

  /** Upgrades through a raw socket after a header; returns the client IP the proxy logged. */
  async function clientSeen(chunks: (string | Buffer)[], gapMs = 0): Promise<unknown> {
    const n = opened().length;
    const r = await rawRequest(port, chunks, 5000, gapMs);
    try {
      assert.equal(r.status, 101, r.raw.toString('latin1').slice(0, 200));
      const line = await eventually(() => opened()[n], 3000, 'connection opened');
      return line.client;
    } finally {
      r.socket?.destroy();
    }
  }

  test('a valid v1 or v2 header names the client in the log, split or coalesced', async () => {
    assert.equal(opened()[0]?.client, '192.0.2.1', 'the canary, through the balancer');
    const v1 = proxyV1('198.51.100.10', 6000, port);
    const v2 = v2v4([203, 0, 113, 11]);
    const v6 = Buffer.from('20010db8000000000000000000000042', 'hex');
    const cases: [string, (string | Buffer)[], number, string][] = [
      [
        'v1 and request in one write',
        [Buffer.concat([v1, Buffer.from(request)])],
        0,
        '198.51.100.10',
      ],
      ['v1 TCP6', [proxyV1('2001:db8::7', 5555, port), request], 0, '2001:db8::7'],
      ['v2 TCP4', [v2, request], 0, '203.0.113.11'],
      ['v2 TCP6', [proxyV2(v6, 443, port), request], 0, '2001:db8::42'],
      [
        'v2 with TLVs after the addresses',
        [
          proxyV2(Buffer.from([203, 0, 113, 6]), 1, port, Buffer.from([4, 0, 3, 97, 98, 99])),
          request,
        ],
        0,
        '203.0.113.6',
      ],
      [
        'v1 split across packets',
        [v1.subarray(0, 3), v1.subarray(3, 20), v1.subarray(20), request],
        30,
        '198.51.100.10',
      ],
      [
        'v2 split across packets',
        [v2.subarray(0, 5), v2.subarray(5, 14), v2.subarray(14), request],
        30,
        '203.0.113.11',
      ],
      [
        'v2 with the start of the request, then the rest',
        [Buffer.concat([v2, Buffer.from(request.slice(0, 10))]), request.slice(10)],
        30,
        '203.0.113.11',
      ],
      // LOCAL (a balancer's health check) and UNKNOWN keep the TCP peer.
      [
        'v2 LOCAL',
        [Buffer.concat([v2.subarray(0, 12), Buffer.from([0x20, 0, 0, 0])]), request],
        0,
        '127.0.0.1',
      ],
      ['v1 UNKNOWN', ['PROXY UNKNOWN\r\n', request], 0, '127.0.0.1'],
    ];
    await underAttack(canary, 'PROXY headers', async () => {
      for (const [what, chunks, gap, client] of cases)
        assert.equal(await clientSeen(chunks, gap), client, what);
    });
  });

  test('garbage or a malformed header closes the connection unanswered, and is logged', async () => {
    const rnd = prng(SEED + 3);
    const v2head = (b12: number, b13: number, len: number, body: Buffer) => {
      const h = Buffer.alloc(4);
      h[0] = b12;
      h[1] = b13;
      h.writeUInt16BE(len, 2);
      return Buffer.concat([v2v4([1, 2, 3, 4]).subarray(0, 12), h, body]);
    };
    // Each is followed by a valid upgrade request, which must not be served.
    const garbage: [string, Buffer | string][] = [
      ['an HTTP request without a header', ''],
      ['random bytes', rnd.bytes(300)],
      ['a v1 line that never ends', 'PROXY TCP4 ' + '1'.repeat(200)],
      ['v1 with a bad port', 'PROXY TCP4 192.0.2.1 127.0.0.1 99999 80\r\n'],
      ['v1 with too few fields', 'PROXY TCP4 192.0.2.1\r\n'],
      ['v1 with a name for an address', 'PROXY TCP4 example.com 127.0.0.1 1000 80\r\n'],
      ['v1 with markup for an address', 'PROXY TCP4 <script> 127.0.0.1 1000 80\r\n'],
      ['v1 TCP4 with an IPv6 address', 'PROXY TCP4 2001:db8::1 127.0.0.1 1000 80\r\n'],
      ['v1 TCP6 with an IPv4 address', 'PROXY TCP6 192.0.2.1 ::1 1000 80\r\n'],
      ['lower-case v1', 'proxy TCP4 192.0.2.1 127.0.0.1 1000 80\r\n'],
      ['v2 signature broken', Buffer.from('0d0a0d0a000d0a5155495400', 'hex')],
      ['v2 version 3', v2head(0x31, 0x11, 12, Buffer.alloc(12))],
      ['v2 command 0xF', v2head(0x2f, 0x11, 12, Buffer.alloc(12))],
      ['v2 length 65535', v2head(0x21, 0x11, 0xffff, Buffer.alloc(0))],
      ['v2 TCP4 with a 4-byte address block', v2head(0x21, 0x11, 4, Buffer.alloc(4))],
      ['v2 TCP6 with a 12-byte address block', v2head(0x21, 0x21, 12, Buffer.alloc(12))],
    ];
    const logged = () => proxy.logs.filter((l) => l.msg === 'bad PROXY protocol header').length;
    const before = logged();
    const sessions = opened().length;
    const results = await underAttack(canary, 'bad PROXY headers', () =>
      pool(garbage.length, 4, (i) => rawRequest(port, [garbage[i]![1], request], 4000)),
    );
    results.forEach((r, i) => {
      const what = garbage[i]![0];
      assert.ok(r.closed && !r.timedOut, `${what}: closed`);
      assert.equal(r.raw.toString('latin1'), '', `${what}: nothing answered`);
    });
    assert.equal(opened().length, sessions, 'no session was opened');
    await eventually(() => logged() - before === garbage.length, 3000, 'each bad header logged');
    // A client that sends nothing at all is cut off by the handshake timeout.
    const silent = await rawRequest(port, [], 4000);
    assert.ok(silent.closed && !silent.timedOut && silent.raw.length === 0);
  });
});

test('no line either proxy logged holds a token in any form, whatever the input (leak-scan)', () => {
  assert.ok(leaks.scanned > 1000, `only ${leaks.scanned} lines were scanned`);
  leaks.assertClean();
});
