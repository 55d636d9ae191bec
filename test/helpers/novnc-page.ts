/**
 * noVNC in a real page for end-to-end tests.
 *
 * `startNoVncSite()` serves, from a node:http server on 127.0.0.1 (so the page's origin
 * is `http://127.0.0.1:<port>`, a secure context as noVNC wants), a small page and the
 * ES modules of the `@novnc/novnc` package (core/ and vendor/, unbundled, as browsers
 * load them). `openNoVnc(page, site)` loads that page in a playwright page and returns a
 * handle that connects noVNC's RFB to a ws:// or wss:// URL and reads back what it drew.
 *
 * The page exposes `window.wsgate` (the contract, should a test want to evaluate in the
 * page directly):
 *  - `connect(url, { wsProtocols?, shared? })` creates `new RFB(screen, url, options)`;
 *  - `status`: 'idle' | 'connecting' | 'connected' | 'disconnected';
 *  - `events`: every RFB event as `{ type, detail, t }` (connect, disconnect with
 *    `detail.clean`, securityfailure, credentialsrequired, desktopname, ...);
 *  - `sockets`: every WebSocket the page opened as `{ url, protocol, events }`, events
 *    being 'open', 'error', 'close <code>' (a refused handshake shows 'error', 'close
 *    1006'; the HTTP status itself is visible only to playwright: `socketErrors`);
 *  - `sample(rgb, tolerance)`: the canvas's size, centre pixel, the share of pixels within
 *    `tolerance` of `rgb` per channel, and the most common colour;
 *  - `disconnect()`.
 */
import { readFile, stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page, WebSocket as PwWebSocket } from 'playwright-core';
import { parseColour } from './vnc.js';

/** Root of the installed @novnc/novnc package (its `exports` is core/rfb.js). */
export const NOVNC_ROOT = dirname(dirname(fileURLToPath(import.meta.resolve('@novnc/novnc'))));

const PAGE = `<!doctype html>
<html>
<head>
<meta charset="utf-8">
<title>wsgate noVNC test</title>
<style>html, body { margin: 0; background: #000; } #screen { width: 100vw; height: 100vh; }</style>
</head>
<body>
<div id="screen"></div>
<script type="module">
import RFB from '/novnc/core/rfb.js';

const t0 = performance.now();
const state = {
  ready: true,
  status: 'idle',
  events: [],
  sockets: [],
  rfb: null,
  connect(url, options = {}) {
    state.status = 'connecting';
    state.rfb = new RFB(document.getElementById('screen'), url, {
      shared: options.shared ?? true,
      wsProtocols: options.wsProtocols ?? ['binary'],
    });
    for (const type of ['connect', 'disconnect', 'securityfailure', 'credentialsrequired',
                        'serververification', 'desktopname', 'capabilities']) {
      state.rfb.addEventListener(type, (e) => {
        state.events.push({ type, detail: JSON.parse(JSON.stringify(e.detail ?? null)),
                            t: Math.round(performance.now() - t0) });
        if (type === 'connect') state.status = 'connected';
        if (type === 'disconnect') state.status = 'disconnected';
      });
    }
  },
  disconnect() {
    state.rfb?.disconnect();
  },
  canvas() {
    return document.querySelector('#screen canvas');
  },
  sample(rgb, tolerance) {
    const canvas = state.canvas();
    if (!canvas || !canvas.width || !canvas.height) return { width: 0, height: 0 };
    const { width, height } = canvas;
    const data = canvas.getContext('2d').getImageData(0, 0, width, height).data;
    let matching = 0;
    const counts = new Map();
    for (let i = 0; i < data.length; i += 4) {
      const [r, g, b] = [data[i], data[i + 1], data[i + 2]];
      if (Math.abs(r - rgb[0]) <= tolerance && Math.abs(g - rgb[1]) <= tolerance &&
          Math.abs(b - rgb[2]) <= tolerance) matching++;
      const key = (r << 16) | (g << 8) | b;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    let top = 0, topCount = -1;
    for (const [k, n] of counts) if (n > topCount) [top, topCount] = [k, n];
    const c = ((height >> 1) * width + (width >> 1)) * 4;
    return {
      width, height,
      centre: [data[c], data[c + 1], data[c + 2]],
      matching: matching / (width * height),
      dominant: '#' + top.toString(16).padStart(6, '0'),
      dominantShare: topCount / (width * height),
    };
  },
};

// Record what each WebSocket the page opens goes through. A wrapper function, not a
// subclass: noVNC checks the socket's prototype for the native methods.
const NativeWebSocket = window.WebSocket;
function RecordingWebSocket(url, protocols) {
  const ws = new NativeWebSocket(url, protocols);
  const rec = { url: String(url), protocol: null, events: [] };
  state.sockets.push(rec);
  ws.addEventListener('open', () => { rec.protocol = ws.protocol; rec.events.push('open'); });
  ws.addEventListener('error', () => rec.events.push('error'));
  ws.addEventListener('close', (e) => rec.events.push('close ' + e.code));
  return ws;
}
RecordingWebSocket.prototype = NativeWebSocket.prototype;
for (const k of ['CONNECTING', 'OPEN', 'CLOSING', 'CLOSED']) RecordingWebSocket[k] = NativeWebSocket[k];
window.WebSocket = RecordingWebSocket;

window.wsgate = state;
const url = new URLSearchParams(location.search).get('url');
if (url) state.connect(url);
</script>
</body>
</html>
`;

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
};

export interface NoVncSite {
  /** `http://127.0.0.1:<port>`: the Origin the page's WebSockets carry. */
  origin: string;
  /** The test page (optionally connecting at once to `wsUrl`). */
  pageUrl(wsUrl?: string): string;
  server: Server;
  close(): Promise<void>;
}

/** Serves the test page and noVNC's modules on 127.0.0.1 (a free port unless given). */
export async function startNoVncSite(port = 0): Promise<NoVncSite> {
  const server = createServer((req, res) => {
    void (async () => {
      const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
      const send = (status: number, type: string, body: string | Buffer) => {
        res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
        res.end(req.method === 'HEAD' ? undefined : body);
      };
      if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'text/plain', '');
      if (path === '/' || path === '/index.html')
        return send(200, 'text/html; charset=utf-8', PAGE);
      if (path.startsWith('/novnc/')) {
        const file = normalize(join(NOVNC_ROOT, path.slice('/novnc/'.length)));
        const inside = [join(NOVNC_ROOT, 'core') + sep, join(NOVNC_ROOT, 'vendor') + sep];
        if (inside.some((dir) => file.startsWith(dir))) {
          try {
            if ((await stat(file)).isFile()) {
              const type = TYPES[extname(file)] ?? 'application/octet-stream';
              return send(200, type, await readFile(file));
            }
          } catch {
            // fall through to 404
          }
        }
      }
      send(404, 'text/plain', 'not found');
    })().catch(() => res.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    server,
    pageUrl: (wsUrl) => `${origin}/${wsUrl ? `?url=${encodeURIComponent(wsUrl)}` : ''}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export type NoVncStatus = 'idle' | 'connecting' | 'connected' | 'disconnected';

export interface RfbEvent {
  type: string;
  detail: unknown;
  t: number;
}

export interface SocketRecord {
  url: string;
  protocol: string | null;
  events: string[];
}

export interface CanvasSample {
  width: number;
  height: number;
  centre?: [number, number, number];
  /** Share (0..1) of the canvas's pixels within the tolerance of the colour asked. */
  matching?: number;
  dominant?: string;
  dominantShare?: number;
}

export interface NoVncView {
  page: Page;
  /** Creates noVNC's RFB for `wsUrl` (default subprotocols: ['binary'], as noVNC's app). */
  connect(wsUrl: string, options?: { wsProtocols?: string[]; shared?: boolean }): Promise<void>;
  status(): Promise<NoVncStatus>;
  events(): Promise<RfbEvent[]>;
  sockets(): Promise<SocketRecord[]>;
  /** Handshake errors Chromium reported for the page's WebSockets (with HTTP status). */
  socketErrors: string[];
  /** Resolves when noVNC's status is `status`; rejects after `timeoutMs` with the state. */
  waitForStatus(status: NoVncStatus, timeoutMs?: number): Promise<void>;
  sample(colour: string, tolerance?: number): Promise<CanvasSample>;
  /**
   * Resolves with the sample once at least `share` of the canvas is `colour` (within
   * `tolerance` per channel); rejects after `timeoutMs` with the last sample.
   */
  waitForColour(
    colour: string,
    opts?: { share?: number; tolerance?: number; timeoutMs?: number },
  ): Promise<CanvasSample>;
  disconnect(): Promise<void>;
  /** Everything known, for a failure message. */
  describe(): Promise<string>;
}

interface PageState {
  ready?: boolean;
  status: NoVncStatus;
  events: RfbEvent[];
  sockets: SocketRecord[];
  connect(url: string, options: { wsProtocols?: string[]; shared?: boolean }): void;
  disconnect(): void;
  sample(rgb: [number, number, number], tolerance: number): CanvasSample;
}
/** The page's `window` (functions passed to `page.evaluate` run there, so no closures). */
type WithState = { wsgate?: PageState };

/** Loads the site's page in `page` and waits until noVNC's module has loaded (bounded). */
export async function openNoVnc(
  page: Page,
  site: NoVncSite,
  timeoutMs = 15_000,
): Promise<NoVncView> {
  const socketErrors: string[] = [];
  const consoleLines: string[] = [];
  page.on('websocket', (ws: PwWebSocket) => {
    ws.on('socketerror', (err) => socketErrors.push(`${ws.url()}: ${err}`));
  });
  page.on('console', (m) => {
    if (consoleLines.length < 200) consoleLines.push(`${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => consoleLines.push(`pageerror: ${e.message}`));
  await page.goto(site.pageUrl(), { timeout: timeoutMs });
  await page.waitForFunction(
    () => (globalThis as unknown as WithState).wsgate?.ready === true,
    undefined,
    { timeout: timeoutMs },
  );

  const view: NoVncView = {
    page,
    socketErrors,
    connect: (wsUrl, options = {}) =>
      page.evaluate(([u, o]) => (globalThis as unknown as WithState).wsgate!.connect(u, o), [
        wsUrl,
        options,
      ] as const),
    status: () => page.evaluate(() => (globalThis as unknown as WithState).wsgate!.status),
    events: () => page.evaluate(() => (globalThis as unknown as WithState).wsgate!.events),
    sockets: () => page.evaluate(() => (globalThis as unknown as WithState).wsgate!.sockets),
    async waitForStatus(status, ms = 15_000) {
      try {
        await page.waitForFunction(
          (s) => (globalThis as unknown as WithState).wsgate!.status === s,
          status,
          { timeout: ms, polling: 50 },
        );
      } catch (e) {
        throw new Error(
          `noVNC never became ${status}: ${(e as Error).message}\n${await view.describe()}`,
          { cause: e },
        );
      }
    },
    sample: (colour, tolerance = 8) =>
      page.evaluate(([rgb, tol]) => (globalThis as unknown as WithState).wsgate!.sample(rgb, tol), [
        parseColour(colour),
        tolerance,
      ] as const),
    async waitForColour(colour, opts = {}) {
      const share = opts.share ?? 0.99;
      const deadline = Date.now() + (opts.timeoutMs ?? 10_000);
      for (;;) {
        const s = await view.sample(colour, opts.tolerance ?? 8);
        if ((s.matching ?? 0) >= share) return s;
        if (Date.now() >= deadline)
          throw new Error(
            `canvas did not turn ${colour} (${share * 100}% of pixels): ${JSON.stringify(s)}\n${await view.describe()}`,
          );
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    disconnect: () =>
      page.evaluate(() => (globalThis as unknown as WithState).wsgate!.disconnect()),
    async describe() {
      const state = await page
        .evaluate(() => {
          const s = (globalThis as unknown as WithState).wsgate!;
          return { status: s.status, events: s.events, sockets: s.sockets };
        })
        .catch((e: Error) => ({ error: e.message }));
      return [
        `page state: ${JSON.stringify(state)}`,
        `socket errors: ${JSON.stringify(socketErrors)}`,
        `console:\n  ${consoleLines.slice(-40).join('\n  ')}`,
      ].join('\n');
    },
  };
  return view;
}
