/**
 * Session recording end to end: noVNC in headless Chromium drives a real session
 * through the `wsgate proxy` CLI (with --record-dir) to x11vnc on Xvfb: the display is
 * painted with patterns and keys are typed. Then `wsgate play` (the CLI) serves that
 * recording and the same Chromium replays it in noVNC: the replayed canvas must equal
 * the live canvas pixel for pixel, at real time (lasting as long as the live session,
 * within a tolerance) and at full speed.
 *
 * Screenshots go to $WSGATE_E2E_ARTIFACTS (default: <tmpdir>/wsgate-e2e).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { parseRecording, type ParsedRecording } from '../../proxy/src/recording/format.js';
import { launchBrowser, type TestBrowser } from '../helpers/browser.js';
import { portOf, startWsgate, type Daemon } from '../helpers/cli.js';
import {
  SETUP,
  TEST,
  rethrowFirst,
  screenshot,
  settleAll,
  spawnProxyProcess,
  since,
  stopDaemon,
  valueOf,
  withPage,
} from '../helpers/e2e.js';
import { openNoVnc, startNoVncSite, type NoVncSite } from '../helpers/novnc-page.js';
import { pollUntil } from '../helpers/poll.js';
import { sleep } from '../helpers/wait.js';
import { startVncServer, type VncServer } from '../helpers/vnc.js';

let dir: string;
let recordDir: string;
let vnc: VncServer | undefined;
let site: NoVncSite | undefined;
let browser: TestBrowser | undefined;
let proxy: Daemon | undefined;
let proxyPort = 0;

/** Where the live session left things, for the replay tests. */
let live:
  | {
      image: CanvasPixels;
      ms: number;
      file: string;
      rec: ParsedRecording;
      /** When each pattern showed on the live canvas, ms after the connect call. */
      shown: Record<string, number>;
    }
  | undefined;

/** The patterns' foreground colours, as painted in order. */
const PATTERNS = { first: '#1040c0', second: '#20a040', third: '#c02020' } as const;

/**
 * Runs in the play page before its scripts: every 20 ms, notes when each pattern first
 * covers a fifth of the canvas, in ms after the replay started (`wsgatePlay.runStart`).
 */
const WATCH_PATTERNS = `
(() => {
  const colours = ${JSON.stringify(
    Object.fromEntries(
      Object.entries(PATTERNS).map(([k, v]) => [
        k,
        [1, 3, 5].map((i) => parseInt(v.slice(i, i + 2), 16)),
      ]),
    ),
  )};
  const shown = {};
  window.wsgateShown = shown;
  setInterval(() => {
    const p = window.wsgatePlay;
    const canvas = document.querySelector('#screen canvas');
    if (!p || p.runStart === null || !canvas || !canvas.width) return;
    const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    for (const [name, [r, g, b]] of Object.entries(colours)) {
      if (shown[name] !== undefined) continue;
      let n = 0;
      for (let i = 0; i < data.length; i += 4)
        if (Math.abs(data[i] - r) <= 8 && Math.abs(data[i + 1] - g) <= 8 && Math.abs(data[i + 2] - b) <= 8) n++;
      if (n * 4 >= data.length / 5) shown[name] = performance.now() - p.runStart;
    }
  }, 20);
})();
`;

interface CanvasPixels {
  width: number;
  height: number;
  /** RGBA, base64. */
  rgba: string;
}

/** The pixels of the page's noVNC canvas (`#screen canvas`). */
function canvasPixels(page: Page): Promise<CanvasPixels | null> {
  return page.evaluate(() => {
    // The page's DOM (this function runs in the browser; Node's types have no DOM).
    type Canvas = {
      width: number;
      height: number;
      getContext(kind: '2d'): {
        getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray };
      };
    };
    const doc = (globalThis as unknown as { document: { querySelector(q: string): unknown } })
      .document;
    const canvas = doc.querySelector('#screen canvas') as Canvas | null;
    if (!canvas || !canvas.width) return null;
    const { width, height } = canvas;
    const data = canvas.getContext('2d')!.getImageData(0, 0, width, height).data;
    let bin = '';
    for (let i = 0; i < data.length; i += 0x8000) {
      bin += String.fromCharCode(...data.subarray(i, i + 0x8000));
    }
    return { width, height, rgba: btoa(bin) };
  });
}

/** Pixels that differ between two canvases (for a useful failure message). */
function differingPixels(a: CanvasPixels, b: CanvasPixels): number {
  const x = Buffer.from(a.rgba, 'base64');
  const y = Buffer.from(b.rgba, 'base64');
  let n = 0;
  for (let i = 0; i < Math.min(x.length, y.length); i += 4) {
    if (x.readUInt32BE(i) !== y.readUInt32BE(i)) n++;
  }
  return n + Math.abs(x.length - y.length) / 4;
}

/** Tiles the X root window with a bitmap (a pseudo-random 16x16 pattern) in two colours. */
function paintPattern(display: number, seed: number, fg: string, bg: string): Promise<void> {
  const bytes: string[] = [];
  let x = seed;
  for (let i = 0; i < 32; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    bytes.push('0x' + ((x >> 16) & 0xff).toString(16).padStart(2, '0'));
  }
  const xbm = join(dir, `pattern-${seed}.xbm`);
  writeFileSync(
    xbm,
    `#define p_width 16\n#define p_height 16\nstatic unsigned char p_bits[] = {\n${bytes.join(', ')}};\n`,
  );
  return new Promise((resolve, reject) =>
    execFile(
      'xsetroot',
      ['-display', `:${display}`, '-bitmap', xbm, '-fg', fg, '-bg', bg],
      { timeout: 5000 },
      (err, _o, stderr) =>
        err ? reject(new Error(`xsetroot: ${err.message} ${stderr}`)) : resolve(),
    ),
  );
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'wsgate-e2e-rec-'));
  recordDir = join(dir, 'recordings');
  const [v, s, b] = await Promise.allSettled([
    startVncServer({ width: 320, height: 240, colour: '#ff0000' }),
    startNoVncSite(),
    launchBrowser(),
  ]);
  vnc = valueOf(v);
  site = valueOf(s);
  browser = valueOf(b);
  rethrowFirst([v, s, b]);
  const tokenFile = join(dir, 'tokens.txt');
  writeFileSync(tokenFile, `vm1: 127.0.0.1:${vnc!.port}\n`);
  proxy = spawnProxyProcess({
    allowOrigin: site!.origin,
    tokenFile,
    args: ['--record-dir', recordDir],
  });
  proxyPort = portOf(await proxy.waitFor((l) => l.msg === 'proxy listening'));
}, SETUP);

after(async () => {
  await settleAll(
    () => browser?.close(),
    () => stopDaemon(proxy),
    () => vnc?.stop(),
    () => site?.close(),
  );
  rmSync(dir, { recursive: true, force: true });
}, SETUP);

/** `wsgate play FILE` on a free port; resolves with the daemon and its page URL. */
async function startPlay(file: string): Promise<{ play: Daemon; url: string }> {
  const play = startWsgate(['play', '--listen', '127.0.0.1:0', file]);
  const line = await play.waitFor((l) => l.msg === 'play listening');
  assert.equal(portOf(line) > 0, true);
  return { play, url: line.url as string };
}

interface PlayState {
  state: string;
  position: number;
  duration: number;
  delivered: number;
  frames: number;
  elapsedMs: number | null;
}

/** Opens the play page with `query`, waits until the replay finished (bounded). */
async function replay(
  page: Page,
  url: string,
  query: string,
  timeoutMs: number,
): Promise<PlayState> {
  await page.goto(url + query, { timeout: 15_000 });
  const read = () =>
    page.evaluate(() => {
      const p = (globalThis as unknown as { wsgatePlay?: PlayState }).wsgatePlay;
      return p
        ? {
            state: p.state,
            position: p.position,
            duration: p.duration,
            delivered: p.delivered,
            frames: p.frames,
            elapsedMs: p.elapsedMs,
          }
        : null;
    });
  return (await pollUntil(read, (s) => s?.state === 'finished', {
    timeoutMs,
    intervalMs: 100,
    fail: (s) => new Error(`replay did not finish: ${JSON.stringify(s)}`),
  }))!;
}

describe('recording a noVNC session and replaying it with wsgate play', () => {
  test('the live session is recorded: screen frames, typed keys, header', TEST, async (t) => {
    await withPage(
      t,
      browser!,
      (page) => openNoVnc(page, site!),
      async (view) => {
        const start = performance.now();
        await view.connect(`ws://127.0.0.1:${proxyPort}/?token=vm1`);
        await view.waitForStatus('connected');
        await view.waitForColour('#ff0000');
        // Keys typed into the console (noVNC sends them once its canvas has focus).
        await view.page.click('#screen canvas');
        await view.page.keyboard.type('wsgate');
        // Patterns, so that a frame lost or decoded differently shows in the pixels.
        await paintPattern(vnc!.display, 1, PATTERNS.first, '#f0e020');
        const shown: Record<string, number> = {};
        await view.waitForColour(PATTERNS.first, { share: 0.2 });
        shown.first = performance.now() - start;
        await sleep(400); // spread the session over time, for the replay's timing
        await paintPattern(vnc!.display, 2, PATTERNS.second, '#101010');
        await view.waitForColour(PATTERNS.second, { share: 0.2 });
        shown.second = performance.now() - start;
        await sleep(400);
        await paintPattern(vnc!.display, 3, PATTERNS.third, '#e0e0ff');
        const last = await view.waitForColour(PATTERNS.third, { share: 0.2 });
        shown.third = performance.now() - start;
        // The canvas the user saw last: once two readings 300 ms apart agree.
        let image = (await canvasPixels(view.page))!;
        await pollUntil(
          async () => {
            await sleep(300);
            const now = (await canvasPixels(view.page))!;
            const same = now.rgba === image.rgba;
            image = now;
            return same;
          },
          (same) => same,
          { timeoutMs: 10_000, intervalMs: 0, fail: () => new Error('the canvas never settled') },
        );
        assert.equal(image.width, 320);
        await screenshot(view.page, 'recording-live', t);
        await view.disconnect();
        await view.waitForStatus('disconnected');
        const ms = performance.now() - start;
        t.diagnostic(`live session: ${Math.round(ms)} ms, last colour share ${last.matching}`);

        const closedLine = await proxy!.waitFor((l) => l.msg === 'connection closed');
        const file = await pollUntil(
          async () => {
            const names = readdirSync(recordDir);
            if (names.length !== 1) return undefined;
            const path = join(recordDir, names[0]!);
            const rec = parseRecording(readFileSync(path, 'latin1'));
            return rec.complete && rec.header?.durationMs !== undefined ? { path, rec } : undefined;
          },
          (f) => f !== undefined,
          { timeoutMs: 5000, intervalMs: 50, fail: () => new Error('no finished recording') },
        );
        const { rec } = file!;
        const h = rec.header!;
        assert.equal(h.session, closedLine.conn);
        assert.equal(h.protocol, 'vnc');
        assert.equal(h.target, `127.0.0.1:${vnc!.port}`);
        assert.equal(h.bytes!.fromTarget, closedLine.bytesTargetToClient);
        assert.equal(h.bytes!.fromClient, closedLine.bytesClientToTarget);
        // RFB KeyEvent (type 4, down-flag, padding, keysym) for each key typed, in order.
        const input = Buffer.concat(rec.frames.filter((f) => f.fromClient).map((f) => f.data));
        let at = 0;
        for (const key of 'wsgate') {
          const down = Buffer.from([4, 1, 0, 0, 0, 0, 0, key.charCodeAt(0)]);
          const found = input.indexOf(down, at);
          assert.ok(found >= 0, `key "${key}" is in the recording`);
          at = found + down.length;
        }
        live = { image, ms, file: file!.path, rec, shown };
      },
    );
  });

  test(
    'replayed at 1x: the final canvas equals the live one, each pattern shows when it did live, and it lasts as long',
    TEST,
    async (t) => {
      assert.ok(live, 'needs the recorded session');
      const { play, url } = await startPlay(live.file);
      try {
        await withPage(
          t,
          browser!,
          async (page) => page,
          async (page) => {
            const start = performance.now();
            await page.addInitScript(WATCH_PATTERNS);
            const done = await replay(page, url, '?autoplay=1&speed=1', live!.ms + 15_000);
            // Each pattern appears when it did live. The live times start before the
            // WebSocket handshake and carry the test's 100 ms polling (the replay's: 20 ms),
            // so they run a little late: the gaps between patterns, free of that offset,
            // are held closer.
            const shown = await page.evaluate(
              () => (globalThis as unknown as { wsgateShown: Record<string, number> }).wsgateShown,
            );
            t.diagnostic(
              `patterns shown live ${JSON.stringify(live!.shown)}, replayed ${JSON.stringify(shown)}`,
            );
            const gap = (m: Record<string, number>, k: string) => m[k]! - m.first!;
            for (const name of Object.keys(PATTERNS)) {
              assert.ok(
                Math.abs(shown[name]! - live!.shown[name]!) <= 600,
                `${name} pattern at ${Math.round(shown[name]!)} ms in the replay, ${Math.round(live!.shown[name]!)} ms live`,
              );
              assert.ok(
                Math.abs(gap(shown, name) - gap(live!.shown, name)) <= 300,
                `${name} pattern ${Math.round(gap(shown, name))} ms after the first in the replay, ${Math.round(gap(live!.shown, name))} ms live`,
              );
            }
            t.diagnostic(`replay at 1x: ${JSON.stringify(done)} (page ${since(start)})`);
            await screenshot(page, 'recording-replay-1x', t);
            const image = (await canvasPixels(page))!;
            assert.equal(done.delivered, done.frames);
            assert.equal(differingPixels(image, live!.image), 0, 'pixels differ');
            assert.equal(image.rgba, live!.image.rgba);
            // Real time: as long as the live session (which the test measured itself, from
            // the connect call to the disconnect, so a bit longer than the proxy's session).
            const tolerance = 500 + 0.1 * live!.ms;
            assert.ok(
              Math.abs(done.elapsedMs! - live!.ms) <= tolerance,
              `replay took ${Math.round(done.elapsedMs!)} ms, live ${Math.round(live!.ms)} ms (±${tolerance})`,
            );
            assert.ok(
              done.elapsedMs! >= live!.rec.header!.durationMs! - 50,
              'never faster than recorded',
            );
          },
        );
      } finally {
        await stopDaemon(play);
      }
    },
  );

  test(
    'replayed at full speed and after seeking back: the same final canvas, much sooner',
    TEST,
    async (t) => {
      assert.ok(live, 'needs the recorded session');
      const { play, url } = await startPlay(live.file);
      try {
        await withPage(
          t,
          browser!,
          async (page) => page,
          async (page) => {
            const done = await replay(page, url, '?autoplay=1&speed=Infinity', 15_000);
            t.diagnostic(
              `replay at max: ${Math.round(done.elapsedMs!)} ms for ${done.frames} frames`,
            );
            assert.ok(done.elapsedMs! < live!.rec.header!.durationMs! / 2);
            assert.equal((await canvasPixels(page))!.rgba, live!.image.rgba);
            // The timeline: back to the start (noVNC shows the first frames again), then on
            // to the end.
            await page.evaluate(() =>
              (globalThis as unknown as { wsgatePlay: { seek(ms: number): void } }).wsgatePlay.seek(
                0,
              ),
            );
            await pollUntil(
              () =>
                page.evaluate(
                  () => (globalThis as unknown as { wsgatePlay: PlayState }).wsgatePlay.delivered,
                ),
              (n) => n < done.frames,
              {
                timeoutMs: 5000,
                intervalMs: 50,
                fail: (n) => new Error(`seek(0) left ${n} frames delivered`),
              },
            );
            await page.evaluate(() =>
              (globalThis as unknown as { wsgatePlay: { play(s: number): void } }).wsgatePlay.play(
                Infinity,
              ),
            );
            await pollUntil(
              () =>
                page.evaluate(
                  () => (globalThis as unknown as { wsgatePlay: PlayState }).wsgatePlay.state,
                ),
              (s) => s === 'finished',
              { timeoutMs: 10_000, intervalMs: 50, fail: (s) => new Error(`state ${s}`) },
            );
            assert.equal((await canvasPixels(page))!.rgba, live!.image.rgba);
          },
        );
      } finally {
        await stopDaemon(play);
      }
    },
  );
});
