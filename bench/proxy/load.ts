/**
 * The load generator, run in the bench process: one connection interface over a plain
 * `net` socket (raw TCP, straight to the echo target) and a `ws` client (through
 * wsgate or websockify), and the measurements built on it. Every loop is bounded by a
 * deadline and a count.
 */
import { connect as tcpConnect, type Socket } from 'node:net';
import { WebSocket } from 'ws';

export interface Conn {
  /** Called with the byte count of every chunk or message received. */
  onData: (bytes: number) => void;
  send(data: Buffer): void;
  /** Graceful close (FIN, or the WebSocket close handshake); resolves when closed. */
  close(timeoutMs: number): Promise<void>;
  destroy(): void;
}

export interface Transport {
  name: string;
  connect(timeoutMs: number): Promise<Conn>;
}

const noop = () => {};

class TcpConn implements Conn {
  onData: (bytes: number) => void = noop;
  private closed: Promise<void>;
  constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk.length));
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
  }
  send(data: Buffer): void {
    this.socket.write(data);
  }
  close(timeoutMs: number): Promise<void> {
    this.socket.end();
    return withTimeout(this.closed, timeoutMs, () => this.socket.destroy());
  }
  destroy(): void {
    this.socket.destroy();
  }
}

export function tcpTransport(port: number): Transport {
  return {
    name: 'raw TCP',
    connect: (timeoutMs) =>
      new Promise((resolve, reject) => {
        const socket = tcpConnect({ host: '127.0.0.1', port, noDelay: true });
        const timer = setTimeout(() => {
          socket.destroy();
          reject(new Error('connect timeout'));
        }, timeoutMs);
        socket.once('error', (err) => {
          clearTimeout(timer);
          reject(err);
        });
        socket.once('connect', () => {
          clearTimeout(timer);
          socket.removeAllListeners('error');
          socket.on('error', noop);
          resolve(new TcpConn(socket));
        });
      }),
  };
}

class WsConn implements Conn {
  onData: (bytes: number) => void = noop;
  private closed: Promise<void>;
  constructor(private readonly ws: WebSocket) {
    ws.on('message', (data: Buffer) => this.onData(data.length));
    this.closed = new Promise((resolve) => ws.once('close', () => resolve()));
  }
  send(data: Buffer): void {
    this.ws.send(data, WS_SEND);
  }
  close(timeoutMs: number): Promise<void> {
    this.ws.close(1000);
    return withTimeout(this.closed, timeoutMs, () => this.ws.terminate());
  }
  destroy(): void {
    this.ws.terminate();
  }
}

const WS_SEND = { binary: true } as const;

/**
 * A `ws` client as noVNC served by the same host would connect: `binary` subprotocol,
 * token in the query, and a same-origin `Origin` header.
 */
export function wsTransport(name: string, url: string): Transport {
  const origin = new URL(url.replace(/^ws/, 'http')).origin;
  return {
    name,
    connect: (timeoutMs) =>
      new Promise((resolve, reject) => {
        const ws = new WebSocket(url, ['binary'], {
          origin,
          perMessageDeflate: false,
          handshakeTimeout: timeoutMs,
        });
        const onError = (err: Error) => {
          ws.terminate();
          reject(err);
        };
        ws.once('error', onError);
        ws.once('open', () => {
          ws.off('error', onError);
          ws.on('error', noop);
          resolve(new WsConn(ws));
        });
      }),
  };
}

function withTimeout(p: Promise<void>, ms: number, onTimeout: () => void): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        onTimeout();
        resolve();
      }, ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** Sends `bytes` and resolves once as many have come back. */
export function echoOnce(conn: Conn, payload: Buffer, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let got = 0;
    const timer = setTimeout(() => {
      conn.onData = noop;
      reject(new Error('echo timeout'));
    }, timeoutMs);
    conn.onData = (n) => {
      got += n;
      if (got >= payload.length) {
        clearTimeout(timer);
        conn.onData = noop;
        resolve();
      }
    };
    conn.send(payload);
  });
}

export interface Timing {
  warmupMs: number;
  durationMs: number;
  /** Called when the measured window opens and closes (CPU accounting, profile window). */
  mark?: (edge: 'start' | 'end') => void;
}

export interface BulkResult {
  connections: number;
  /** Echoed bytes received per second during the measured window, MiB/s. */
  mibPerSec: number;
  bytes: number;
  seconds: number;
}

const CHUNK = 64 * 1024;
/** Default bytes each connection keeps in flight (sent, not yet echoed back). */
export const BULK_WINDOW = 1024 * 1024;

/** A measurement that can be taken in blocks, other systems taking turns in between. */
export interface Meter<R> {
  /** Seconds measured so far (inside `run`). */
  readonly seconds: number;
  /** Gave up (too many errors): `result` throws; no more blocks. */
  readonly failed: boolean;
  /** Unmeasured load: lazily loaded code, the JIT's warm-up. */
  warm(ms: number): Promise<void>;
  /** One measured block; `mark` brackets exactly the measured time (CPU accounting). */
  run(ms: number, mark?: (edge: 'start' | 'end') => void): Promise<void>;
  result(): R;
  close(): Promise<void>;
}

/** Time a bulk block lets the flow reach its pace before bytes are counted. */
const SETTLE_MS = 20;

/**
 * Bulk echo: each of `n` connections keeps `window` bytes in flight in CHUNK writes; the
 * figure is bytes echoed back per second (one direction) over the measured time. Between
 * blocks the flow stops and what is in flight comes back, so a block measures only this
 * system; each block counts from SETTLE_MS after the flow restarted.
 */
export class BulkFlow implements Meter<BulkResult> {
  bytes = 0;
  seconds = 0;
  readonly failed = false;
  private running = false;
  private counted = 0;
  private readonly state: { sent: number; recv: number; pump: () => void }[];

  private constructor(
    private readonly conns: Conn[],
    window: number,
  ) {
    const chunk = Buffer.alloc(CHUNK, 0x5a);
    this.state = conns.map((conn) => {
      const s = {
        sent: 0,
        recv: 0,
        pump: () => {
          while (this.running && s.sent - s.recv < window) {
            conn.send(chunk);
            s.sent += CHUNK;
          }
        },
      };
      conn.onData = (bytes) => {
        s.recv += bytes;
        this.counted += bytes;
        s.pump();
      };
      return s;
    });
  }

  static async open(t: Transport, n: number, window = BULK_WINDOW): Promise<BulkFlow> {
    return new BulkFlow(
      await Promise.all(Array.from({ length: n }, () => t.connect(10_000))),
      window,
    );
  }

  async warm(ms: number): Promise<void> {
    this.start();
    await sleepMs(ms);
    await this.stop();
  }

  async run(ms: number, mark?: (edge: 'start' | 'end') => void): Promise<void> {
    this.start();
    await sleepMs(SETTLE_MS);
    this.counted = 0;
    mark?.('start');
    const t0 = performance.now();
    await sleepMs(ms);
    this.bytes += this.counted;
    this.seconds += (performance.now() - t0) / 1000;
    mark?.('end');
    await this.stop();
  }

  result(): BulkResult {
    const { bytes, seconds } = this;
    return { connections: this.conns.length, mibPerSec: bytes / seconds / 2 ** 20, bytes, seconds };
  }

  async close(): Promise<void> {
    await Promise.all(this.conns.map((c) => c.close(3000)));
  }

  private start(): void {
    this.running = true;
    for (const s of this.state) s.pump();
  }

  /** Stops sending and lets what is in flight come back (bounded). */
  private async stop(): Promise<void> {
    this.running = false;
    const deadline = Date.now() + 3000;
    while (this.state.some((s) => s.recv < s.sent) && Date.now() < deadline) await sleepMs(5);
  }
}

/** Runs a meter alone: warm-up, then one measured block of the whole duration. */
export async function measureAlone<R>(meter: Meter<R>, timing: Timing): Promise<R> {
  try {
    await meter.warm(timing.warmupMs);
    await meter.run(timing.durationMs, timing.mark);
    return meter.result();
  } finally {
    await meter.close();
  }
}

export interface LatencyResult {
  samples: number;
  p50us: number;
  p90us: number;
  p99us: number;
  meanUs: number;
}

/** Ping-pong of one `size`-byte message on one connection, as fast as it comes back. */
export async function roundTrip(
  t: Transport,
  timing: Timing,
  size = 64,
  maxSamples = 500_000,
): Promise<LatencyResult> {
  const conn = await t.connect(10_000);
  const payload = Buffer.alloc(size, 0x61);
  const samples = new Float64Array(maxSamples);
  let count = 0;
  await new Promise<void>((resolve, reject) => {
    const start = performance.now();
    const measureFrom = start + timing.warmupMs;
    const end = measureFrom + timing.durationMs;
    let got = 0;
    let sentAt = 0n;
    const watchdog = setTimeout(
      () => reject(new Error('round trip stalled')),
      timing.warmupMs + timing.durationMs + 10_000,
    );
    conn.onData = (n) => {
      got += n;
      if (got < size) return;
      got -= size;
      const us = Number(process.hrtime.bigint() - sentAt) / 1000;
      const now = performance.now();
      if (now >= measureFrom) {
        if (count === 0) timing.mark?.('start');
        samples[count++] = us;
      }
      if (now >= end || count >= maxSamples) {
        timing.mark?.('end');
        clearTimeout(watchdog);
        resolve();
        return;
      }
      sentAt = process.hrtime.bigint();
      conn.send(payload);
    };
    sentAt = process.hrtime.bigint();
    conn.send(payload);
  });
  await conn.close(3000);
  const sorted = samples.subarray(0, count).sort();
  let sum = 0;
  for (const v of sorted) sum += v;
  return {
    samples: count,
    p50us: percentile(sorted, 0.5),
    p90us: percentile(sorted, 0.9),
    p99us: percentile(sorted, 0.99),
    meanUs: count ? sum / count : NaN,
  };
}

export function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

export interface RateResult {
  /** Completed connect + 64-byte echo + close cycles per second. */
  perSec: number;
  completed: number;
  errors: number;
  seconds: number;
}

/**
 * Sequential connect, one 64-byte echo, graceful close; one cycle at a time. Time is
 * counted only inside `run`, so a measurement may be taken in blocks, between which other
 * systems take their turn (see --rate-block).
 */
export class ConnectCycles implements Meter<RateResult> {
  completed = 0;
  errors = 0;
  /** Seconds spent inside `run`. */
  seconds = 0;
  private lastError = '';
  private readonly payload = Buffer.alloc(64, 0x62);

  constructor(
    private readonly t: Transport,
    private readonly maxCycles = 50_000,
    private readonly maxErrors = 100,
  ) {}

  get failed(): boolean {
    return this.errors >= this.maxErrors;
  }

  /** Cycles for `ms` without counting them: lazily loaded code, the JIT's warm-up. */
  async warm(ms: number): Promise<void> {
    const end = performance.now() + ms;
    while (performance.now() < end && !this.failed) await this.cycle();
  }

  /** Cycles for `ms` (and at most `maxCycles` in all), counted. */
  async run(ms: number, mark?: (edge: 'start' | 'end') => void): Promise<void> {
    mark?.('start');
    const t0 = performance.now();
    const end = t0 + ms;
    while (performance.now() < end && this.completed < this.maxCycles && !this.failed) {
      if (await this.cycle()) this.completed++;
    }
    this.seconds += (performance.now() - t0) / 1000;
    mark?.('end');
  }

  async close(): Promise<void> {}

  result(): RateResult {
    if (this.failed) throw new Error(`${this.errors} failed cycles, last: ${this.lastError}`);
    const { completed, errors, seconds } = this;
    return { perSec: completed / seconds, completed, errors, seconds };
  }

  private async cycle(): Promise<boolean> {
    let conn: Conn | undefined;
    try {
      conn = await this.t.connect(5000);
      await echoOnce(conn, this.payload, 5000);
      await conn.close(5000);
      return true;
    } catch (e) {
      conn?.destroy();
      this.errors++;
      this.lastError = (e as Error).message;
      return false;
    }
  }
}

/**
 * Opens up to `n` connections, `concurrency` at a time, each doing one small echo so
 * the whole path to the target is established; stops at `deadlineMs`.
 */
export async function openIdle(
  t: Transport,
  n: number,
  concurrency: number,
  deadlineMs: number,
): Promise<{ conns: Conn[]; errors: number; lastError?: string; seconds: number }> {
  const conns: Conn[] = [];
  const payload = Buffer.from('hello\n');
  const t0 = performance.now();
  const deadline = Date.now() + deadlineMs;
  let next = 0;
  let errors = 0;
  let lastError: string | undefined;
  const worker = async () => {
    while (next < n && Date.now() < deadline && errors < 100) {
      next++;
      let conn: Conn | undefined;
      try {
        conn = await t.connect(10_000);
        await echoOnce(conn, payload, 10_000);
        conns.push(conn);
      } catch (e) {
        conn?.destroy();
        errors++;
        lastError = (e as Error).message;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, worker));
  return { conns, errors, lastError, seconds: (performance.now() - t0) / 1000 };
}

export async function closeAll(conns: readonly Conn[], batch = 500): Promise<void> {
  for (let i = 0; i < conns.length; i += batch) {
    await Promise.all(conns.slice(i, i + batch).map((c) => c.close(2000)));
  }
}

function sleepMs(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
