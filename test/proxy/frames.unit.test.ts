/**
 * The streaming parser against `ws`'s own Receiver: the same random client streams, cut
 * into random pieces for ours, must yield the same payload bytes and control frames, and
 * every protocol error the same close code. A seeded fuzz loop, bounded in count and time.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  ClientFrameParser,
  closeFrame,
  serverHeaderSize,
  writeServerHeader,
  type FrameSink,
} from '../../proxy/src/frames.js';
import {
  Receiver,
  ERROR_CASE_MAX_MESSAGE,
  PROTOCOL_ERRORS,
  randomFrameStream,
  randomSplits,
  wsReference,
  type ControlFrame,
} from '../helpers/frame-streams.js';
import { frame, prng } from '../helpers/raw.js';

interface Parsed {
  data: Buffer;
  controls: ControlFrame[];
  close?: number;
  error?: number;
}

/** Runs our parser over `parts` in order and records what it hands on. */
function parse(parts: Buffer[], maxMessageBytes: number): Parsed {
  const data: Buffer[] = [];
  const out: Parsed = { data: Buffer.alloc(0), controls: [] };
  const sink: FrameSink = {
    onPayload: (slice) => data.push(Buffer.from(slice)),
    onControl: (opcode, payload) => {
      if (opcode === 0x8) out.close = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
      else out.controls.push({ opcode, payload: Buffer.from(payload) });
    },
    onProtocolError: (code) => {
      assert.equal(out.error, undefined, 'one protocol error at most');
      out.error = code;
    },
  };
  const parser = new ClientFrameParser(sink, maxMessageBytes);
  // The parser unmasks in place: give it copies so `parts` stay the masked stream.
  for (const p of parts) parser.push(Buffer.from(p));
  out.data = Buffer.concat(data);
  return out;
}

describe('ClientFrameParser', () => {
  test('random streams cut into 1–7 byte pieces parse exactly as ws parses them', async () => {
    const deadline = Date.now() + 15_000;
    let runs = 0;
    let bytes = 0;
    for (let seed = 1; seed <= 60 && Date.now() < deadline; seed++) {
      const rng = prng(seed);
      const stream = randomFrameStream(rng, { messages: 1 + rng.int(12), maxMessage: 1 << 20 });
      const ref = await wsReference(stream.bytes, 0);
      assert.equal(ref.error, undefined, `seed ${seed}: ws accepts the stream`);
      assert.ok(ref.data.equals(stream.data), `seed ${seed}: ws sees the generated payloads`);
      const ours = parse(randomSplits(rng, stream.bytes), 0);
      assert.equal(ours.error, undefined, `seed ${seed}: no protocol error`);
      assert.ok(ours.data.equals(ref.data), `seed ${seed}: payload bytes equal ws's`);
      assert.deepEqual(ours.controls, ref.controls, `seed ${seed}: pings and pongs equal ws's`);
      runs++;
      bytes += stream.bytes.length;
    }
    assert.ok(runs >= 10, `at least 10 streams parsed (${runs})`);
    assert.ok(bytes > 1 << 20, 'streams with messages of up to 1 MiB');
  });

  test('a close frame is reported with its code and ends parsing', async () => {
    const stream = Buffer.concat([
      frame({ opcode: 0x2, payload: Buffer.from('before') }),
      frame({ opcode: 0x8, payload: Buffer.from([0x03, 0xe8, 0x62, 0x79, 0x65]) }),
    ]);
    const ref = await wsReference(stream, 0);
    const ours = parse(randomSplits(prng(7), stream), 0);
    assert.equal(ref.close, 1000);
    assert.equal(ours.close, 1000);
    assert.equal(ours.data.toString(), 'before');
  });

  for (const [name, specs] of Object.entries(PROTOCOL_ERRORS)) {
    test(`protocol error: ${name} closes with ws's code`, async () => {
      const valid = frame({ opcode: 0x2, payload: Buffer.from('valid first') });
      const stream = Buffer.concat([valid, ...specs.map((s) => frame(s))]);
      const ref = await wsReference(stream, ERROR_CASE_MAX_MESSAGE);
      assert.ok(ref.error, `ws fails the stream (${name})`);
      for (const seed of [1, 2, 3]) {
        const whole = parse([stream], ERROR_CASE_MAX_MESSAGE);
        const split = parse(randomSplits(prng(seed), stream, 8), ERROR_CASE_MAX_MESSAGE);
        assert.equal(whole.error, ref.error, 'in one piece');
        assert.equal(split.error, ref.error, `in pieces (seed ${seed})`);
      }
    });
  }

  test('the size limit counts fragments and is reset by each final frame', () => {
    const parts = [
      frame({ opcode: 0x2, fin: false, payload: Buffer.alloc(600) }),
      frame({ opcode: 0x0, payload: Buffer.alloc(400) }),
      frame({ opcode: 0x2, payload: Buffer.alloc(1000) }),
    ];
    assert.equal(parse(parts, 1000).error, undefined, 'two messages of exactly 1000 bytes');
    assert.equal(parse(parts, 999).error, 1009, 'one byte over');
  });
});

describe('server frames', () => {
  test('headers decode as ws decodes them, for every length class', () => {
    for (const length of [0, 1, 125, 126, 65535, 65536, 300_000]) {
      const buf = Buffer.alloc(10 + length, 7);
      const start = writeServerHeader(buf, 10, 0x2, length);
      assert.equal(10 - start, serverHeaderSize(length));
      const received = wsClientFrames(buf.subarray(start));
      assert.equal(received.length, 1);
      assert.equal(received[0]!.length, length);
    }
  });

  test('close frames carry the code and a reason cut to 123 bytes', () => {
    const f = closeFrame(1008, 'x'.repeat(300));
    assert.equal(f.length, 2 + 125);
    assert.equal(f.readUInt16BE(2), 1008);
    assert.equal(closeFrame(undefined).length, 2);
  });
});

/** The data messages `ws`'s client-side Receiver reads from unmasked server frames. */
function wsClientFrames(bytes: Buffer): Buffer[] {
  const receiver = new Receiver({ isServer: false, allowSynchronousEvents: true });
  const out: Buffer[] = [];
  receiver.on('message', (d: Buffer) => out.push(Buffer.from(d)));
  receiver.on('error', (e: Error) => assert.fail(e.message));
  receiver.write(bytes);
  return out;
}
