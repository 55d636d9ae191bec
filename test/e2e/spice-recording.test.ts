/**
 * Recording a SPICE console: spice-html5 in headless Chromium through the `wsgate proxy`
 * CLI (with --record-dir) to QEMU's SPICE server. SPICE opens one WebSocket per channel,
 * so each channel (main, display, inputs, cursor) is its own session and file.
 *
 * Each file is checked byte for byte against what went through that channel's WebSocket
 * as the browser saw it (every message received and sent, captured in the page by
 * wrapping WebSocket before spice-html5 loads), and against the proxy's own byte counts.
 * Then the files replay into spice-html5 with neither proxy nor QEMU: spice-html5 opens
 * its own WebSocket per channel, so the page's WebSocket is a stand-in that answers each
 * channel (told apart by its link message) with that channel's recorded frames, at their
 * recorded times; the canvas must show the live session's first full display frame pixel
 * for pixel, then the repaint the typed key caused.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  parseRecording,
  sniffProtocol,
  type ParsedRecording,
} from '../../proxy/src/recording/format.js';
import { launchBrowser, type TestBrowser } from '../helpers/browser.js';
import { portOf, type Daemon } from '../helpers/cli.js';
import {
  SETUP,
  TEST,
  rethrowFirst,
  screenshot,
  settleAll,
  spawnProxyProcess,
  stopDaemon,
  valueOf,
  withPage,
} from '../helpers/e2e.js';
import { pollUntil } from '../helpers/poll.js';
import { sleep } from '../helpers/wait.js';
import {
  VGA,
  countColour,
  startSpiceVm,
  type Screen,
  type SpiceVm,
} from '../helpers/qemu-spice.js';
import { openSpice, startSpiceSite, type SpiceSite } from '../helpers/spice-page.js';

const CHANNELS = ['main', 'display', 'inputs', 'cursor'];

let dir: string;
let recordDir: string;
let vm: SpiceVm | undefined;
let site: SpiceSite | undefined;
let browser: TestBrowser | undefined;
let proxy: Daemon | undefined;
let proxyPort = 0;
/** The channels' recordings, for the replay test. */
let recorded: ParsedRecording[] = [];
/** The live canvas's first full display frame. */
let liveBoot: Screen | undefined;

/**
 * Runs in the replay page before its scripts: WebSocket becomes a stand-in that, once
 * spice-html5 has sent a channel's link message (channel type at byte 20), answers with
 * that channel's recorded target frames at their recorded times (relative to the link
 * message), and drops whatever else spice-html5 sends.
 */
function replaySocket(channels: Record<number, { start: number; frames: [number, string][] }>) {
  return `
(() => {
  const channels = ${JSON.stringify(channels)};
  const b64 = (s) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0)).buffer;
  class ReplaySocket extends EventTarget {
    constructor(url, protocol) {
      super();
      this.url = String(url);
      this.protocol = 'binary';
      this.binaryType = 'blob';
      this.readyState = 0;
      this.bufferedAmount = 0;
      this.onopen = this.onmessage = this.onclose = this.onerror = null;
      this.sent = [];
      this.playing = false;
      setTimeout(() => { this.readyState = 1; this.emit(new Event('open')); }, 0);
    }
    emit(e) { this.dispatchEvent(e); const h = this['on' + e.type]; if (h) h.call(this, e); }
    send(data) {
      if (this.playing) return;
      const u8 = data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
      this.sent.push(...u8);
      if (this.sent.length < 21) return;
      const channel = channels[this.sent[20]];
      this.playing = true;
      if (!channel) return;
      for (const [ms, body] of channel.frames) {
        setTimeout(() => this.emit(new MessageEvent('message', { data: b64(body) })), Math.max(0, ms - channel.start));
      }
    }
    close() { this.readyState = 3; setTimeout(() => this.emit(new CloseEvent('close', { code: 1000 })), 0); }
  }
  for (const [k, v] of Object.entries({ CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3 })) ReplaySocket[k] = v;
  window.WebSocket = ReplaySocket;
})();
`;
}

/**
 * Runs in the page before its scripts: every WebSocket keeps copies of what it received
 * and sent, in order, on `window.wsgateWire` (one entry per socket, base64 at read time).
 */
const CAPTURE = `
(() => {
  const Native = window.WebSocket;
  const wire = [];
  window.wsgateWire = wire;
  function Capturing(url, protocols) {
    const ws = new Native(url, protocols);
    const rec = { received: [], sent: [] };
    wire.push(rec);
    ws.addEventListener('message', (e) => {
      if (e.data instanceof ArrayBuffer) rec.received.push(new Uint8Array(e.data.slice(0)));
    });
    const send = ws.send.bind(ws);
    ws.send = (data) => {
      const u8 = data instanceof ArrayBuffer ? new Uint8Array(data.slice(0))
        : new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
      rec.sent.push(u8);
      return send(data);
    };
    return ws;
  }
  Capturing.prototype = Native.prototype;
  for (const k of ['CONNECTING', 'OPEN', 'CLOSING', 'CLOSED']) Capturing[k] = Native[k];
  window.WebSocket = Capturing;
})();
`;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'wsgate-e2e-spice-rec-'));
  recordDir = join(dir, 'recordings');
  const [v, s, b] = await Promise.allSettled([startSpiceVm(), startSpiceSite(), launchBrowser()]);
  vm = valueOf(v);
  site = valueOf(s);
  browser = valueOf(b);
  rethrowFirst([v, s, b]);
  const tokenFile = join(dir, 'tokens.txt');
  writeFileSync(tokenFile, `vm1: 127.0.0.1:${vm!.port}\n`);
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
    () => vm?.stop(),
    () => site?.close(),
  );
  rmSync(dir, { recursive: true, force: true });
}, SETUP);

const joined = (rec: ParsedRecording, fromClient: boolean) =>
  Buffer.concat(rec.frames.filter((f) => f.fromClient === fromClient).map((f) => f.data));

describe('recording a SPICE console', () => {
  test('one file per channel, each byte-exact with what its WebSocket carried', TEST, async (t) => {
    let wire: { received: string; sent: string }[] = [];
    await withPage(
      t,
      browser!,
      async (page) => {
        await page.addInitScript(CAPTURE);
        return openSpice(page, site!);
      },
      async (view) => {
        await view.connect(`ws://127.0.0.1:${proxyPort}/?token=vm1`);
        await view.waitForStatus('connected');
        await view.waitForChannels(CHANNELS);
        // The first full display frame: the guest's text screen, not blank; shown for a
        // second before the key, so the replay's poll has time to see it too.
        liveBoot = await view.waitForPixels(
          (s) => s.width === 720 && countColour(s, VGA.lightGrey) > 200,
          'the boot screen',
        );
        await sleep(1000);
        await view.press('1');
        await view.waitForPixels((s) => countColour(s, VGA.blue) === s.width * s.height, 'blue');
        await view.disconnect();
        await pollUntil(
          async () => proxy!.logs.filter((l) => l.msg === 'connection closed').length,
          (n) => n >= CHANNELS.length,
          {
            timeoutMs: 10_000,
            intervalMs: 50,
            fail: (n) => new Error(`${n} channel sessions closed`),
          },
        );
        wire = await view.page.evaluate(() => {
          const b64 = (parts: Uint8Array[]) => {
            let bin = '';
            for (const p of parts)
              for (let i = 0; i < p.length; i += 0x8000)
                bin += String.fromCharCode(...p.subarray(i, i + 0x8000));
            return btoa(bin);
          };
          const w = (
            globalThis as unknown as {
              wsgateWire: { received: Uint8Array[]; sent: Uint8Array[] }[];
            }
          ).wsgateWire;
          return w.map((r) => ({ received: b64(r.received), sent: b64(r.sent) }));
        });
      },
    );
    assert.equal(wire.length, CHANNELS.length, 'one WebSocket per channel');

    const recordings = await pollUntil(
      async () =>
        readdirSync(recordDir).map((f) =>
          parseRecording(readFileSync(join(recordDir, f), 'latin1')),
        ),
      (rs) =>
        rs.length === CHANNELS.length &&
        rs.every((r) => r.complete && r.header?.durationMs !== undefined),
      {
        timeoutMs: 5000,
        intervalMs: 50,
        fail: (rs) => new Error(`${rs.length} finished recordings`),
      },
    );
    recorded = recordings;
    const byProtocol = new Map(recordings.map((r) => [r.header!.protocol, r]));
    assert.deepEqual([...byProtocol.keys()].sort(), CHANNELS.map((c) => `spice-${c}`).sort());

    const closedLines = new Map(
      proxy!.logs.filter((l) => l.msg === 'connection closed').map((l) => [l.conn, l]),
    );
    for (const socket of wire) {
      const sent = Buffer.from(socket.sent, 'base64');
      const received = Buffer.from(socket.received, 'base64');
      const channel = sniffProtocol(true, sent)!;
      const rec = byProtocol.get(channel);
      assert.ok(rec, `a recording for ${channel}`);
      assert.ok(
        joined(rec, true).equals(sent),
        `${channel}: client frames = bytes the browser sent`,
      );
      assert.ok(
        joined(rec, false).equals(received),
        `${channel}: target frames = bytes the browser got`,
      );
      const closed = closedLines.get(rec.header!.session)!;
      assert.equal(received.length, closed.bytesTargetToClient, `${channel}: the proxy's count`);
      assert.equal(sent.length, closed.bytesClientToTarget);
      t.diagnostic(
        `${channel}: ${rec.frames.length} frames, ${received.length} bytes from QEMU, ${sent.length} to it`,
      );
    }
    // The display channel carried the screen (link reply, then draw messages).
    assert.ok(byProtocol.get('spice-display')!.frames.filter((f) => !f.fromClient).length > 2);
  });
  test(
    "the recording replays into spice-html5: the live boot screen pixel for pixel, then the key's repaint",
    TEST,
    async (t) => {
      assert.equal(recorded.length, CHANNELS.length, 'needs the recorded session');
      const channels: Record<number, { start: number; frames: [number, string][] }> = {};
      for (const rec of recorded) {
        const link = rec.frames.find((f) => f.fromClient)!;
        channels[link.data[20]!] = {
          start: link.ms,
          frames: rec.frames
            .filter((f) => !f.fromClient)
            .map((f) => [f.ms, f.data.toString('base64')] as [number, string]),
        };
      }
      await withPage(
        t,
        browser!,
        async (page) => {
          await page.addInitScript(replaySocket(channels));
          return openSpice(page, site!);
        },
        async (view) => {
          // No proxy, no QEMU: the URL goes nowhere; every byte comes from the files.
          await view.connect('ws://127.0.0.1:9/replay');
          await view.waitForStatus('connected');
          await view.waitForChannels(CHANNELS);
          // The first full display frame, pixel for pixel as the live canvas had it.
          const boot = await view.waitForPixels(
            (s) => s.width === liveBoot!.width && s.rgb.equals(liveBoot!.rgb),
            'the boot screen as the live session showed it',
          );
          t.diagnostic(`replayed boot screen: ${countColour(boot, VGA.lightGrey)} glyph pixels`);
          await view.waitForPixels(
            (s) => countColour(s, VGA.blue) === s.width * s.height,
            'the recorded blue repaint',
          );
          await screenshot(view.page, 'spice-replay-blue', t);
        },
      );
    },
  );
});
