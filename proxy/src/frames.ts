/**
 * WebSocket framing for a relay that never interprets payloads (RFC 6455 §5).
 *
 * Client → proxy: `ClientFrameParser` reads frame headers from the byte stream as it
 * arrives (a header may straddle reads), unmasks each payload slice in place in the chunk
 * it came in, and hands the slice on at once. Messages are never reassembled; the
 * fragmentation rules are checked, not buffered, and the message size limit is enforced
 * by counting. Protocol errors carry the close code `ws`'s Receiver uses for the same
 * fault, so swapping the receiver changes nothing a client can see.
 *
 * Proxy → client: server frames are unmasked, so a header is 2, 4 or 10 bytes.
 */
import bufferUtil from 'bufferutil';

const OPCODE_CONTINUATION = 0x0;
const OPCODE_TEXT = 0x1;
export const OPCODE_BINARY = 0x2;
export const OPCODE_CLOSE = 0x8;
export const OPCODE_PING = 0x9;
export const OPCODE_PONG = 0xa;

/** Room a server frame header needs in front of its payload (2 + 8 bytes). */
export const MAX_SERVER_HEADER = 10;
/** Largest client frame header: 2 + 8 (length) + 4 (mask). */
const MAX_CLIENT_HEADER = 14;
/** Control frames carry at most 125 bytes (§5.5). */
const MAX_CONTROL_PAYLOAD = 125;
/** Below this, a JS loop unmasks faster than a call into bufferutil (as in `ws`). */
const NATIVE_UNMASK_MIN = 32;

/** What the parser hands on. Implemented by the relay: no closures, no allocation. */
export interface FrameSink {
  /** Unmasked payload bytes of a data frame (text or binary), in order, possibly a slice. */
  onPayload(slice: Buffer): void;
  /** A complete control frame (close, ping or pong); the payload is only valid during the call. */
  onControl(opcode: number, payload: Buffer): void;
  /** The stream broke the protocol; the parser ignores everything after this. */
  onProtocolError(code: number, reason: string): void;
}

/** RFC 6455 §7.4 codes a peer may send in a close frame (the set `ws` accepts). */
function isValidCloseCode(code: number): boolean {
  return (
    (code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) ||
    (code >= 3000 && code <= 4999)
  );
}

const EMPTY = Buffer.alloc(0);

export class ClientFrameParser {
  /** Header bytes of a header that straddles reads (allocated on first need). */
  private header: Buffer | null = null;
  private headerLength = 0;
  /** Payload bytes of the current frame still to come. */
  private remaining = 0;
  /** Payload bytes of the current frame already unmasked: the mask's rotation. */
  private offset = 0;
  /** The frame's mask key and, in the same pooled 8 bytes, the key rotated for a slice. */
  private readonly mask = Buffer.allocUnsafe(8);
  private readonly rotated = this.mask.subarray(4);
  private opcode = 0;
  private fin = false;
  /** A fragmented data message is open: only continuation frames may follow. */
  private fragmented = false;
  /** Payload bytes of the current data message so far (for the size limit). */
  private messageBytes = 0;
  /** Control payload collected across reads (allocated on first need). */
  private control: Buffer | null = null;
  private controlLength = 0;
  private failed = false;
  /** True between a frame's header and the end of its payload. */
  private inFrame = false;

  constructor(
    private readonly sink: FrameSink,
    /** Largest data message accepted, summed over its fragments; 0 = unlimited. */
    private readonly maxMessageBytes: number,
  ) {}

  /** Parses one chunk. Payload slices are unmasked in place: the chunk is modified. */
  push(chunk: Buffer): void {
    const length = chunk.length;
    let pos = 0;
    while (pos < length && !this.failed) {
      if (!this.inFrame) {
        pos = this.readHeader(chunk, pos);
        continue;
      }
      const n = Math.min(this.remaining, length - pos);
      const slice = chunk.subarray(pos, pos + n);
      this.unmask(slice);
      pos += n;
      this.remaining -= n;
      if (this.opcode < OPCODE_CLOSE) this.sink.onPayload(slice);
      else {
        slice.copy(this.control!, this.controlLength);
        this.controlLength += n;
      }
      if (this.remaining === 0) this.endFrame();
    }
  }

  /** Stops parsing: what follows (after a close frame, say) is discarded. */
  stop(): void {
    this.failed = true;
  }

  /** Reads (the rest of) a header starting at `pos`; returns the position after what it used. */
  private readHeader(chunk: Buffer, pos: number): number {
    const available = chunk.length - pos;
    if (this.headerLength === 0 && available >= 2) {
      // The common case: the whole header is in this chunk.
      if (!this.check(chunk[pos]!, chunk[pos + 1]!)) return chunk.length;
      const size = headerSize(chunk[pos + 1]!);
      if (available >= size) return this.startFrame(chunk, pos) ? pos + size : chunk.length;
    }
    // The header straddles reads: gather it (re-checking the first two bytes is harmless).
    const header = (this.header ??= Buffer.alloc(MAX_CLIENT_HEADER));
    for (;;) {
      const need = this.headerLength < 2 ? 2 : headerSize(header[1]!);
      const take = Math.min(need - this.headerLength, chunk.length - pos);
      chunk.copy(header, this.headerLength, pos, pos + take);
      this.headerLength += take;
      pos += take;
      if (this.headerLength < need) return pos;
      if (need === 2) {
        if (!this.check(header[0]!, header[1]!)) return chunk.length;
        continue;
      }
      this.headerLength = 0;
      return this.startFrame(header, 0) ? pos : chunk.length;
    }
  }

  /** Checks the first two header bytes, as `ws`'s Receiver does and in its order. */
  private check(b0: number, b1: number): boolean {
    if ((b0 & 0x70) !== 0) return this.fail(1002, 'RSV bits must be clear');
    const opcode = b0 & 0x0f;
    const fin = (b0 & 0x80) !== 0;
    const length = b1 & 0x7f;
    if (opcode === OPCODE_CONTINUATION) {
      if (!this.fragmented) return this.fail(1002, 'continuation frame outside a message');
    } else if (opcode === OPCODE_TEXT || opcode === OPCODE_BINARY) {
      if (this.fragmented) return this.fail(1002, 'data frame inside a fragmented message');
    } else if (opcode >= OPCODE_CLOSE && opcode <= OPCODE_PONG) {
      if (!fin) return this.fail(1002, 'control frames must not be fragmented');
      if (length > MAX_CONTROL_PAYLOAD || (opcode === OPCODE_CLOSE && length === 1))
        return this.fail(1002, `invalid control frame length ${length}`);
    } else {
      return this.fail(1002, `reserved opcode ${opcode}`);
    }
    if ((b1 & 0x80) === 0) return this.fail(1002, 'client frames must be masked');
    return true;
  }

  /** Takes a complete, checked header from `buf` at `at`. False when it fails. */
  private startFrame(buf: Buffer, at: number): boolean {
    const b0 = buf[at]!;
    const b1 = buf[at + 1]!;
    const opcode = b0 & 0x0f;
    const fin = (b0 & 0x80) !== 0;
    let length = b1 & 0x7f;
    let maskAt = at + 2;
    if (length === 126) {
      length = buf.readUInt16BE(at + 2);
      maskAt = at + 4;
    } else if (length === 127) {
      const high = buf.readUInt32BE(at + 2);
      // JavaScript numbers are exact to 2^53 - 1 (ws's limit too).
      if (high > 0x1fffff) return this.fail(1009, 'payload length > 2^53 - 1');
      length = high * 0x100000000 + buf.readUInt32BE(at + 6);
      maskAt = at + 10;
    }
    if (opcode < OPCODE_CLOSE && length > 0) {
      this.messageBytes += length;
      if (this.maxMessageBytes > 0 && this.messageBytes > this.maxMessageBytes)
        return this.fail(1009, 'message too big');
    }
    this.mask[0] = buf[maskAt]!;
    this.mask[1] = buf[maskAt + 1]!;
    this.mask[2] = buf[maskAt + 2]!;
    this.mask[3] = buf[maskAt + 3]!;
    this.opcode = opcode === OPCODE_CONTINUATION ? this.opcode : opcode;
    if (opcode < OPCODE_CLOSE) this.fragmented = !fin;
    this.fin = fin;
    this.remaining = length;
    this.offset = 0;
    if (opcode >= OPCODE_CLOSE) {
      this.control ??= Buffer.alloc(MAX_CONTROL_PAYLOAD);
      this.controlLength = 0;
      this.opcode = opcode;
    }
    this.inFrame = true;
    if (length === 0) this.endFrame();
    return true;
  }

  private endFrame(): void {
    this.inFrame = false;
    if (this.opcode >= OPCODE_CLOSE) {
      const payload =
        this.controlLength === 0 ? EMPTY : this.control!.subarray(0, this.controlLength);
      const opcode = this.opcode;
      // A control frame may sit between the fragments of a data message: restore its opcode.
      this.opcode = this.fragmented ? OPCODE_BINARY : 0;
      if (opcode === OPCODE_CLOSE && payload.length >= 2) {
        const code = payload.readUInt16BE(0);
        if (!isValidCloseCode(code)) {
          this.fail(1002, `invalid close code ${code}`);
          return;
        }
      }
      this.sink.onControl(opcode, payload);
    } else if (this.fin) {
      this.messageBytes = 0;
    }
  }

  private unmask(slice: Buffer): void {
    const n = slice.length;
    const shift = this.offset & 3;
    this.offset += n;
    const mask = this.mask;
    if (n < NATIVE_UNMASK_MIN) {
      for (let i = 0; i < n; i++) slice[i]! ^= mask[(i + shift) & 3]!;
      return;
    }
    if (shift === 0) return bufferUtil.unmask(slice, mask);
    const r = this.rotated;
    r[0] = mask[shift]!;
    r[1] = mask[(shift + 1) & 3]!;
    r[2] = mask[(shift + 2) & 3]!;
    r[3] = mask[(shift + 3) & 3]!;
    bufferUtil.unmask(slice, r);
  }

  private fail(code: number, reason: string): false {
    this.failed = true;
    this.sink.onProtocolError(code, reason);
    return false;
  }
}

/** A client frame header's size from its second byte: 2, + 2 or 8 for the length, + 4 mask. */
function headerSize(b1: number): number {
  const length = b1 & 0x7f;
  return 6 + (length === 126 ? 2 : length === 127 ? 8 : 0);
}

/** Size of an unmasked server frame header for a payload of `length` bytes. */
export function serverHeaderSize(length: number): number {
  return length < 126 ? 2 : length < 0x10000 ? 4 : 10;
}

/**
 * Writes an unmasked, final server frame header that ends exactly at `end` in `buf`, so a
 * payload already read into `buf` at `end` goes out with its header as one buffer.
 * Returns where the header starts.
 */
export function writeServerHeader(
  buf: Buffer,
  end: number,
  opcode: number,
  length: number,
): number {
  const start = end - serverHeaderSize(length);
  buf[start] = 0x80 | opcode;
  if (length < 126) {
    buf[start + 1] = length;
  } else if (length < 0x10000) {
    buf[start + 1] = 126;
    buf.writeUInt16BE(length, start + 2);
  } else {
    buf[start + 1] = 127;
    buf.writeUInt32BE(Math.floor(length / 0x100000000), start + 2);
    buf.writeUInt32BE(length >>> 0, start + 6);
  }
  return start;
}

/** A complete server control frame (close, ping, pong) with its payload. */
export function controlFrame(opcode: number, payload: Buffer = EMPTY): Buffer {
  const frame = Buffer.allocUnsafe(2 + payload.length);
  frame[0] = 0x80 | opcode;
  frame[1] = payload.length;
  payload.copy(frame, 2);
  return frame;
}

/** A close frame; the reason is cut to fit the 125-byte control payload. */
export function closeFrame(code: number | undefined, reason = ''): Buffer {
  if (code === undefined) return controlFrame(OPCODE_CLOSE);
  const text = Buffer.from(reason, 'utf8');
  const payload = Buffer.allocUnsafe(2 + Math.min(text.length, MAX_CONTROL_PAYLOAD - 2));
  payload.writeUInt16BE(code, 0);
  text.copy(payload, 2, 0, payload.length - 2);
  return controlFrame(OPCODE_CLOSE, payload);
}
