/**
 * A SPICE console end to end: spice-html5 (@spice-project/spice-html5's ES modules) in
 * Debian's headless Chromium, served from a page on http://127.0.0.1:<port>, connects
 * through the `wsgate` CLI (a subprocess, token file, origin allow-list) to QEMU's SPICE
 * server (TCG, no KVM) running a tiny boot sector (test/helpers/qemu-spice.ts).
 *
 * SPICE opens one WebSocket per channel (main, then display, inputs, cursor), all with
 * the same URL and token; each is its own session in the proxy.
 *
 * What proves the remote screen was drawn: the canvas is compared pixel for pixel with
 * QEMU's own copy of the guest screen (QMP `screendump`), and checked on its own to be
 * VGA text mode (720×400) with the boot message's light-grey glyphs on black, where the
 * message was printed (top-left, one 16-pixel text row). Then keys typed into the canvas
 * travel back through the proxy (inputs channel) to the guest, which repaints its screen
 * in the colour the key names; the canvas follows (display channel), and QEMU's screen
 * shows that the guest received the key.
 *
 * Screenshots go to $WSGATE_E2E_ARTIFACTS (default: <tmpdir>/wsgate-e2e).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test, type TestContext } from 'node:test';
import { launchBrowser, type TestBrowser } from '../helpers/browser.js';
import { portOf, type Daemon } from '../helpers/cli.js';
import {
  SETUP,
  TEST,
  afterWindow,
  assertRefusalLogged,
  mintSingleUse,
  rethrowFirst,
  screenshot,
  settleAll,
  since,
  spawnProxyProcess,
  stopDaemon,
  valueOf,
  withPage,
  writeTicketKeys,
} from '../helpers/e2e.js';
import { metricValue, openClient } from '../helpers/proxy.js';
import {
  BOOT_MESSAGE,
  VGA,
  countColour,
  histogram,
  startSpiceVm,
  type Screen,
  type SpiceVm,
} from '../helpers/qemu-spice.js';
import {
  openSpice,
  startSpiceSite,
  type SpiceSite,
  type SpiceView,
} from '../helpers/spice-page.js';
import { issue } from '../helpers/tls.js';
import { sleep } from '../helpers/wait.js';
import { assertNoLeaks } from '../helpers/leak-scan.js';

/** The channels QEMU offers for this machine (no sound card, no USB redirection). */
const CHANNELS = ['main', 'display', 'inputs', 'cursor'];
/** VGA text mode 3 as QEMU renders it: 80×25 cells of 9×16 pixels. */
const TEXT_MODE = { width: 720, height: 400, cellWidth: 9, cellHeight: 16 };

let dir: string;
let vm: SpiceVm | undefined;
let site: SpiceSite | undefined;
let browser: TestBrowser | undefined;
let proxy: Daemon | undefined;
let proxyPort = 0;
let metricsPort = 0;
let tokenFile: string;

/**
 * Runs a test body with spice-html5 in a fresh page of `b` (see withPage); disconnects it
 * however the body ends.
 */
function withSpice(
  t: TestContext,
  b: TestBrowser,
  body: (view: SpiceView) => Promise<void>,
): Promise<void> {
  return withPage(t, b, (page) => openSpice(page, site!), body, {
    screenshotPrefix: 'failed-spice-',
    release: (view) => view.disconnect(),
  });
}

const metric = (name: string, labels = '') =>
  metricValue(`http://127.0.0.1:${metricsPort}/metrics`, name, labels).then((v) => v ?? 0);

/** Pixels where two screens differ (all of them when the sizes differ). */
function differing(a: Screen, b: Screen): number {
  if (a.width !== b.width || a.height !== b.height) return Math.max(a.rgb.length, b.rgb.length);
  let n = 0;
  for (let i = 0; i < a.rgb.length; i += 3)
    if (a.rgb[i] !== b.rgb[i] || a.rgb[i + 1] !== b.rgb[i + 1] || a.rgb[i + 2] !== b.rgb[i + 2])
      n++;
  return n;
}

/** Bounding box of the pixels of `colour`. */
function boundsOf(s: Screen, colour: readonly [number, number, number]) {
  let [left, top, right, bottom] = [s.width, s.height, -1, -1];
  for (let y = 0; y < s.height; y++)
    for (let x = 0; x < s.width; x++) {
      const i = (y * s.width + x) * 3;
      if (s.rgb[i] === colour[0] && s.rgb[i + 1] === colour[1] && s.rgb[i + 2] === colour[2]) {
        left = Math.min(left, x);
        right = Math.max(right, x);
        top = Math.min(top, y);
        bottom = Math.max(bottom, y);
      }
    }
  return { left, top, right, bottom };
}

/**
 * The boot screen, checked without QEMU's help: VGA text mode, black with light-grey
 * glyph pixels and nothing else, the glyphs inside the cells the message was printed in.
 */
function assertBootScreen(s: Screen, what: string): void {
  assert.deepEqual([s.width, s.height], [TEXT_MODE.width, TEXT_MODE.height], what);
  const pixels = s.width * s.height;
  const grey = countColour(s, VGA.lightGrey);
  const black = countColour(s, VGA.black);
  const colours = JSON.stringify(histogram(s));
  assert.equal(grey + black, pixels, `${what}: only black and light grey, got ${colours}`);
  // Each of the message's 14 visible characters lights some 20-40 of its cell's 144 pixels.
  assert.ok(grey > 200 && grey < 1000, `${what}: ${grey} glyph pixels, ${colours}`);
  const box = boundsOf(s, VGA.lightGrey);
  assert.ok(
    box.left >= 0 &&
      box.top >= 0 &&
      box.right < BOOT_MESSAGE.length * TEXT_MODE.cellWidth &&
      box.bottom < TEXT_MODE.cellHeight,
    `${what}: glyphs outside the message's cells: ${JSON.stringify(box)}`,
  );
}

/** Is the message's last character on the screen (so the whole line is printed)? */
function messagePrinted(s: Screen): boolean {
  const x0 = (BOOT_MESSAGE.length - 1) * TEXT_MODE.cellWidth;
  for (let y = 0; y < Math.min(TEXT_MODE.cellHeight, s.height); y++)
    for (let x = x0; x < Math.min(x0 + TEXT_MODE.cellWidth, s.width); x++) {
      const i = (y * s.width + x) * 3;
      if (s.rgb.subarray(i, i + 3).equals(Buffer.from(VGA.lightGrey))) return true;
    }
  return false;
}

/** Resolves with the canvas once it equals QEMU's current screen exactly. */
async function canvasMatchesQemu(view: SpiceView, what: string): Promise<Screen> {
  let last = 'no comparison yet';
  try {
    return await view.waitForPixels(async (canvas) => {
      const reference = await vm!.screendump();
      const diff = differing(canvas, reference);
      last = `${diff} pixels differ from QEMU's ${reference.width}x${reference.height} screen`;
      return diff === 0;
    }, what);
  } catch (e) {
    throw new Error(`${last}; ${(e as Error).message}`, { cause: e });
  }
}

/** Types `key`; the guest paints its screen `colour`; the canvas follows. */
async function keyRepaints(
  t: TestContext,
  view: SpiceView,
  key: string,
  colour: readonly [number, number, number],
): Promise<void> {
  const start = performance.now();
  await view.press(key);
  const pixels = TEXT_MODE.width * TEXT_MODE.height;
  const canvas = await view.waitForPixels(
    (s) => countColour(s, colour) === pixels,
    `the guest's answer to key ${key}: all ${JSON.stringify(colour)}`,
  );
  t.diagnostic(`key ${key}: canvas repainted in ${since(start)}`);
  // The guest itself got the key: QEMU's own screen shows the same.
  assert.equal(differing(canvas, await vm!.screendump()), 0);
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'wsgate-e2e-spice-'));
  const start = performance.now();
  // Started in parallel: each is bounded by its own timeout.
  const [v, s, b] = await Promise.allSettled([startSpiceVm(), startSpiceSite(), launchBrowser()]);
  vm = valueOf(v);
  site = valueOf(s);
  browser = valueOf(b);
  rethrowFirst([v, s, b]);

  tokenFile = join(dir, 'tokens.txt');
  writeFileSync(tokenFile, `# QEMU's SPICE server (pid ${vm!.pid})\nvm1: 127.0.0.1:${vm!.port}\n`);
  proxy = spawnProxyProcess({ tokenFile, allowOrigin: site!.origin, metricsListen: '127.0.0.1:0' });
  const [listening, metrics] = await Promise.all([
    proxy.waitFor((l) => l.msg === 'proxy listening'),
    proxy.waitFor((l) => l.msg === 'metrics listening'),
  ]);
  proxyPort = portOf(listening);
  metricsPort = portOf(metrics);
  // The guest has booted and printed its whole message (QEMU's view, before any client).
  await vm!.waitForScreen(messagePrinted, 'the whole boot message');
  process.stdout.write(`# spice e2e setup (QEMU, Chromium, wsgate) took ${since(start)}\n`);
}, SETUP);

after(async () => {
  await settleAll(
    () => browser?.close(),
    () => stopDaemon(proxy),
    () => vm?.stop(),
    () => site?.close(),
  );
  rmSync(dir, { recursive: true, force: true });
}, SETUP);

describe('spice-html5 in Chromium through the wsgate CLI to QEMU', () => {
  test(
    'draws the guest screen as QEMU has it; keys reach the guest, frames come back',
    TEST,
    async (t) => {
      assertBootScreen(await vm!.screendump(), "QEMU's screen before connecting");
      const ok = await metric('wsgate_connections_total', 'result="ok"');
      const logged = (msg: string) => proxy!.logs.filter((l) => l.msg === msg);
      const [openedBefore, closedBefore] = [
        logged('connection opened'),
        logged('connection closed'),
      ];
      await withSpice(t, browser!, async (view) => {
        const url = `ws://127.0.0.1:${proxyPort}/?token=vm1`;
        let start = performance.now();
        await view.connect(url);
        await view.waitForStatus('connected');
        const channels = await view.waitForChannels(CHANNELS);
        t.diagnostic(`channels ready in ${since(start)}: ${JSON.stringify(channels)}`);

        start = performance.now();
        const canvas = await canvasMatchesQemu(view, 'the boot screen');
        t.diagnostic(`canvas equal to QEMU's screen in ${since(start)}`);
        assertBootScreen(canvas, 'canvas');
        await screenshot(view.page, 'spice-boot-screen', t);

        // One WebSocket per channel, all through the proxy with the one URL and token.
        const sockets = await view.sockets();
        assert.equal(sockets.length, CHANNELS.length, JSON.stringify(sockets));
        for (const s of sockets) {
          assert.equal(s.url, url);
          assert.equal(s.protocol, 'binary');
          assert.deepEqual(s.events, ['open']);
        }
        assert.deepEqual(view.socketErrors, []);
        await proxy!.waitForCount(
          (l) => l.msg === 'connection opened',
          openedBefore.length + CHANNELS.length,
        );
        const opened = logged('connection opened').slice(openedBefore.length);
        assert.equal(opened.length, CHANNELS.length, JSON.stringify(opened));
        for (const o of opened) {
          assert.equal(o.target, `127.0.0.1:${vm!.port}`, JSON.stringify(o));
          assert.equal(o.protocol, 'binary');
        }
        assert.equal(await metric('wsgate_connections_active'), CHANNELS.length);

        // Input → guest → display, twice: the canvas follows live frames.
        await keyRepaints(t, view, '1', VGA.blue);
        await keyRepaints(t, view, '4', VGA.red);
        await screenshot(view.page, 'spice-red', t);

        await view.disconnect();
        const closed = () => logged('connection closed').length - closedBefore.length;
        const deadline = Date.now() + 10_000;
        while (closed() < CHANNELS.length && Date.now() < deadline) await sleep(50);
        assert.equal(closed(), CHANNELS.length, 'every channel session closed');
      });
      assert.equal(await metric('wsgate_connections_total', 'result="ok"'), ok + CHANNELS.length);
      assert.equal(await metric('wsgate_connections_active'), 0);
      assert.ok((await metric('wsgate_bytes_total', 'direction="target_to_client"')) > 10_000);
      assert.ok((await metric('wsgate_bytes_total', 'direction="client_to_target"')) > 0);
    },
  );

  test(
    'a wrong token is refused: 401 (PROXY_ERR_UNKNOWN_TOKEN), no channel opens, counted unauthorized',
    TEST,
    async (t) => {
      const unauthorized = await metric('wsgate_connections_total', 'result="unauthorized"');
      const ok = await metric('wsgate_connections_total', 'result="ok"');
      await withSpice(t, browser!, async (view) => {
        const url = `ws://127.0.0.1:${proxyPort}/?token=nope`;
        await view.connect(url);
        await view.waitForStatus('error');
        // spice-html5's main channel failed before the SPICE link; no other channel opened.
        const sockets = await view.sockets();
        assert.equal(sockets.length, 1, JSON.stringify(sockets));
        assert.deepEqual(sockets[0]?.events, ['error', 'close 1006']);
        const errors = await view.errors();
        assert.ok(errors.includes('Connection refused.'), JSON.stringify(errors));
        assert.equal((await view.sample()).width, 0, 'no surface was created');
        // Chromium words a 401 to a WebSocket as an authentication failure.
        assert.match(view.socketErrors.join('\n'), /\b401\b|HTTP Authentication failed/);
        await assertRefusalLogged(proxy!, 'PROXY_ERR_UNKNOWN_TOKEN', 401);
      });
      assert.equal(
        await metric('wsgate_connections_total', 'result="unauthorized"'),
        unauthorized + 1,
      );
      assert.equal(await metric('wsgate_connections_total', 'result="ok"'), ok);

      // Chromium keeps a refused handshake's headers from the page and from DevTools, so
      // the same handshake (URL, Origin, subprotocol) is replayed from Node to read them.
      const refusal = await openClient(`ws://127.0.0.1:${proxyPort}/?token=nope`, 'binary', {
        origin: site!.origin,
      }).then(
        (ws) => {
          ws.terminate();
          throw new Error('the wrong token was accepted');
        },
        (e: { status?: number; headers?: Record<string, string> }) => e,
      );
      assert.equal(refusal.status, 401);
      assert.equal(refusal.headers?.['x-wsgate-error'], 'PROXY_ERR_UNKNOWN_TOKEN');
      assert.equal(
        await metric('wsgate_connections_total', 'result="unauthorized"'),
        unauthorized + 2,
      );
    },
  );
});

describe('--max-sessions-per-target 1 --target-limit-policy replace with SPICE', () => {
  let limited: Daemon | undefined;
  let limitedPort = 0;

  before(async () => {
    const tokens = join(dir, 'limit-tokens.txt');
    // Two tickets for the one VM: two consoles.
    writeFileSync(tokens, `first: 127.0.0.1:${vm!.port}\nsecond: 127.0.0.1:${vm!.port}\n`);
    limited = spawnProxyProcess({
      tokenFile: tokens,
      allowOrigin: site!.origin,
      args: ['--max-sessions-per-target', '1', '--target-limit-policy', 'replace'],
    });
    limitedPort = portOf(await limited.waitFor((l) => l.msg === 'proxy listening'));
  }, SETUP);

  after(() => stopDaemon(limited), SETUP);

  test(
    "a console's four channels count once; a second console replaces all four with 4001",
    TEST,
    async (t) => {
      const logged = (msg: string) => limited!.logs.filter((l) => l.msg === msg);
      await withSpice(t, browser!, async (first) => {
        await first.connect(`ws://127.0.0.1:${limitedPort}/?token=first`);
        await first.waitForChannels(CHANNELS);
        await canvasMatchesQemu(first, 'the first console');
        await limited!.waitForCount((l) => l.msg === 'connection opened', CHANNELS.length);
        const firstIds = logged('connection opened').map((l) => l.conn);
        assert.equal(firstIds.length, CHANNELS.length, 'every channel of one console passed');
        assert.equal(logged('connection closed').length, 0);

        await withSpice(t, browser!, async (second) => {
          await second.connect(`ws://127.0.0.1:${limitedPort}/?token=second`);
          await second.waitForChannels(CHANNELS);
          await canvasMatchesQemu(second, 'the second console');
          const deadline = Date.now() + 10_000;
          while (logged('connection closed').length < CHANNELS.length && Date.now() < deadline)
            await sleep(50);
          const ended = logged('connection closed');
          assert.deepEqual(
            ended.map((l) => l.conn).sort(),
            [...firstIds].sort(),
            'exactly the first console closed',
          );
          for (const l of ended) {
            assert.equal(l.closeCode, 4001, JSON.stringify(l));
            assert.equal(l.closedBy, 'proxy');
          }
          // The first page's sockets saw the proxy's close code.
          const sockets = await first.sockets();
          assert.equal(sockets.length, CHANNELS.length);
          for (const s of sockets) assert.ok(s.events.includes('close 4001'), JSON.stringify(s));
          await keyRepaints(t, second, '2', VGA.green);
        });
      });
    },
  );
});

describe('spice-html5 over wss:// (a certificate from a private CA)', () => {
  const NAME = 'wsgate.e2e.test';
  let tls: Daemon | undefined;
  let tlsPort = 0;
  let trusting: TestBrowser | undefined;

  before(async () => {
    const ca = issue({ cn: 'wsgate spice e2e test CA', ca: true, days: 2 });
    const leaf = issue({ cn: NAME, issuer: ca, dns: [NAME], ips: ['127.0.0.1'], days: 1 });
    writeFileSync(join(dir, 'tls.crt'), leaf.cert);
    writeFileSync(join(dir, 'tls.key'), leaf.key);
    tls = spawnProxyProcess({
      tokenFile,
      allowOrigin: site!.origin,
      tls: { cert: join(dir, 'tls.crt'), key: join(dir, 'tls.key') },
    });
    const [port, b] = await Promise.allSettled([
      tls.waitFor((l) => l.msg === 'proxy listening').then(portOf),
      launchBrowser({ trustCa: ca.cert, hostMap: { [NAME]: '127.0.0.1' } }),
    ]);
    trusting = valueOf(b);
    rethrowFirst([port, b]);
    tlsPort = valueOf(port)!;
  }, SETUP);

  after(async () => {
    await settleAll(
      () => trusting?.close(),
      () => stopDaemon(tls),
    );
  }, SETUP);

  test('every channel connects over TLS; the canvas shows the guest and follows it', TEST, (t) =>
    withSpice(t, trusting!, async (view) => {
      const url = `wss://${NAME}:${tlsPort}/?token=vm1`;
      const start = performance.now();
      await view.connect(url);
      await view.waitForStatus('connected');
      await view.waitForChannels(CHANNELS);
      await canvasMatchesQemu(view, "the guest's screen");
      t.diagnostic(`wss:// connected and drew in ${since(start)}`);
      const sockets = await view.sockets();
      assert.deepEqual(
        sockets.map((s) => [s.url, s.protocol]),
        CHANNELS.map(() => [url, 'binary']),
      );
      await keyRepaints(t, view, '2', VGA.green);
      assert.deepEqual(view.socketErrors, []);
    }),
  );
});

describe('spice-html5 with a single-use ticket (--jwt-single-use, minted by `wsgate token`)', () => {
  /** The proxy's default --jwt-single-use-window. */
  const WINDOW_MS = 5000;
  let single: Daemon | undefined;
  let singlePort = 0;
  let singleMetrics = 0;
  let keys: { priv: string; pub: string };

  before(async () => {
    keys = writeTicketKeys(dir);
    single = spawnProxyProcess({
      allowOrigin: site!.origin,
      metricsListen: '127.0.0.1:0',
      args: ['--jwt-key', keys.pub, '--jwt-single-use', '--allow-target', '127.0.0.1/32'],
    });
    const [listening, metrics] = await Promise.all([
      single.waitFor((l) => l.msg === 'proxy listening'),
      single.waitFor((l) => l.msg === 'metrics listening'),
    ]);
    singlePort = portOf(listening);
    singleMetrics = portOf(metrics);
  }, SETUP);

  after(() => stopDaemon(single), SETUP);

  const count = (labels: string) =>
    metricValue(
      `http://127.0.0.1:${singleMetrics}/metrics`,
      'wsgate_connections_total',
      labels,
    ).then((v) => v ?? 0);

  test(
    'one console: all four channels open with the one ticket; replaying its URL in another browser context after the window is refused (401, PROXY_ERR_TOKEN_REPLAYED)',
    TEST,
    async (t) => {
      const ticket = await mintSingleUse(keys.priv, `127.0.0.1:${vm!.port}`);
      const url = `ws://127.0.0.1:${singlePort}/?token=${ticket}`;
      const opened = () => single!.logs.filter((l) => l.msg === 'connection opened');
      await withSpice(t, browser!, async (view) => {
        const start = performance.now();
        await view.connect(url);
        await view.waitForStatus('connected');
        const channels = await view.waitForChannels(CHANNELS);
        t.diagnostic(`channels ready in ${since(start)}: ${JSON.stringify(channels)}`);
        await canvasMatchesQemu(view, 'the guest screen through a single-use ticket');
        const sockets = await view.sockets();
        assert.equal(sockets.length, CHANNELS.length, JSON.stringify(sockets));
        for (const s of sockets) assert.deepEqual(s.events, ['open']);
        assert.deepEqual(view.socketErrors, []);
        // Every channel is a session of the one ticket (logged by its hash only).
        assert.equal(opened().length, CHANNELS.length);
        assert.equal(new Set(opened().map((l) => l.token)).size, 1);
        assertNoLeaks(single!.logs, [ticket]); // the ticket is never logged, in any form
        t.diagnostic(
          `channels opened ${Number(opened().at(-1)!.time) - Number(opened()[0]!.time)} ms after the first`,
        );
        assert.equal(await count('result="ok"'), CHANNELS.length);

        // While this console stays open, the same URL in another browser context, once
        // the window has passed, is refused on its main channel.
        await afterWindow(opened()[0]!, WINDOW_MS);
        await withSpice(t, browser!, async (replay) => {
          await replay.connect(url);
          await replay.waitForStatus('error');
          const replayed = await replay.sockets();
          assert.equal(replayed.length, 1, JSON.stringify(replayed));
          assert.deepEqual(replayed[0]?.events, ['error', 'close 1006']);
          assert.match(replay.socketErrors.join('\n'), /\b401\b|HTTP Authentication failed/);
          await assertRefusalLogged(single!, 'PROXY_ERR_TOKEN_REPLAYED', 401);
        });
        assert.equal(await count('result="unauthorized"'), 1);
        assert.equal(await count('result="ok"'), CHANNELS.length);
        const refused = single!.logs.find((l) => l.code === 'PROXY_ERR_TOKEN_REPLAYED')!;
        assert.equal(refused.token, opened()[0]!.token, 'logged with the ticket hash');

        // The first console is unaffected: keys still reach the guest and frames come back.
        await keyRepaints(t, view, '1', VGA.blue);
      });
    },
  );
});
