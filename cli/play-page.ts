/**
 * The page `wsgate play` serves: noVNC's RFB (from the installed @novnc/novnc package,
 * served beside it) fed the recording's target→client frames on a timer, so the canvas
 * shows what the console showed, at 1x or faster, with a timeline to seek.
 *
 * The recording is loaded as websockify's tools load it (a <script> defining
 * `VNC_frame_data`); each string's character codes are the frame's bytes. noVNC is given
 * a stand-in channel (RFB accepts any object shaped like a WebSocket) that drops what
 * noVNC sends back. As noVNC's own tests/playback.js does, delivery waits while noVNC's
 * display is still rendering (`_flushing`, `_display.flush()`), so fast replays never
 * overrun its receive queue.
 *
 * `window.wsgatePlay` is the page's state for tests and scripts: `state` ('ready',
 * 'playing', 'paused', 'finished', 'unsupported'), `position`/`duration` (ms of the
 * recording), `speed`, `delivered`, `frames`, `elapsedMs` (wall time of the last run
 * from 0 to the end), and `play(speed?)`, `pause()`, `seek(ms)`.
 */
export function playPage(title: string, speed: number): string {
  return `<!doctype html>
<html>
<head>
<meta charset="utf-8">
<title>wsgate play: ${escapeHtml(title)}</title>
<style>
html, body { margin: 0; background: #111; color: #ddd; font: 13px system-ui, sans-serif; }
#bar { display: flex; gap: 8px; align-items: center; padding: 6px 8px; background: #222; }
#timeline { flex: 1; }
#info { padding: 2px 8px; color: #999; white-space: pre-wrap; }
#screen { width: 100vw; height: calc(100vh - 60px); }
</style>
</head>
<body>
<div id="bar">
  <button id="toggle" disabled>Play</button>
  <select id="speed">
    <option value="1">1x</option><option value="2">2x</option><option value="4">4x</option>
    <option value="8">8x</option><option value="32">32x</option><option value="Infinity">max</option>
  </select>
  <input id="timeline" type="range" min="0" max="0" step="1" value="0">
  <span id="time">0:00 / 0:00</span>
</div>
<div id="info">Loading…</div>
<div id="screen"></div>
<script src="/recording.js"></script>
<script type="module">
import RFB from '/novnc/core/rfb.js';

const $ = (id) => document.getElementById(id);
const header = await (await fetch('/header.json')).json();
const params = new URLSearchParams(location.search);

/** Frames to the client, as noVNC's playback-ui.js converts VNC_frame_data. */
const frames = [];
for (const s of window.VNC_frame_data ?? []) {
  if (s === 'EOF' || s[0] !== '{') continue;
  const sep = s.indexOf('{', 1);
  const data = new Uint8Array(s.length - sep - 1);
  for (let i = 0; i < data.length; i++) data[i] = s.charCodeAt(sep + 1 + i);
  frames.push({ t: parseInt(s.slice(1, sep), 10), data });
}
const lastFrame = frames.length ? frames[frames.length - 1].t : 0;
const duration = Math.max(header.durationMs ?? 0, lastFrame);

const fmt = (ms) => {
  const s = Math.floor(ms / 1000);
  return Math.floor(s / 60) + ':' + String(s % 60).padStart(2, '0');
};
const facts = [
  'session ' + header.session, 'started ' + header.start, 'client ' + header.client,
  'target ' + header.target, header.subject ? 'subject ' + header.subject : '',
  'protocol ' + header.protocol, header.input ? 'with input' : 'screen only',
  header.truncated ? 'TRUNCATED (' + header.truncated + ')' : '',
].filter(Boolean).join(' · ');
$('info').textContent = facts;

class Channel {
  constructor() {
    this.binaryType = 'arraybuffer';
    this.protocol = 'binary';
    this.readyState = 'open';
    this.onerror = null;
    this.onmessage = null;
    this.onopen = null;
    this.onclose = null;
  }
  send() {}
  close() {}
}

const player = {
  state: 'ready',
  position: 0,
  duration,
  speed: Number(params.get('speed') ?? ${JSON.stringify(String(speed))}),
  delivered: 0,
  frames: frames.length,
  elapsedMs: null,
  rfb: null,
  channel: null,
  startedAt: 0,
  /** Recording position at wall time \`anchorWall\`. */
  anchorPos: 0,
  anchorWall: 0,
  timer: null,
  runStart: null,

  reset() {
    if (this.rfb) {
      try { this.rfb.disconnect(); this.channel.onclose?.({ code: 1000, reason: '' }); } catch {}
    }
    $('screen').replaceChildren();
    this.channel = new Channel();
    this.rfb = new RFB($('screen'), this.channel, { shared: true });
    this.rfb.viewOnly = true;
    // A recording of a password-protected session still asks; any answer will do, the
    // server's verdict is in the recording.
    this.rfb.addEventListener('credentialsrequired', () =>
      this.rfb.sendCredentials({ username: 'x', password: 'x', target: 'x' }));
    this.delivered = 0;
    this.position = 0;
  },

  play(speed) {
    if (speed !== undefined) this.speed = speed;
    if (this.state === 'unsupported') return;
    if (this.state === 'finished') { this.reset(); }
    if (this.position === 0) this.runStart = performance.now();
    this.state = 'playing';
    this.anchorPos = this.position;
    this.anchorWall = performance.now();
    ui();
    this.tick();
  },

  pause() {
    if (this.state !== 'playing') return;
    clearTimeout(this.timer);
    this.position = this.now();
    this.state = 'paused';
    this.runStart = null;
    ui();
  },

  seek(ms) {
    const playing = this.state === 'playing';
    clearTimeout(this.timer);
    if (ms < this.position || this.state === 'finished') this.reset();
    this.runStart = null;
    this.position = Math.min(ms, duration);
    this.state = 'paused';
    // Everything up to the new position, as fast as noVNC takes it.
    this.deliverUpTo(this.position).then(() => (playing ? this.play() : ui()));
  },

  now() {
    if (this.speed === Infinity) return duration;
    return Math.min(duration, this.anchorPos + (performance.now() - this.anchorWall) * this.speed);
  },

  async deliverUpTo(pos) {
    while (this.delivered < frames.length && frames[this.delivered].t <= pos) {
      // noVNC is still drawing the previous update: let it finish first.
      if (this.rfb._flushing) await this.rfb._display.flush();
      this.channel.onmessage({ data: frames[this.delivered].data });
      this.delivered++;
      if (this.delivered % 256 === 0) await new Promise((r) => setTimeout(r, 0));
    }
  },

  async tick() {
    if (this.state !== 'playing') return;
    const pos = this.speed === Infinity ? duration : this.now();
    await this.deliverUpTo(pos);
    if (this.state !== 'playing') return;
    this.position = pos;
    ui();
    if (pos >= duration && this.delivered >= frames.length) {
      if (this.rfb._display.pending()) await this.rfb._display.flush();
      this.state = 'finished';
      if (this.runStart !== null) this.elapsedMs = performance.now() - this.runStart;
      ui();
      return;
    }
    const next = this.delivered < frames.length ? frames[this.delivered].t : duration;
    const wait = Math.max(0, Math.min(250, (next - pos) / this.speed));
    this.timer = setTimeout(() => this.tick(), wait);
  },
};

function ui() {
  $('toggle').textContent = player.state === 'playing' ? 'Pause' : 'Play';
  $('timeline').value = String(Math.round(player.position));
  $('time').textContent = fmt(player.position) + ' / ' + fmt(duration);
}

$('timeline').max = String(duration);
$('speed').value = String(player.speed);
$('speed').addEventListener('change', () => {
  const playing = player.state === 'playing';
  if (playing) player.pause();
  player.speed = Number($('speed').value);
  if (playing) player.play();
});
$('toggle').addEventListener('click', () =>
  player.state === 'playing' ? player.pause() : player.play());
$('timeline').addEventListener('change', () => player.seek(Number($('timeline').value)));

window.wsgatePlay = player;
if (header.protocol !== 'vnc' && header.protocol !== 'unknown') {
  player.state = 'unsupported';
  $('info').textContent = facts + '\\nOnly VNC recordings replay in this page (this one is ' +
    header.protocol + '); its frames are in the file.';
} else {
  player.reset();
  $('toggle').disabled = false;
  ui();
  if (params.get('autoplay') === '1') player.play();
}
</script>
</body>
</html>
`;
}

function escapeHtml(s: string): string {
  return s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );
}
