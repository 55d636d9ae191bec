/**
 * One relayed session after the upgrade: WebSocket frames from the client's socket to the
 * target's TCP stream and back, with no WebSocket library on the data path.
 *
 * - Client → target: frames are parsed as bytes arrive (frames.ts), each payload slice is
 *   unmasked in place in the chunk it came in and written to the target at once; all
 *   writes of one read go out in one writev (cork/uncork). Messages are never reassembled.
 * - Target → client: plain TCP targets read into a reused per-session buffer
 *   (`net.Socket` `onread`) that keeps room for the frame header in front of the payload,
 *   so each read leaves as one binary frame in one write, without a copy. The buffer grows
 *   on full reads and shrinks when reads stay small; a new one is taken only while the
 *   client still holds a write of the old one. TLS targets keep Node's own reads.
 * - Backpressure both ways: past a high-water mark of unwritten bytes the side that is
 *   ahead is paused until the other drains. A close always resumes reading the client, so its
 *   answer to our close frame is seen even when the target was the slow side.
 *
 * This is the hot path: every field is set in the constructor, listeners are module-level
 * functions shared by every session (they find their Relay under a symbol), and nothing
 * per chunk allocates beyond the payload slices, logs or reads configuration.
 */
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { CLOSES } from './errors.js';
import {
  ClientFrameParser,
  closeFrame,
  controlFrame,
  MAX_SERVER_HEADER,
  OPCODE_BINARY,
  OPCODE_CLOSE,
  OPCODE_PING,
  OPCODE_PONG,
  serverHeaderSize,
  writeServerHeader,
  type FrameSink,
} from './frames.js';
import type { SessionRecorder } from './recording/writer.js';

/** What the server needs to know when a session ends (for the log line and metrics). */
export interface SessionEnd {
  closeCode: number;
  closeReason: string;
  /** Who ended it: the client, the target, or the proxy (idle, shutdown, ...). */
  closedBy: 'client' | 'target' | 'proxy';
}

export interface RelayOptions {
  /** Bytes waiting to be written to the client past which the target is paused. */
  clientHighWaterMark: number;
  /** Bytes waiting to be written to the target past which the client is paused. */
  targetHighWaterMark: number;
  /** Largest client message, summed over its fragments (close 1009 beyond); 0 = no limit. */
  maxMessageBytes: number;
  /** Session recording from the first byte (also `head`); may be set later on `recorder`. */
  recorder?: SessionRecorder | null;
}

/** How long a client has to answer our close frame before its socket is destroyed. */
export const CLOSE_TIMEOUT_MS = 3000;
/** How long a target that got our FIN may keep its side open after the client left. */
const TARGET_LINGER_MS = 5000;
/** Target read buffer sizes: small for idle consoles, large enough for full-speed reads. */
const MIN_READ = 1024;
const MAX_READ = 256 * 1024;
/** Consecutive reads under an eighth of the buffer before it is halved. */
const SHRINK_AFTER = 64;

const PING_FRAME = controlFrame(OPCODE_PING);

const kRelay = Symbol('wsgate.relay');
type Carrier = { [kRelay]: Relay };
const relayOf = (emitter: object) => (emitter as Carrier)[kRelay];

function onClientData(this: object, chunk: Buffer): void {
  relayOf(this).fromClient(chunk);
}
function onClientDrain(this: object): void {
  relayOf(this).clientDrained();
}
function onClientEnd(this: object): void {
  relayOf(this).clientEnded();
}
function onClientClose(this: object): void {
  relayOf(this).clientClosed();
}
function onTargetData(this: object, chunk: Buffer): void {
  relayOf(this).fromTargetChunk(chunk);
}
function onTargetDrain(this: object): void {
  relayOf(this).targetDrained();
}
function onTargetEnd(this: object): void {
  relayOf(this).close(CLOSES.targetClosed, 'target');
}
function onTargetError(this: object, err: NodeJS.ErrnoException): void {
  relayOf(this).close(
    { code: CLOSES.targetError.code, reason: `target error: ${err.code ?? 'unknown'}` },
    'target',
  );
}
function onTargetClose(this: object): void {
  relayOf(this).targetClosed();
}
const ignoreError = () => {};
/** Ending an ended stream creates an error object nobody reads: skip it. */
function endSocket(socket: Duplex): void {
  if (!socket.writableEnded) socket.end();
}

/**
 * The relay whose target read just completed. Node calls `onread.buffer` right after
 * `onread.callback`, synchronously and without a receiver, so this hands the session over
 * without a per-session closure.
 */
let lastRead: Relay | null = null;

/**
 * `onread` options for plain TCP target sockets (see target-dial.ts). Node asks for the first
 * buffer when the socket is created, before any relay exists.
 */
export const TARGET_READS = {
  buffer(): Buffer {
    const relay = lastRead;
    lastRead = null;
    return relay === null ? readView(MIN_READ) : relay.nextReadView();
  },
  /** Returns true: pausing for backpressure goes through socket.pause(). */
  callback(this: Socket, nread: number, view: Buffer): boolean {
    const relay = relayOf(this);
    lastRead = relay;
    relay.fromTargetRead(nread, view);
    return true;
  },
};

/** A fresh, unpooled read buffer with header room in front; returns the payload part. */
function readView(size: number): Buffer {
  return Buffer.allocUnsafeSlow(MAX_SERVER_HEADER + size).subarray(MAX_SERVER_HEADER);
}

export class Relay implements FrameSink {
  /** Payload bytes from the client to the target. */
  bytesClientToTarget = 0;
  bytesTargetToClient = 0;
  /** Bytes already added to the metrics counters (flushed on scrape and at the end). */
  flushedClientToTarget = 0;
  flushedTargetToClient = 0;
  /** Activity marker read by the idle sweep. */
  lastActivityBytes = 0;
  idleSince: number;
  /** Heartbeat: set on pong, cleared when a ping is sent. */
  alive = true;
  /** Set when the target is paused because the client is not keeping up. */
  targetPaused = false;
  clientPaused = false;
  /** Session recording, when enabled for this session. */
  recorder: SessionRecorder | null;
  readonly startedAt: number;
  private readonly parser: ClientFrameParser;
  /** The target read buffer (header room + payload) and its payload view. */
  private readBuffer: Buffer | null = null;
  private readPayload: Buffer | null = null;
  private lastReadBytes = 0;
  private smallReads = 0;
  private closeCode = 0;
  private closeReason = '';
  private closedBy: SessionEnd['closedBy'] = 'client';
  /** Our close frame is on its way: nothing more is relayed. */
  private closeSent = false;
  private closeReceived = false;
  private clientGone = false;
  private targetGone = false;
  private ended = false;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    /** The client's socket (TCP or TLS) right after the 101 response. */
    private readonly client: Duplex,
    /** Bytes the client sent after its upgrade request, already read by the HTTP parser. */
    head: Buffer,
    readonly target: Socket,
    private readonly options: RelayOptions,
    private readonly onEnd: (relay: Relay, end: SessionEnd) => void,
  ) {
    this.startedAt = performance.now();
    this.idleSince = this.startedAt;
    this.parser = new ClientFrameParser(this, options.maxMessageBytes);
    this.recorder = options.recorder ?? null;
    (client as Duplex & Partial<Carrier>)[kRelay] = this;
    (target as Socket & Partial<Carrier>)[kRelay] = this;
    client.on('data', onClientData);
    client.on('drain', onClientDrain);
    client.on('end', onClientEnd);
    client.on('close', onClientClose);
    client.on('error', ignoreError); // a reset ends in 'close', which reports it
    target.on('drain', onTargetDrain);
    target.on('end', onTargetEnd);
    target.on('error', onTargetError);
    target.on('close', onTargetClose);
    // Plain sockets read through TARGET_READS and emit no 'data'; TLS sockets do.
    target.on('data', onTargetData);
    target.resume();
    if (client.isPaused()) client.resume();
    if (head.length > 0) this.fromClient(head);
  }

  // ---- client → target ----

  fromClient(chunk: Buffer): void {
    const target = this.target;
    target.cork();
    this.parser.push(chunk);
    target.uncork();
    if (
      !this.clientPaused &&
      !this.closeSent &&
      target.writableLength > this.options.targetHighWaterMark
    ) {
      this.clientPaused = true;
      this.client.pause();
    }
  }

  /** FrameSink: an unmasked data payload slice. */
  onPayload(slice: Buffer): void {
    if (this.closeSent) return; // the session is closing: nothing more reaches the target
    this.bytesClientToTarget += slice.length;
    if (this.recorder !== null) this.recorder.fromClient(slice);
    this.target.write(slice);
  }

  /** FrameSink: a whole control frame. */
  onControl(opcode: number, payload: Buffer): void {
    if (opcode === OPCODE_PONG) {
      this.alive = true;
    } else if (opcode === OPCODE_PING) {
      if (!this.closeSent) this.client.write(controlFrame(OPCODE_PONG, payload));
    } else if (opcode === OPCODE_CLOSE) {
      this.closeReceived = true;
      this.parser.stop();
      const code = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
      this.remember(code, payload.length > 2 ? payload.toString('utf8', 2) : '', 'client');
      // Echo the close (RFC 6455 §5.5.1), then end the TCP connection: the server closes first.
      if (!this.closeSent) {
        this.closeSent = true;
        this.client.write(
          code === 1005 ? closeFrame(undefined) : closeFrame(code, payload.toString('utf8', 2)),
        );
      }
      endSocket(this.client);
      this.clearTimer();
      // Let what the client sent before its close reach the target, then FIN.
      if (!this.targetGone) endSocket(this.target);
    }
  }

  /** FrameSink: the client broke the protocol; close with ws's code and stop reading. */
  onProtocolError(code: number, reason: string): void {
    this.remember(code, reason, 'client');
    if (!this.closeSent) {
      this.closeSent = true;
      this.client.write(closeFrame(code, reason));
    }
    // We cannot find the client's answer in a stream we no longer parse (§7.1.7).
    endSocket(this.client);
    this.armTimer(); // in case the client never reads our FIN
    if (!this.targetGone) endSocket(this.target);
  }

  targetDrained(): void {
    if (this.clientPaused) {
      this.clientPaused = false;
      this.client.resume();
    }
  }

  // ---- target → client ----

  /** A plain target's read of `nread` bytes into `view` (see TARGET_READS). */
  fromTargetRead(nread: number, view: Buffer): void {
    if (view !== this.readPayload) {
      // The first read lands in the buffer Node took before this relay existed.
      this.readPayload = view;
      this.readBuffer = Buffer.from(view.buffer, view.byteOffset - MAX_SERVER_HEADER);
    }
    this.lastReadBytes = nread;
    if (this.closeSent) return;
    this.bytesTargetToClient += nread;
    if (this.recorder !== null) this.recorder.fromTarget(view.subarray(0, nread));
    const start = writeServerHeader(this.readBuffer!, MAX_SERVER_HEADER, OPCODE_BINARY, nread);
    this.client.write(this.readBuffer!.subarray(start, MAX_SERVER_HEADER + nread));
    this.checkClientBackpressure();
  }

  /**
   * The buffer for the next target read: the same one unless the client still holds a
   * write of it, or it should grow (the last read filled it) or shrink (reads stay small).
   */
  nextReadView(): Buffer {
    const view = this.readPayload!;
    const size = view.length;
    let want = size;
    if (this.lastReadBytes === size) {
      this.smallReads = 0;
      if (size < MAX_READ) want = size * 2;
    } else if (this.lastReadBytes * 8 <= size && size > MIN_READ) {
      if (++this.smallReads >= SHRINK_AFTER) {
        this.smallReads = 0;
        want = size / 2;
      }
    } else {
      this.smallReads = 0;
    }
    if (want === size && this.client.writableLength === 0) return view;
    return readView(want);
  }

  /** A TLS target's chunk (Node's own buffer): header and payload in one writev. */
  fromTargetChunk(chunk: Buffer): void {
    if (this.closeSent) return;
    const n = chunk.length;
    this.bytesTargetToClient += n;
    if (this.recorder !== null) this.recorder.fromTarget(chunk);
    const header = Buffer.allocUnsafe(serverHeaderSize(n));
    writeServerHeader(header, header.length, OPCODE_BINARY, n);
    this.client.cork();
    this.client.write(header);
    this.client.write(chunk);
    this.client.uncork();
    this.checkClientBackpressure();
  }

  private checkClientBackpressure(): void {
    if (!this.targetPaused && this.client.writableLength > this.options.clientHighWaterMark) {
      this.targetPaused = true;
      this.target.pause();
    }
  }

  clientDrained(): void {
    if (this.targetPaused) {
      this.targetPaused = false;
      this.target.resume();
    }
  }

  // ---- ends ----

  /** Heartbeat ping (an empty ping frame). */
  ping(): void {
    if (!this.closeSent) this.client.write(PING_FRAME);
  }

  /** Ends the session from the proxy's or the target's side with a close frame. */
  close(how: { code: number; reason: string }, by: SessionEnd['closedBy'] = 'proxy'): void {
    this.remember(how.code, how.reason, by);
    if (!this.closeSent && !this.clientGone) {
      this.closeSent = true;
      this.client.write(closeFrame(how.code, how.reason));
      // Read on whatever the backpressure state: the client's answer must be seen.
      if (this.clientPaused) {
        this.clientPaused = false;
        this.client.resume();
      }
      this.armTimer();
    }
    if (by !== 'target' && !this.targetGone) endSocket(this.target);
  }

  /** For dead peers (missed pong): no close handshake to wait for. */
  terminate(reason: string): void {
    this.remember(1006, reason, 'proxy');
    this.client.destroy();
    this.target.destroy();
  }

  /** Bytes buffered by the proxy for this session in both directions. */
  bufferedBytes(): number {
    return this.client.writableLength + this.target.writableLength;
  }

  clientEnded(): void {
    // FIN without a close frame (1006), or after ours: either way, finish our side.
    if (!this.closeReceived) this.remember(1006, '', 'client');
    endSocket(this.client);
    if (!this.targetGone) endSocket(this.target);
  }

  clientClosed(): void {
    this.clientGone = true;
    this.remember(1006, '', 'client');
    this.clearTimer();
    if (!this.targetGone) {
      endSocket(this.target);
      // The client is gone; don't wait forever for a target that ignores our FIN.
      this.timer = setTimeout(() => this.target.destroy(), TARGET_LINGER_MS);
      this.timer.unref();
    }
    this.maybeEnd();
  }

  targetClosed(): void {
    this.targetGone = true;
    if (!this.closeSent && !this.clientGone) this.close(CLOSES.targetClosed, 'target');
    this.maybeEnd();
  }

  /** The first reason given is the session's. */
  private remember(code: number, reason: string, by: SessionEnd['closedBy']): void {
    if (this.closeCode !== 0) return;
    this.closeCode = code;
    this.closeReason = reason;
    this.closedBy = by;
  }

  /** Destroys the client's socket if it has not closed within CLOSE_TIMEOUT_MS. */
  private armTimer(): void {
    if (this.timer !== null) return;
    this.timer = setTimeout(() => this.client.destroy(), CLOSE_TIMEOUT_MS);
    this.timer.unref();
  }

  private clearTimer(): void {
    if (this.timer === null) return;
    clearTimeout(this.timer);
    this.timer = null;
  }

  private maybeEnd(): void {
    if (this.ended || !this.clientGone || !this.targetGone) return;
    this.ended = true;
    this.clearTimer();
    if (this.recorder !== null) this.recorder.end();
    this.onEnd(this, {
      closeCode: this.closeCode,
      closeReason: this.closeReason,
      closedBy: this.closedBy,
    });
  }
}
