/**
 * spice-html5 in a real page for end-to-end tests.
 *
 * `startSpiceSite()` serves, from a node:http server on 127.0.0.1 (the page's origin is
 * `http://127.0.0.1:<port>`), a small page and the ES modules of the
 * `@spice-project/spice-html5` package (its src/, unbundled, as browsers load them).
 * `openSpice(page, site)` loads that page in a playwright page and returns a handle that
 * creates spice-html5's `SpiceMainConn` for a ws:// or wss:// URL and reads back what it
 * drew.
 *
 * How spice-html5 (0.2.x) connects: every channel is `new WebSocket(uri, 'binary')`. The
 * main channel gets the URL given; when the server lists its channels (display, inputs,
 * cursor, ...), each is opened with the main socket's `ws.url`, so a `?token=` in the URL
 * reaches the proxy on every channel. `onsuccess` fires when the main channel receives
 * SPICE_MSG_MAIN_INIT; the primary surface becomes a `<canvas id="spice_surface_N">`
 * inside `#spice-screen`, whose keydown/keyup go to the inputs channel.
 *
 * The page exposes `window.wsgate`:
 *  - `connect(url, password?)`, `disconnect()` (SpiceMainConn.stop);
 *  - `status`: 'idle' | 'connecting' | 'connected' (main channel up) | 'error';
 *  - `errors`: what spice-html5 passed to `onerror` (an Error's message, or the type of
 *    an Event: a failed WebSocket reports its 'error' event, then 'Connection refused.');
 *  - `channels()`: each channel's SpiceConn state ('connecting', 'start', 'link',
 *    'ticket', 'ready', 'error', ...), by name;
 *  - `sockets`: every WebSocket the page opened as `{ url, protocol, events, t }`
 *    (`SocketRecord`, test-page.ts);
 *  - `sample()`: the primary canvas's size and most common colours;
 *  - `pixels()`: the primary canvas as base64 RGB.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { pollUntil } from './poll.js';
import type { Screen } from './qemu-spice.js';
import { startStaticSite, type StaticSite } from './static-site.js';
import { PAGE_FUNCTIONS, loadTestPage, watchPage, type SocketRecord } from './test-page.js';

/** Root of the installed @spice-project/spice-html5 package (its `main` is src/main.js). */
export const SPICE_ROOT = dirname(
  dirname(fileURLToPath(import.meta.resolve('@spice-project/spice-html5'))),
);

const PAGE = `<!doctype html>
<html>
<head>
<meta charset="utf-8">
<title>wsgate spice-html5 test</title>
<style>html, body { margin: 0; background: #333; } #message-div { display: none; }</style>
</head>
<body>
<div id="spice-area"><div id="spice-screen"></div></div>
<div id="message-div"></div>
<script type="module">
import { SpiceMainConn } from '/spice/src/main.js';
${PAGE_FUNCTIONS}
const t0 = performance.now();
const state = {
  ready: true,
  status: 'idle',
  errors: [],
  sockets: [],
  sc: null,
  connect(url, password = '') {
    state.status = 'connecting';
    state.sc = new SpiceMainConn({
      uri: url,
      password,
      screen_id: 'spice-screen',
      message_id: 'message-div',
      onsuccess: () => {
        if (state.status === 'connecting') state.status = 'connected';
      },
      onerror: (e) => {
        state.errors.push(e instanceof Error ? e.message : (e && e.type) + ' event');
        state.status = 'error';
      },
    });
  },
  disconnect() {
    state.sc?.stop();
  },
  channels() {
    const sc = state.sc;
    if (!sc) return {};
    const out = { main: sc.state };
    for (const name of ['display', 'inputs', 'cursor']) if (sc[name]) out[name] = sc[name].state;
    for (const c of sc.extra_channels ?? []) if (c) out[c.channel_type()] = c.state;
    return out;
  },
  canvas() {
    return document.querySelector('#spice-screen > canvas');
  },
  sample() {
    const canvas = state.canvas();
    const image = canvasImage(canvas);
    if (!image) return { width: 0, height: 0, colours: [] };
    const { width, height, data } = image;
    const colours = [...colourCounts(data)].sort((a, b) => b[1] - a[1]).slice(0, 8)
      .map(([k, n]) => [hexColour(k), n]);
    return { id: canvas.id, width, height, colours };
  },
  pixels() {
    const image = canvasImage(state.canvas());
    if (!image) return { width: 0, height: 0, rgb: '' };
    const { width, height, data } = image;
    const rgb = new Uint8Array(width * height * 3);
    for (let i = 0, j = 0; i < data.length; i += 4, j += 3) {
      rgb[j] = data[i]; rgb[j + 1] = data[i + 1]; rgb[j + 2] = data[i + 2];
    }
    let bin = '';
    for (let i = 0; i < rgb.length; i += 0x8000)
      bin += String.fromCharCode.apply(null, rgb.subarray(i, i + 0x8000));
    return { width, height, rgb: btoa(bin) };
  },
};

recordWebSockets(state.sockets, t0);

window.wsgate = state;
</script>
</body>
</html>
`;

export interface SpiceSite extends StaticSite {
  pageUrl(): string;
}

/**
 * spice-html5 0.2.x writes its RSA-encrypted ticket as the ciphertext's hex digits without
 * padding it to the modulus' length, so when the ciphertext's top byte is zero (about one
 * link in 256; every channel links) the ticket is a byte short, spice-server fails to decrypt
 * it and answers SPICE_LINK_ERR_PERMISSION_DENIED, which spice-html5 shows as "Permission
 * denied." (even with ticketing disabled: the server decrypts first). A client bug, not
 * the proxy's: the test site serves ticket.js with the ciphertext padded, as RFC 8017
 * §7.1.1 step 4 (I2OSP to the modulus length) requires. Fails loudly if the code changed.
 */
const SPICE_TICKET_UNPADDED = `    var h = enc.toString(16);
    if ((h.length & 1) != 0)
        h = "0" + h;`;
const SPICE_TICKET_PADDED = `    var h = enc.toString(16);
    while (h.length < 2 * ((rsa.n.bitLength() + 7) >> 3))
        h = "0" + h;`;

export function patchSpiceTicket(path: string, body: Buffer): Buffer {
  if (path !== join('src', 'ticket.js')) return body;
  const text = body.toString('utf8');
  if (!text.includes(SPICE_TICKET_UNPADDED))
    throw new Error(`spice-html5's ${path} changed: re-check the ticket padding fix`);
  return Buffer.from(text.replace(SPICE_TICKET_UNPADDED, SPICE_TICKET_PADDED));
}

/** Serves the test page and spice-html5's modules on 127.0.0.1 (a free port unless given). */
export async function startSpiceSite(port = 0): Promise<SpiceSite> {
  // Check the fix applies before any page loads (inside the server a throw is only a 404).
  patchSpiceTicket(join('src', 'ticket.js'), readFileSync(join(SPICE_ROOT, 'src', 'ticket.js')));
  const site = await startStaticSite(
    PAGE,
    {
      prefix: '/spice/',
      root: SPICE_ROOT,
      folders: ['src'],
      extensions: ['.js'],
      patch: patchSpiceTicket,
    },
    port,
  );
  return { ...site, pageUrl: () => `${site.origin}/` };
}

export type SpiceStatus = 'idle' | 'connecting' | 'connected' | 'error';

export type { SocketRecord };

export interface CanvasSample {
  id?: string;
  width: number;
  height: number;
  /** Most common colours first, `#rrggbb` → pixel count. */
  colours: [string, number][];
}

export interface SpiceView {
  page: Page;
  connect(wsUrl: string, password?: string): Promise<void>;
  status(): Promise<SpiceStatus>;
  errors(): Promise<string[]>;
  channels(): Promise<Record<string, string>>;
  sockets(): Promise<SocketRecord[]>;
  /**
   * Handshake errors Chromium reported for the page's WebSockets. A 401 is worded
   * "HTTP Authentication failed; no valid credentials available"; its headers (such as
   * X-Wsgate-Error) reach neither the page nor the DevTools protocol (which reports only
   * `Network.webSocketFrameError` with that text).
   */
  socketErrors: string[];
  /** Resolves when the status is `status`; rejects after `timeoutMs` with the state. */
  waitForStatus(status: SpiceStatus, timeoutMs?: number): Promise<void>;
  /** Resolves when every channel in `names` is 'ready'; rejects after `timeoutMs`. */
  waitForChannels(names: string[], timeoutMs?: number): Promise<Record<string, string>>;
  sample(): Promise<CanvasSample>;
  /** The primary canvas as RGB. */
  pixels(): Promise<Screen>;
  /**
   * Polls `pixels()` until `pred` holds; rejects after `timeoutMs` with the last sample.
   */
  waitForPixels(
    pred: (s: Screen) => boolean | Promise<boolean>,
    what: string,
    timeoutMs?: number,
  ): Promise<Screen>;
  /** Types `key` into the SPICE canvas (keydown/keyup → inputs channel). */
  press(key: string): Promise<void>;
  disconnect(): Promise<void>;
  /** Everything known, for a failure message. */
  describe(): Promise<string>;
}

interface PageState {
  ready?: boolean;
  status: SpiceStatus;
  errors: string[];
  sockets: SocketRecord[];
  connect(url: string, password: string): void;
  disconnect(): void;
  channels(): Record<string, string>;
  sample(): CanvasSample;
  pixels(): { width: number; height: number; rgb: string };
}
/** The page's `window` (functions passed to `page.evaluate` run there, so no closures). */
type WithState = { wsgate?: PageState };

/** Loads the site's page in `page` and waits until spice-html5's modules have loaded. */
export async function openSpice(
  page: Page,
  site: SpiceSite,
  timeoutMs = 15_000,
): Promise<SpiceView> {
  const watch = watchPage(page, 500);
  // spice-html5 alert()s on a key it cannot map; never let a dialog block the page.
  page.on('dialog', (d) => {
    watch.consoleLines.push(`dialog: ${d.message()}`);
    void d.dismiss().catch(() => {});
  });
  await loadTestPage(page, site.pageUrl(), timeoutMs);

  const view: SpiceView = {
    page,
    socketErrors: watch.socketErrors,
    connect: (wsUrl, password = '') =>
      page.evaluate(([u, p]) => (globalThis as unknown as WithState).wsgate!.connect(u, p), [
        wsUrl,
        password,
      ] as const),
    status: () => page.evaluate(() => (globalThis as unknown as WithState).wsgate!.status),
    errors: () => page.evaluate(() => (globalThis as unknown as WithState).wsgate!.errors),
    channels: () => page.evaluate(() => (globalThis as unknown as WithState).wsgate!.channels()),
    sockets: () => page.evaluate(() => (globalThis as unknown as WithState).wsgate!.sockets),
    async waitForStatus(status, ms = 15_000) {
      let reached: SpiceStatus | undefined;
      try {
        // 'error' is final: waiting for anything else stops there.
        reached = await page
          .waitForFunction(
            (s) => {
              const now = (globalThis as unknown as WithState).wsgate!.status;
              return now === s || now === 'error' ? now : false;
            },
            status,
            { timeout: ms, polling: 50 },
          )
          .then((h) => h.jsonValue() as Promise<SpiceStatus>);
      } catch (e) {
        throw new Error(
          `spice-html5 never became ${status}: ${(e as Error).message}\n${await view.describe()}`,
          { cause: e },
        );
      }
      if (reached !== status)
        throw new Error(
          `spice-html5 failed instead of becoming ${status}\n${await view.describe()}`,
        );
    },
    waitForChannels: (names, ms = 15_000) =>
      pollUntil(view.channels, (channels) => names.every((n) => channels[n] === 'ready'), {
        timeoutMs: ms,
        intervalMs: 50,
        fail: async (channels) =>
          new Error(
            `channels ${names.join(', ')} not all ready within ${ms} ms: ` +
              `${JSON.stringify(channels)}\n${await view.describe()}`,
          ),
      }),
    sample: () => page.evaluate(() => (globalThis as unknown as WithState).wsgate!.sample()),
    async pixels() {
      const p = await page.evaluate(() => (globalThis as unknown as WithState).wsgate!.pixels());
      return { width: p.width, height: p.height, rgb: Buffer.from(p.rgb, 'base64') };
    },
    waitForPixels: (pred, what, ms = 15_000) =>
      pollUntil(view.pixels, async (s) => s.width > 0 && (await pred(s)), {
        timeoutMs: ms,
        intervalMs: 100,
        fail: async () =>
          new Error(
            `canvas never showed ${what} within ${ms} ms: ${JSON.stringify(await view.sample())}\n` +
              (await view.describe()),
          ),
      }),
    press: (key) => page.locator('#spice-screen > canvas').press(key, { timeout: 5000 }),
    disconnect: () =>
      page.evaluate(() => (globalThis as unknown as WithState).wsgate!.disconnect()),
    describe: () =>
      watch.describe(
        () =>
          page.evaluate(() => {
            const w = (globalThis as unknown as WithState).wsgate!;
            return {
              status: w.status,
              errors: w.errors,
              channels: w.channels(),
              sockets: w.sockets,
            };
          }),
        60,
      ),
  };
  return view;
}
