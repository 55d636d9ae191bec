/**
 * The recording file format: websockify's `--record` format, so noVNC's playback tools
 * (tests/vnc_playback.html, playback-ui.js) load wsgate's files unchanged.
 *
 * websockify (websockifyserver.py) writes a JavaScript file:
 *
 *     var VNC_frame_data = [
 *     '{<ms>{<bytes>',      one line per frame sent to the client (from the target)
 *     '}<ms>}<bytes>',      one line per frame received from the client
 *     'EOF'];
 *
 * `<ms>` is the whole number of milliseconds since the session started, and `<bytes>` the
 * payload as a latin1 string in a single-quoted JavaScript literal, escaped as Python's
 * `unicode_escape` does (`\t \n \r \\`, `\xhh` for every other byte below 0x20 or above
 * 0x7e) plus `\'`. noVNC's loader takes each character's code as one byte ("binary"
 * encoding) and `'}'` as the first character for client frames, which it skips.
 *
 * wsgate adds one line before the array: a block comment holding the session's header
 * as JSON (`/* wsgate-recording {...} *\/`), padded to HEADER_BYTES so it can be
 * rewritten in place when the session ends (truncation, protocol, byte counts) without
 * holding the file in memory. The comment is ignored by every JavaScript loader.
 */

/** Size of the header line, newline included; the header is rewritten in place. */
export const HEADER_BYTES = 1024;
const HEADER_OPEN = '/* wsgate-recording ';
const HEADER_CLOSE = ' */\n';
export const ARRAY_OPEN = Buffer.from('var VNC_frame_data = [\n');
export const TRAILER = Buffer.from("'EOF'];\n");

/** What a recording says about its session (never the token). */
export interface RecordingHeader {
  /** Format version of this header. */
  v: 1;
  /** The proxy's session id (the `conn` of its log lines). */
  session: string;
  /** Host name of the proxy (the pod's name in Kubernetes). */
  host?: string;
  /** ISO time the session started. */
  start: string;
  client: string;
  target: string;
  /** The signed ticket's subject (`sub`), when there was one. */
  subject?: string;
  /** `vnc`, `spice-<channel>` (main, display, inputs, ...) or `unknown`, from the first bytes. */
  protocol: string;
  /** False when `--record-input=false`: client→target payloads were not written. */
  input: boolean;
  /** Set when the session ended: milliseconds since start. */
  durationMs?: number;
  /** Frames and payload bytes written per direction. */
  frames?: { fromClient: number; fromTarget: number };
  bytes?: { fromClient: number; fromTarget: number };
  /** Why the recording stopped before the session did: `max-bytes`, or a write error code. */
  truncated?: string;
}

/** Longest subject kept in a header (it must fit HEADER_BYTES). */
const MAX_SUBJECT = 256;

/**
 * The header line, exactly HEADER_BYTES long: JSON with every non-ASCII character
 * escaped (so characters are bytes) and `*\/` escaped (so the comment cannot end early).
 */
export function encodeHeader(header: RecordingHeader): Buffer {
  const h = { ...header };
  if (h.subject !== undefined && h.subject.length > MAX_SUBJECT)
    h.subject = h.subject.slice(0, MAX_SUBJECT);
  let json = asciiJson(h);
  const room = HEADER_BYTES - HEADER_OPEN.length - HEADER_CLOSE.length;
  if (json.length > room) json = asciiJson({ ...h, subject: undefined, target: '' });
  if (json.length > room) throw new RangeError('recording header too large');
  return Buffer.from(HEADER_OPEN + json.padEnd(room, ' ') + HEADER_CLOSE, 'latin1');
}

function asciiJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/[\u007f-\uffff]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'))
    .replace(/\*\//g, '*\\/');
}

/**
 * Each byte's escaped form, as websockify writes it: Python's `unicode_escape` of the
 * latin1 character, then `'` → `\'`. Flat tables (four bytes a slot, and the length)
 * keep the per-byte loop below free of lookups into objects.
 */
const ESC_LEN = new Uint8Array(256);
const ESC_BYTES = new Uint8Array(256 * 4);
for (let b = 0; b < 256; b++) {
  let e: string;
  if (b === 0x09) e = '\\t';
  else if (b === 0x0a) e = '\\n';
  else if (b === 0x0d) e = '\\r';
  else if (b === 0x5c) e = '\\\\';
  else if (b === 0x27) e = "\\'";
  else if (b < 0x20 || b >= 0x7f) e = '\\x' + b.toString(16).padStart(2, '0');
  else e = String.fromCharCode(b);
  ESC_LEN[b] = e.length;
  ESC_BYTES.set(Buffer.from(e, 'latin1'), b * 4);
}

/**
 * One frame line: `'{<ms>{<bytes>',\n` from the target, `'}<ms>}<bytes>',\n` from the
 * client. Copies `data` (the caller's buffer may be reused after this returns).
 */
export function encodeFrame(fromClient: boolean, ms: number, data: Uint8Array): Buffer {
  const mark = fromClient ? 0x7d : 0x7b; // '}' : '{'
  const stamp = String(ms);
  // Worst case four bytes per payload byte; the slack is never written.
  const out = Buffer.allocUnsafe(data.length * 4 + stamp.length + 6);
  let o = 0;
  out[o++] = 0x27;
  out[o++] = mark;
  o += out.write(stamp, o, 'latin1');
  out[o++] = mark;
  const n = data.length;
  for (let i = 0; i < n; i++) {
    const b = data[i]!;
    const len = ESC_LEN[b]!;
    if (len === 1) {
      out[o++] = b;
      continue;
    }
    const k = b * 4;
    out[o++] = ESC_BYTES[k]!;
    out[o++] = ESC_BYTES[k + 1]!;
    if (len === 4) {
      out[o++] = ESC_BYTES[k + 2]!;
      out[o++] = ESC_BYTES[k + 3]!;
    }
  }
  out[o++] = 0x27;
  out[o++] = 0x2c;
  out[o++] = 0x0a;
  return out.subarray(0, o);
}

/** One frame read back from a recording. */
export interface RecordedFrame {
  fromClient: boolean;
  /** Milliseconds since the session started. */
  ms: number;
  data: Buffer;
}

export interface ParsedRecording {
  /** Absent in plain websockify recordings. */
  header?: RecordingHeader;
  frames: RecordedFrame[];
  /** True when the closing `'EOF'];` is there (a recording cut by a full disk has none). */
  complete: boolean;
}

/**
 * Reads a recording (wsgate's or websockify's). Tolerates a missing end and a last
 * line cut short, as a full disk leaves them; anything else malformed throws a
 * SyntaxError naming the line.
 */
export function parseRecording(text: string): ParsedRecording {
  const lines = text.split('\n');
  let header: RecordingHeader | undefined;
  const frames: RecordedFrame[] = [];
  let complete = false;
  let inArray = false;
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n]!;
    if (!inArray) {
      if (line.startsWith(HEADER_OPEN)) {
        const json = line.slice(HEADER_OPEN.length, line.lastIndexOf('*/')).trim();
        header = JSON.parse(json) as RecordingHeader;
      } else if (/^var VNC_frame_data\s*=\s*\[\s*$/.test(line)) {
        inArray = true;
      } else if (line.trim() !== '') {
        throw new SyntaxError(`recording line ${n + 1}: expected "var VNC_frame_data = ["`);
      }
      continue;
    }
    if (line === "'EOF'];") {
      complete = true;
      break;
    }
    if (line === '') continue;
    const last = n === lines.length - 1 || (n === lines.length - 2 && lines[n + 1] === '');
    const m = /^'([{}])(\d+)([{}])(.*)',$/s.exec(line);
    if (!m) {
      if (last) break; // cut short by a failed write
      throw new SyntaxError(`recording line ${n + 1}: not a frame`);
    }
    frames.push({ fromClient: m[1] === '}', ms: Number(m[2]), data: unescape(m[4]!, n + 1) });
  }
  return { header, frames, complete };
}

/** Decodes the body of a single-quoted JavaScript string of latin1 characters. */
function unescape(s: string, line: number): Buffer {
  const out = Buffer.allocUnsafe(s.length);
  let o = 0;
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c === 0x5c) {
      const e = s[++i];
      switch (e) {
        case 'x':
          c = parseInt(s.slice(i + 1, i + 3), 16);
          i += 2;
          break;
        case 'u':
          c = parseInt(s.slice(i + 1, i + 5), 16);
          i += 4;
          break;
        case 'n':
          c = 0x0a;
          break;
        case 'r':
          c = 0x0d;
          break;
        case 't':
          c = 0x09;
          break;
        case 'b':
          c = 0x08;
          break;
        case 'f':
          c = 0x0c;
          break;
        case 'v':
          c = 0x0b;
          break;
        case '0':
          c = 0;
          break;
        default:
          if (e === undefined) throw new SyntaxError(`recording line ${line}: dangling escape`);
          c = e.charCodeAt(0);
      }
    }
    if (!(c >= 0 && c <= 0xff)) throw new SyntaxError(`recording line ${line}: not a byte`);
    out[o++] = c;
  }
  return out.subarray(0, o);
}

/** `vnc`, `spice-<channel>` or undefined (not enough bytes yet to tell). */
const SPICE_CHANNELS = [
  '',
  'main',
  'display',
  'inputs',
  'cursor',
  'playback',
  'record',
  'tunnel',
  'smartcard',
  'usbredir',
  'port',
  'webdav',
];

/**
 * The protocol, from the first bytes either side sends: a VNC server starts with its
 * version `RFB 003.008\n`; a SPICE client with its link message `REDQ`, whose channel
 * type is byte 20 (SpiceLinkHeader, 16 bytes, then connection_id, channel_type).
 */
export function sniffProtocol(fromClient: boolean, data: Uint8Array): string | undefined {
  if (!fromClient && data.length >= 4 && Buffer.from(data.subarray(0, 4)).toString() === 'RFB ')
    return 'vnc';
  if (fromClient && data.length >= 4 && Buffer.from(data.subarray(0, 4)).toString() === 'REDQ') {
    if (data.length < 21) return 'spice';
    return `spice-${SPICE_CHANNELS[data[20]!] || String(data[20])}`;
  }
  return undefined;
}

/**
 * `wsgate-20261204T151621.123Z-<host>-<session>.js`: sorts by time, names the session;
 * the host name (the pod's name in Kubernetes) keeps replicas sharing a volume apart, as
 * session ids start from each process's pid (1 in every container).
 */
export function recordingFileName(start: Date, host: string, session: string): string {
  const stamp = start.toISOString().replace(/[-:]/g, '');
  const safe = (s: string) => s.replace(/[^A-Za-z0-9_-]/g, '_');
  return `wsgate-${stamp}-${safe(host)}-${safe(session)}.js`;
}

/** Files the retention sweep may delete: only wsgate's own recordings. */
export const RECORDING_FILE = /^wsgate-\d{8}T\d{6}\.\d{3}Z-[A-Za-z0-9_-]+\.js$/;
