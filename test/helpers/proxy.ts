/** Starts the proxy in-process for tests, with logs captured as parsed JSON lines. */
import { Writable } from 'node:stream';
import { WebSocket, type ClientOptions } from 'ws';
import { loadConfig } from '../../proxy/src/config/load.js';
import { createLogger } from '../../lib/log.js';
import { startProxy, type RunningProxy } from '../../proxy/src/proxy.js';
import { waitFor, within } from './wait.js';

export { metricValue } from './metrics.js';

export interface TestProxy extends RunningProxy {
  logs: Record<string, unknown>[];
  url(path?: string): string;
  metricsUrl(path: string): string;
}

/**
 * `flags` are `wsgate proxy` flags; listen and metrics default to free loopback ports,
 * and Origin-less clients (the `ws` test clients) are allowed unless a test says
 * `--no-allow-missing-origin`.
 */
export async function startTestProxy(flags: string[]): Promise<TestProxy> {
  const { config } = loadConfig({
    argv: [
      '--listen',
      '127.0.0.1:0',
      '--metrics-listen',
      '127.0.0.1:0',
      '--log-level',
      'debug',
      '--allow-missing-origin',
      ...flags,
    ],
    env: {},
  });
  const logs: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString().split('\n')) if (line) logs.push(JSON.parse(line));
      cb();
    },
  });
  const running = await startProxy(config, { logger: createLogger(config.logLevel, sink) });
  return Object.assign(running, {
    logs,
    url: (path = '/') => `ws://127.0.0.1:${running.address.port}${path}`,
    metricsUrl: (path: string) => `http://127.0.0.1:${running.metricsAddress!.port}${path}`,
  });
}

export type Opened = { ws: WebSocket; protocol: string };

/**
 * Opens a client; resolves when open, rejects with the HTTP status on refusal, or after
 * `options.handshakeTimeout` (default 10 s) without an answer.
 */
export function openClient(
  url: string,
  protocols?: string | string[],
  options: ClientOptions = {},
): Promise<WebSocket> {
  const timeoutMs = options.handshakeTimeout ?? 10_000;
  return within(
    new Promise<WebSocket>((resolve, reject) => {
      const ws = new WebSocket(url, protocols, { perMessageDeflate: false, ...options });
      // Messages can arrive in the same tick as 'open' (a VNC greeting): queue them.
      const queue: Buffer[] = [];
      inbox.set(ws, queue);
      ws.on('message', (data: Buffer) => queue.push(data));
      ws.once('open', () => resolve(ws));
      ws.once('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d));
        res.on('end', () =>
          reject(
            Object.assign(new Error(`HTTP ${res.statusCode}`), {
              status: res.statusCode,
              body,
              headers: res.headers,
            }),
          ),
        );
      });
      ws.once('error', reject);
    }),
    timeoutMs + 1000,
    `the WebSocket handshake with ${url}`,
  );
}

/** How long `closed()` waits for the close. */
const CLOSE_TIMEOUT_MS = 10_000;

/**
 * Resolves with [code, reason] when the client sees the close; rejects after 10 s. One
 * argument only: tests pass it to Array#map.
 */
export function closed(ws: WebSocket): Promise<[number, string]> {
  return within(
    new Promise((resolve) =>
      ws.once('close', (code, reason) => resolve([code, reason.toString()])),
    ),
    CLOSE_TIMEOUT_MS,
    'the WebSocket to close',
  );
}

const inbox = new WeakMap<WebSocket, Buffer[]>();

/**
 * Takes exactly `bytes` bytes of received payload (messages queued since open first),
 * waiting at most `timeoutMs`. Leftover bytes stay queued for the next call.
 */
export function receive(ws: WebSocket, bytes: number, timeoutMs = 10_000): Promise<Buffer> {
  const queue = inbox.get(ws)!;
  return new Promise((resolve, reject) => {
    const take = () => {
      const have = queue.reduce((n, b) => n + b.length, 0);
      if (have < bytes) return false;
      const all = Buffer.concat(queue.splice(0));
      if (all.length > bytes) queue.push(all.subarray(bytes));
      resolve(all.subarray(0, bytes));
      return true;
    };
    if (take()) return;
    const timer = setTimeout(() => {
      ws.off('message', onMessage);
      reject(new Error(`received ${queue.reduce((n, b) => n + b.length, 0)} of ${bytes} bytes`));
    }, timeoutMs);
    // Registered after the queueing listener, so the queue already holds this message.
    const onMessage = () => {
      if (take()) {
        clearTimeout(timer);
        ws.off('message', onMessage);
      }
    };
    ws.on('message', onMessage);
  });
}

/** Polls `fn` every 20 ms until it returns truthy, at most `timeoutMs` (see waitFor). */
export function eventually<T>(
  fn: () => T | Promise<T>,
  timeoutMs = 5000,
  what = 'condition',
): Promise<NonNullable<T>> {
  return waitFor(what, async () => (await fn()) || undefined, { timeoutMs, intervalMs: 20 });
}
