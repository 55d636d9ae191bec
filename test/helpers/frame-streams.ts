/**
 * Random client frame streams for the streaming relay's differential tests, and `ws`'s
 * own Receiver as the reference that says what each stream means. Seeded, so a failing
 * seed can be replayed.
 */
import type { Writable } from 'node:stream';
import * as ws from 'ws';
import { frame, closePayload, type FrameSpec, type Prng } from './raw.js';

/** ws's frame parser (exported by ws, absent from @types/ws). */
export const Receiver = (
  ws as unknown as {
    Receiver: new (options: {
      isServer: boolean;
      maxPayload?: number;
      skipUTF8Validation?: boolean;
      allowSynchronousEvents?: boolean;
    }) => Writable;
  }
).Receiver;

export interface ControlFrame {
  opcode: number;
  payload: Buffer;
}

export interface FrameStream {
  /** The encoded, masked client frames. */
  bytes: Buffer;
  /** Every data payload byte, in order: what the target must receive. */
  data: Buffer;
  /** Pings and pongs in order (the parser must report each one whole). */
  controls: ControlFrame[];
}

/** Message size spread from 0 B to `max` on a log scale, so small and huge both occur. */
function messageSize(rng: Prng, max: number): number {
  return Math.min(max, Math.floor(2 ** (rng.next() * Math.log2(max + 1))) - 1 + rng.int(2));
}

/**
 * `messages` data messages (text or binary) of 0 B to `maxMessage`, a third of them
 * fragmented, with pings and pongs between fragments and between messages.
 */
export function randomFrameStream(
  rng: Prng,
  { messages, maxMessage }: { messages: number; maxMessage: number },
): FrameStream {
  const frames: Buffer[] = [];
  const data: Buffer[] = [];
  const controls: ControlFrame[] = [];
  const maybeControl = () => {
    if (rng.int(4) !== 0) return;
    const c = { opcode: rng.pick([0x9, 0xa]), payload: rng.bytes(rng.int(126)) };
    controls.push(c);
    frames.push(frame(c));
  };
  for (let m = 0; m < messages; m++) {
    const payload = rng.bytes(messageSize(rng, maxMessage));
    data.push(payload);
    const opcode = rng.pick([0x1, 0x2]);
    const pieces = rng.int(3) === 0 ? 2 + rng.int(4) : 1;
    let at = 0;
    for (let p = 0; p < pieces; p++) {
      const end = p === pieces - 1 ? payload.length : at + rng.int(payload.length - at + 1);
      const spec: FrameSpec = {
        opcode: p === 0 ? opcode : 0x0,
        fin: p === pieces - 1,
        payload: payload.subarray(at, end),
      };
      frames.push(frame(spec));
      at = end;
      if (p < pieces - 1) maybeControl();
    }
    maybeControl();
  }
  return { bytes: Buffer.concat(frames), data: Buffer.concat(data), controls };
}

/** Cuts `bytes` into pieces: mostly 1–7 bytes (headers are cut apart), sometimes large. */
export function randomSplits(rng: Prng, bytes: Buffer, maxLarge = 70_000): Buffer[] {
  const parts: Buffer[] = [];
  for (let at = 0; at < bytes.length;) {
    const n = rng.int(10) < 7 ? 1 + rng.int(7) : 1 + rng.int(maxLarge);
    parts.push(bytes.subarray(at, at + n));
    at += n;
  }
  return parts;
}

/** ws's receiver error codes and the close code it sends for each (ws/lib/receiver.js). */
const WS_CLOSE_CODES: Record<string, number> = {
  WS_ERR_UNEXPECTED_RSV_2_3: 1002,
  WS_ERR_UNEXPECTED_RSV_1: 1002,
  WS_ERR_INVALID_OPCODE: 1002,
  WS_ERR_EXPECTED_FIN: 1002,
  WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH: 1002,
  WS_ERR_EXPECTED_MASK: 1002,
  WS_ERR_UNEXPECTED_MASK: 1002,
  WS_ERR_INVALID_CLOSE_CODE: 1002,
  WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH: 1009,
  WS_ERR_UNSUPPORTED_MESSAGE_LENGTH: 1009,
  WS_ERR_INVALID_UTF8: 1007,
};

export interface Reference {
  data: Buffer;
  controls: ControlFrame[];
  /** The close frame's code, if the stream ended with one. */
  close?: number;
  /** The close code ws would fail the connection with. */
  error?: number;
}

/** What `ws`'s Receiver, configured as the proxy was, makes of `bytes`. */
export async function wsReference(bytes: Buffer, maxMessageBytes: number): Promise<Reference> {
  // Messages are emitted synchronously (allowSynchronousEvents); errors go through the
  // stream's write callback, so 'error' comes a tick later.
  const receiver = new Receiver({
    isServer: true,
    maxPayload: maxMessageBytes,
    skipUTF8Validation: true,
    allowSynchronousEvents: true,
  });
  const data: Buffer[] = [];
  const ref: Reference = { data: Buffer.alloc(0), controls: [] };
  receiver.on('message', (d: Buffer) => data.push(Buffer.from(d)));
  receiver.on('ping', (d: Buffer) => ref.controls.push({ opcode: 0x9, payload: Buffer.from(d) }));
  receiver.on('pong', (d: Buffer) => ref.controls.push({ opcode: 0xa, payload: Buffer.from(d) }));
  receiver.on('conclude', (code: number) => (ref.close = code));
  receiver.on('error', (err: Error & { code: string }) => {
    const code = WS_CLOSE_CODES[err.code];
    if (code === undefined) throw new Error(`no close code known for ${err.code}`);
    ref.error = code;
  });
  receiver.write(Buffer.from(bytes)); // ws unmasks in place: give it its own copy
  await new Promise((resolve) => setImmediate(resolve));
  ref.data = Buffer.concat(data);
  return ref;
}

/** A frame stream that ends in a protocol error (after some valid frames), by name. */
export const PROTOCOL_ERRORS: Record<string, FrameSpec[]> = {
  'unmasked client frame': [{ opcode: 0x2, masked: false, payload: Buffer.from('x') }],
  'RSV1 without an extension': [{ opcode: 0x2, rsv: 4, payload: Buffer.from('x') }],
  'RSV2 set': [{ opcode: 0x2, rsv: 2 }],
  'RSV3 set': [{ opcode: 0x1, rsv: 1 }],
  'reserved data opcode 3': [{ opcode: 0x3 }],
  'reserved data opcode 7': [{ opcode: 0x7 }],
  'reserved control opcode 0xB': [{ opcode: 0xb }],
  'reserved control opcode 0xF': [{ opcode: 0xf }],
  'fragmented ping': [{ opcode: 0x9, fin: false }],
  'control frame of 126 bytes': [{ opcode: 0x9, payload: Buffer.alloc(126) }],
  'close frame with a 1-byte payload': [{ opcode: 0x8, payload: Buffer.from([3]) }],
  'continuation outside a message': [{ opcode: 0x0, payload: Buffer.from('x') }],
  'new message inside a fragmented one': [
    { opcode: 0x2, fin: false, payload: Buffer.from('a') },
    { opcode: 0x1, payload: Buffer.from('b') },
  ],
  'close code 1005 (reserved)': [{ opcode: 0x8, payload: closePayload(1005) }],
  'close code 999': [{ opcode: 0x8, payload: closePayload(999) }],
  'close code 2000': [{ opcode: 0x8, payload: closePayload(2000) }],
  'close code 5000': [{ opcode: 0x8, payload: closePayload(5000) }],
  'length beyond 2^53 - 1': [{ opcode: 0x2, length: 1n << 60n }],
  'message over the size limit in one frame': [{ opcode: 0x2, length: 2048 }],
  'message over the size limit across fragments': [
    { opcode: 0x2, fin: false, payload: Buffer.alloc(1000) },
    { opcode: 0x9, payload: Buffer.from('ping in between') },
    { opcode: 0x0, fin: false, payload: Buffer.alloc(1000) },
    { opcode: 0x0, payload: Buffer.alloc(100) },
  ],
};

/** The size limit the protocol-error cases are written for. */
export const ERROR_CASE_MAX_MESSAGE = 2000;
