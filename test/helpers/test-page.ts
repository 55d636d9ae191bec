/**
 * What the browser tests' console pages (novnc-page.ts, spice-page.ts) have in common,
 * kept in one place so both pages record and report the same way:
 *
 *  - `PAGE_FUNCTIONS`, script text each page embeds in its module: the WebSocket
 *    recorder and the canvas readers;
 *  - `SocketRecord`, what the recorder keeps of each WebSocket;
 *  - `watchPage()`, what Chromium reports about the page (handshake errors, console) and
 *    a failure report from it; `loadTestPage()`, opening the page until its script ran.
 */
import type { Page, WebSocket as PwWebSocket } from 'playwright-core';

/**
 * Functions for a test page's module script (embed the text; the page has no bundler):
 *  - `recordWebSockets(sockets, t0)` replaces `window.WebSocket` with a recorder that
 *    pushes a `SocketRecord` for every WebSocket the page opens to `sockets`;
 *  - `canvasImage(canvas)`: `{ width, height, data }` (RGBA) of a canvas, null while it
 *    has no size;
 *  - `colourCounts(data)`: RGBA data → Map of `0xrrggbb` → pixel count (first seen first);
 *  - `hexColour(key)`: `0xrrggbb` → `'#rrggbb'`.
 */
export const PAGE_FUNCTIONS = `
// Record what each WebSocket the page opens goes through. A wrapper function returning
// the native socket, not a subclass: noVNC checks the socket's prototype for the native
// methods, and spice-html5 gets a real WebSocket.
function recordWebSockets(sockets, t0) {
  const NativeWebSocket = window.WebSocket;
  function RecordingWebSocket(url, protocols) {
    const ws = new NativeWebSocket(url, protocols);
    const rec = { url: String(url), protocol: null, events: [], t: Math.round(performance.now() - t0) };
    sockets.push(rec);
    ws.addEventListener('open', () => { rec.protocol = ws.protocol; rec.events.push('open'); });
    ws.addEventListener('error', () => rec.events.push('error'));
    ws.addEventListener('close', (e) => rec.events.push('close ' + e.code));
    return ws;
  }
  RecordingWebSocket.prototype = NativeWebSocket.prototype;
  for (const k of ['CONNECTING', 'OPEN', 'CLOSING', 'CLOSED']) RecordingWebSocket[k] = NativeWebSocket[k];
  window.WebSocket = RecordingWebSocket;
}

function canvasImage(canvas) {
  if (!canvas || !canvas.width || !canvas.height) return null;
  const { width, height } = canvas;
  return { width, height, data: canvas.getContext('2d').getImageData(0, 0, width, height).data };
}

function colourCounts(data) {
  const counts = new Map();
  for (let i = 0; i < data.length; i += 4) {
    const key = (data[i] << 16) | (data[i + 1] << 8) | data[i + 2];
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

function hexColour(key) {
  return '#' + key.toString(16).padStart(6, '0');
}
`;

/** A WebSocket the page opened, as `recordWebSockets` saw it. */
export interface SocketRecord {
  url: string;
  /** The subprotocol the server chose (null until open). */
  protocol: string | null;
  /** 'open', 'error', 'close <code>' (a refused handshake shows 'error', 'close 1006'). */
  events: string[];
  /** When it was created, in ms since the page's script started. */
  t: number;
}

export interface PageWatch {
  /**
   * Handshake errors Chromium reported for the page's WebSockets, with the HTTP status.
   * A 401 is worded "HTTP Authentication failed; no valid credentials available"; its
   * headers (such as X-Wsgate-Error) reach neither the page nor the DevTools protocol
   * (which reports only `Network.webSocketFrameError` with that text).
   */
  socketErrors: string[];
  /** The page's console messages (the first `consoleLimit`) and uncaught errors. */
  consoleLines: string[];
  /** For a failure message: the page's state (as `readState` finds it), the socket errors
   * and the last `tail` console lines. */
  describe(readState: () => Promise<unknown>, tail: number): Promise<string>;
}

/** Starts collecting what Chromium reports about `page`; call before loading it. */
export function watchPage(page: Page, consoleLimit: number): PageWatch {
  const socketErrors: string[] = [];
  const consoleLines: string[] = [];
  page.on('websocket', (ws: PwWebSocket) => {
    ws.on('socketerror', (err) => socketErrors.push(`${ws.url()}: ${err}`));
  });
  page.on('console', (m) => {
    if (consoleLines.length < consoleLimit) consoleLines.push(`${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => consoleLines.push(`pageerror: ${e.message}`));
  return {
    socketErrors,
    consoleLines,
    async describe(readState, tail) {
      const state = await readState().catch((e: Error) => ({ error: e.message }));
      return [
        `page state: ${JSON.stringify(state)}`,
        `socket errors: ${JSON.stringify(socketErrors)}`,
        `console:\n  ${consoleLines.slice(-tail).join('\n  ')}`,
      ].join('\n');
    },
  };
}

/** Loads `url` in `page` and waits until its script has set `window.wsgate.ready` (bounded). */
export async function loadTestPage(page: Page, url: string, timeoutMs: number): Promise<void> {
  await page.goto(url, { timeout: timeoutMs });
  await page.waitForFunction(
    () => (globalThis as unknown as { wsgate?: { ready?: boolean } }).wsgate?.ready === true,
    undefined,
    { timeout: timeoutMs },
  );
}
