/**
 * noVNC in a real page for end-to-end tests.
 *
 * `startNoVncSite()` serves, from a node:http server on 127.0.0.1 (so the page's origin
 * is `http://127.0.0.1:<port>`, a secure context as noVNC wants), a small page and the
 * ES modules of the `@novnc/novnc` package (core/ and vendor/, unbundled, as browsers
 * load them). `openNoVnc(page, site)` loads that page in a playwright page and returns a
 * handle that connects noVNC's RFB to a ws:// or wss:// URL and reads back what it drew;
 * `assertNeverConnects(view, url)` checks a connection that must fail.
 *
 * The page exposes `window.wsgate` (the contract, should a test want to evaluate in the
 * page directly):
 *  - `connect(url, { wsProtocols?, shared? })` creates `new RFB(screen, url, options)`;
 *  - `status`: 'idle' | 'connecting' | 'connected' | 'disconnected';
 *  - `events`: every RFB event as `{ type, detail, t }` (connect, disconnect with
 *    `detail.clean`, securityfailure, credentialsrequired, desktopname, ...);
 *  - `sockets`: every WebSocket the page opened as `{ url, protocol, events, t }`
 *    (`SocketRecord`, test-page.ts), events being 'open', 'error', 'close <code>' (a
 *    refused handshake shows 'error', 'close 1006'; the HTTP status itself is visible
 *    only to playwright: `socketErrors`);
 *  - `sample(rgb, tolerance)`: the canvas's size, centre pixel, the share of pixels within
 *    `tolerance` of `rgb` per channel, and the most common colour;
 *  - `disconnect()`.
 */
import assert from 'node:assert/strict';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { pollUntil } from './poll.js';
import { startStaticSite, type StaticSite } from './static-site.js';
import { PAGE_FUNCTIONS, loadTestPage, watchPage, type SocketRecord } from './test-page.js';
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
${PAGE_FUNCTIONS}
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
    const image = canvasImage(state.canvas());
    if (!image) return { width: 0, height: 0 };
    const { width, height, data } = image;
    let matching = 0;
    for (let i = 0; i < data.length; i += 4) {
      const [r, g, b] = [data[i], data[i + 1], data[i + 2]];
      if (Math.abs(r - rgb[0]) <= tolerance && Math.abs(g - rgb[1]) <= tolerance &&
          Math.abs(b - rgb[2]) <= tolerance) matching++;
    }
    let top = 0, topCount = -1;
    for (const [k, n] of colourCounts(data)) if (n > topCount) [top, topCount] = [k, n];
    const c = ((height >> 1) * width + (width >> 1)) * 4;
    return {
      width, height,
      centre: [data[c], data[c + 1], data[c + 2]],
      matching: matching / (width * height),
      dominant: hexColour(top),
      dominantShare: topCount / (width * height),
    };
  },
};

recordWebSockets(state.sockets, t0);

window.wsgate = state;
const url = new URLSearchParams(location.search).get('url');
if (url) state.connect(url);
</script>
</body>
</html>
`;

export interface NoVncSite extends StaticSite {
  /** The test page (optionally connecting at once to `wsUrl`). */
  pageUrl(wsUrl?: string): string;
}

/** Serves the test page and noVNC's modules on 127.0.0.1 (a free port unless given). */
export async function startNoVncSite(port = 0): Promise<NoVncSite> {
  const site = await startStaticSite(
    PAGE,
    { prefix: '/novnc/', root: NOVNC_ROOT, folders: ['core', 'vendor'] },
    port,
  );
  return {
    ...site,
    pageUrl: (wsUrl) => `${site.origin}/${wsUrl ? `?url=${encodeURIComponent(wsUrl)}` : ''}`,
  };
}

export type NoVncStatus = 'idle' | 'connecting' | 'connected' | 'disconnected';

export interface RfbEvent {
  type: string;
  detail: unknown;
  t: number;
}

export type { SocketRecord };

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
  const watch = watchPage(page, 200);
  await loadTestPage(page, site.pageUrl(), timeoutMs);

  const view: NoVncView = {
    page,
    socketErrors: watch.socketErrors,
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
    waitForColour(colour, opts = {}) {
      const share = opts.share ?? 0.99;
      return pollUntil(
        () => view.sample(colour, opts.tolerance ?? 8),
        (s) => (s.matching ?? 0) >= share,
        {
          timeoutMs: opts.timeoutMs ?? 10_000,
          intervalMs: 100,
          fail: async (s) =>
            new Error(
              `canvas did not turn ${colour} (${share * 100}% of pixels): ${JSON.stringify(s)}\n${await view.describe()}`,
            ),
        },
      );
    },
    disconnect: () =>
      page.evaluate(() => (globalThis as unknown as WithState).wsgate!.disconnect()),
    describe: () =>
      watch.describe(
        () =>
          page.evaluate(() => {
            const s = (globalThis as unknown as WithState).wsgate!;
            return { status: s.status, events: s.events, sockets: s.sockets };
          }),
        40,
      ),
  };
  return view;
}

/**
 * Connects `view` to `wsUrl`, which must fail (a refused handshake, a certificate
 * Chromium rejects): waits until noVNC gives up and checks it never connected. Returns
 * noVNC's events, for the caller's further checks.
 */
export async function assertNeverConnects(view: NoVncView, wsUrl: string): Promise<RfbEvent[]> {
  await view.connect(wsUrl);
  await view.waitForStatus('disconnected');
  const events = await view.events();
  assert.ok(!events.some((e) => e.type === 'connect'), JSON.stringify(events));
  return events;
}
