/** The recording format (proxy/src/recording/format.ts): websockify's, byte for byte. */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { runInNewContext } from 'node:vm';
import {
  ARRAY_OPEN,
  HEADER_BYTES,
  RECORDING_FILE,
  TRAILER,
  encodeFrame,
  encodeHeader,
  parseRecording,
  recordingFileName,
  sniffProtocol,
  type RecordingHeader,
} from '../../proxy/src/recording/format.js';

const HEADER: RecordingHeader = {
  v: 1,
  session: 'k3-1',
  start: '2026-12-04T15:16:21.123Z',
  client: '192.0.2.7',
  target: '10.0.0.5:5900',
  protocol: 'vnc',
  input: true,
};

/** A whole file as the writer lays it out. */
function file(frames: Buffer[], header = HEADER): string {
  return Buffer.concat([encodeHeader(header), ARRAY_OPEN, ...frames, TRAILER]).toString('latin1');
}

/** What noVNC's tests/playback-ui.js does with a loaded VNC_frame_data (binary encoding). */
function asNoVncLoadsIt(
  text: string,
): { fromClient: boolean; timestamp: number; data: number[] }[] {
  const frames = runInNewContext(text + '\nVNC_frame_data') as string[];
  const out = [];
  for (const frame of frames) {
    if (frame === 'EOF') break;
    const dataIdx = frame.indexOf('{', 1) + 1;
    const data = [];
    for (let j = dataIdx; j < frame.length; j++) data.push(frame.charCodeAt(j));
    out.push({
      fromClient: frame[0] === '}',
      timestamp: parseInt(frame.slice(1, dataIdx - 1)),
      data,
    });
  }
  return out;
}

describe('encodeFrame', () => {
  test("escapes as websockify does (Python's unicode_escape of latin1, then \\')", () => {
    // Expected text produced by websockify's own expression in python3:
    // buf.decode('latin1').encode('unicode_escape').decode('ascii').replace("'", "\\'")
    const bytes = Buffer.from([
      0, 9, 10, 13, 0x27, 0x5c, 0x41, 0x7e, 0x7f, 0x80, 0xff, 0x7b, 0x7d, 0x22, 0x20,
    ]);
    assert.equal(
      encodeFrame(false, 12, bytes).toString('latin1'),
      `'{12{\\x00\\t\\n\\r\\'\\\\A~\\x7f\\x80\\xff{}" ',\n`,
    );
  });

  test("marks direction as websockify: '{ms{' to the client, '}ms}' from the client", () => {
    assert.equal(encodeFrame(false, 0, Buffer.from('RFB')).toString(), "'{0{RFB',\n");
    assert.equal(encodeFrame(true, 1500, Buffer.from('x')).toString(), "'}1500}x',\n");
  });

  test('every byte value survives a JavaScript engine, read back as noVNC reads it', () => {
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const random = randomBytes(4096);
    const text = file([encodeFrame(false, 0, all), encodeFrame(false, 7, random)]);
    const frames = asNoVncLoadsIt(text);
    assert.equal(frames.length, 2);
    assert.deepEqual(frames[0]!.data, [...all]);
    assert.deepEqual(frames[1]!.data, [...random]);
    assert.equal(frames[1]!.timestamp, 7);
    assert.equal(frames[1]!.fromClient, false);
  });

  test('copies its input: the caller may reuse the buffer at once', () => {
    const buf = Buffer.from('abc');
    const line = encodeFrame(true, 1, buf);
    buf.fill(0x7a);
    assert.equal(line.toString(), "'}1}abc',\n");
  });
});

describe('encodeHeader', () => {
  test('is exactly HEADER_BYTES, a JavaScript comment, and reads back', () => {
    const h = encodeHeader({ ...HEADER, subject: 'alice', durationMs: 5, truncated: 'max-bytes' });
    assert.equal(h.length, HEADER_BYTES);
    assert.equal(h[h.length - 1], 0x0a);
    const text = file([], { ...HEADER, subject: 'alice' });
    assert.deepEqual([...(runInNewContext(text + '\nVNC_frame_data') as string[])], ['EOF']);
    assert.deepEqual(parseRecording(text).header, { ...HEADER, subject: 'alice' });
  });

  test('a subject cannot end the comment early, and non-ASCII stays one byte per character', () => {
    const subject = 'x*/var VNC_frame_data=1;/*é✓';
    const text = file([encodeFrame(false, 0, Buffer.from('RFB'))], { ...HEADER, subject });
    assert.equal(Buffer.byteLength(text.split('\n')[0]! + '\n'), HEADER_BYTES);
    assert.equal(asNoVncLoadsIt(text).length, 1);
    assert.equal(parseRecording(text).header?.subject, subject);
  });

  test('an overlong subject is cut to 256 characters and the header still fits', () => {
    const h = encodeHeader({ ...HEADER, subject: '\u0001'.repeat(5000) });
    assert.equal(h.length, HEADER_BYTES);
    const back = parseRecording(h.toString('latin1')).header!;
    assert.ok(back.subject === undefined || back.subject.length <= 256);
  });
});

describe('parseRecording', () => {
  test('reads frames of both directions with their times', () => {
    const text = file([
      encodeFrame(false, 0, Buffer.from('RFB 003.008\n')),
      encodeFrame(true, 3, Buffer.from([0, 1, 0x7d, 0x7b])),
    ]);
    const r = parseRecording(text);
    assert.equal(r.complete, true);
    assert.deepEqual(
      r.frames.map((f) => [f.fromClient, f.ms, [...f.data]]),
      [
        [false, 0, [...Buffer.from('RFB 003.008\n')]],
        [true, 3, [0, 1, 0x7d, 0x7b]],
      ],
    );
  });

  test('reads a plain websockify recording (no header)', () => {
    const text = "var VNC_frame_data = [\n'{0{RFB 003.008\\n',\n'}4}RFB 003.008\\n',\n'EOF'];\n";
    const r = parseRecording(text);
    assert.equal(r.header, undefined);
    assert.equal(r.frames.length, 2);
    assert.equal(r.frames[1]!.fromClient, true);
  });

  test('tolerates what a full disk leaves: a cut last line and no end', () => {
    const whole = file([
      encodeFrame(false, 0, Buffer.from('one')),
      encodeFrame(false, 1, Buffer.from('two')),
    ]);
    const cut = whole.slice(0, whole.indexOf("'{1{") + 6);
    const r = parseRecording(cut);
    assert.equal(r.complete, false);
    assert.deepEqual(
      r.frames.map((f) => f.data.toString()),
      ['one'],
    );
  });

  test('refuses a line that is not a frame in the middle of the array', () => {
    const text = "var VNC_frame_data = [\nnonsense\n'{0{x',\n'EOF'];\n";
    assert.throws(() => parseRecording(text), /line 2: not a frame/);
  });
});

describe('sniffProtocol', () => {
  test('a VNC server greets with RFB', () => {
    assert.equal(sniffProtocol(false, Buffer.from('RFB 003.008\n')), 'vnc');
    assert.equal(sniffProtocol(true, Buffer.from('RFB 003.008\n')), undefined);
  });

  test("a SPICE client's link message names its channel type at byte 20", () => {
    const link = Buffer.alloc(40);
    link.write('REDQ');
    for (const [type, name] of [
      [1, 'spice-main'],
      [2, 'spice-display'],
      [3, 'spice-inputs'],
      [4, 'spice-cursor'],
    ] as const) {
      link[20] = type;
      assert.equal(sniffProtocol(true, link), name);
    }
  });
});

test('file names sort by time, name the session and are what the retention sweep deletes', () => {
  const name = recordingFileName(new Date('2026-12-04T15:16:21.123Z'), 'console-7d9f-x2', 'k3-1f');
  assert.equal(name, 'wsgate-20261204T151621.123Z-console-7d9f-x2-k3-1f.js');
  assert.match(name, RECORDING_FILE);
  assert.doesNotMatch('notes.js', RECORDING_FILE);
  assert.match(recordingFileName(new Date(0), 'a.b.example', '../x'), RECORDING_FILE);
});
