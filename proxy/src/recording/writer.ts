/**
 * Writes one session's recording: frames are encoded as they are relayed (the relay's
 * buffers are reused after each call, so they are copied here, synchronously) and
 * written by a queue of positioned writes, never waiting in the relay and never holding
 * more than `maxBacklog` bytes. Every failure ends the recording, not the session: the
 * relay calls in, nothing is thrown back out.
 */
import { close, open, write } from 'node:fs';
import {
  ARRAY_OPEN,
  HEADER_BYTES,
  TRAILER,
  encodeFrame,
  encodeHeader,
  sniffProtocol,
  type RecordingHeader,
} from './format.js';

/** The hook the relay calls (DESIGN: buffers are valid only during the call). */
export interface SessionRecorder {
  /** Client→target payload bytes (unmasked), as they are forwarded; may be a slice of a message. */
  fromClient(data: Buffer): void;
  /** Target→client bytes, one chunk per target read. */
  fromTarget(data: Buffer): void;
  /** The session ended. */
  end(): void;
}

export interface WriterOptions {
  path: string;
  header: Omit<RecordingHeader, 'v' | 'protocol' | 'input'>;
  /** Write client→target payloads (false: `--record-input=false`). */
  input: boolean;
  /** Largest file, in bytes; 0 = unlimited. Then the recording stops, marked truncated. */
  maxBytes: number;
  /** Encoded bytes allowed to wait for the disk; beyond, the recording stops (`backlog`). */
  maxBacklog: number;
  /** Called once: the file is open (counted as a recorded session). */
  onOpen(): void;
  /** Bytes the file grew by (the header's rewrite in place is not counted again). */
  onWritten(bytes: number): void;
  /** Called at most once, when recording stops early (`max-bytes`, `backlog`, or an errno code). */
  onStop(reason: string, err?: NodeJS.ErrnoException): void;
  /** Called once when the file is closed (or could not be opened). */
  onClosed(): void;
}

interface Op {
  buf: Buffer;
  pos: number;
  /** False for the header rewritten in place: counted once, as the file grew. */
  grows: boolean;
}

/** Default `maxBacklog`: 16 MiB per recorded session waiting for the disk. */
export const DEFAULT_BACKLOG = 16 * 1024 * 1024;

export class RecordingWriter implements SessionRecorder {
  private fd: number | null = null;
  /** File size once every queued write is done. */
  private size = 0;
  private readonly queue: Op[] = [];
  private queued = 0;
  private writing = false;
  /** No more frames: stopped early or ended. */
  private stopped = false;
  private ended = false;
  private closed = false;
  private truncated: string | undefined;
  private protocol: string | undefined;
  private readonly startedAt = performance.now();
  private readonly frames = { fromClient: 0, fromTarget: 0 };
  private readonly bytes = { fromClient: 0, fromTarget: 0 };
  private readonly done: Promise<void>;
  private resolveDone!: () => void;

  constructor(private readonly o: WriterOptions) {
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
    this.enqueue(this.header(), 0);
    this.enqueue(ARRAY_OPEN, HEADER_BYTES);
    // 'wx': never follow or overwrite an existing file; 0600: recordings are sensitive.
    open(o.path, 'wx', 0o600, (err, fd) => {
      if (err) {
        this.stop(err.code ?? 'open', err);
        this.finishClose();
        return;
      }
      if (this.closed) {
        close(fd, () => {}); // given up on meanwhile (see broken)
        return;
      }
      this.fd = fd;
      o.onOpen();
      this.pump();
    });
  }

  /** Resolves when the file is closed. */
  get closedPromise(): Promise<void> {
    return this.done;
  }

  fromClient(data: Buffer): void {
    try {
      this.frame(true, data);
    } catch (e) {
      this.broken(e);
    }
  }

  fromTarget(data: Buffer): void {
    try {
      this.frame(false, data);
    } catch (e) {
      this.broken(e);
    }
  }

  end(): void {
    try {
      this.finish();
    } catch (e) {
      this.broken(e);
    }
  }

  /** Nothing may be thrown into the relay: an unexpected error ends the recording only. */
  private broken(e: unknown): void {
    this.stop('other', e as NodeJS.ErrnoException);
    this.queue.length = 0;
    this.queued = 0;
    this.ended = true;
    if (!this.writing) this.finishClose();
  }

  private finish(): void {
    if (this.ended) return;
    this.ended = true;
    if (!this.stopped) {
      this.stopped = true;
      this.enqueue(TRAILER, this.size);
    }
    // The final header (duration, counts, protocol, truncation) goes over the first one.
    if (this.fd !== null || !this.closed) this.enqueue(this.header(), 0);
    this.pump();
  }

  private frame(fromClient: boolean, data: Buffer): void {
    if (this.stopped || data.length === 0) return;
    if (this.protocol === undefined) this.protocol = sniffProtocol(fromClient, data);
    if (fromClient && !this.o.input) return;
    const line = encodeFrame(
      fromClient,
      Math.max(0, Math.round(performance.now() - this.startedAt)),
      data,
    );
    if (this.o.maxBytes > 0 && this.size + line.length + TRAILER.length > this.o.maxBytes) {
      this.stop('max-bytes');
      this.enqueue(TRAILER, this.size);
      this.pump();
      return;
    }
    if (this.queued + line.length > this.o.maxBacklog) {
      // The disk is slower than the session: stop rather than buffer without bound.
      this.stop('backlog');
      this.enqueue(TRAILER, this.size);
      this.pump();
      return;
    }
    const k = fromClient ? 'fromClient' : 'fromTarget';
    this.frames[k]++;
    this.bytes[k] += data.length;
    this.enqueue(line, this.size);
    this.pump();
  }

  private header(): Buffer {
    const ended = this.ended;
    return encodeHeader({
      v: 1,
      ...this.o.header,
      protocol: this.protocol ?? 'unknown',
      input: this.o.input,
      ...(ended
        ? {
            durationMs: Math.round(performance.now() - this.startedAt),
            frames: { ...this.frames },
            bytes: { ...this.bytes },
          }
        : {}),
      ...(this.truncated !== undefined ? { truncated: this.truncated } : {}),
    });
  }

  private enqueue(buf: Buffer, pos: number): void {
    this.queue.push({ buf, pos, grows: pos >= this.size });
    this.queued += buf.length;
    if (pos === this.size) this.size += buf.length;
    else if (pos + buf.length > this.size) this.size = pos + buf.length;
  }

  /** Stops taking frames; what is queued still goes to the file. */
  private stop(reason: string, err?: NodeJS.ErrnoException): void {
    if (this.truncated !== undefined) return;
    this.stopped = true;
    this.truncated = reason;
    this.o.onStop(reason, err);
  }

  private pump(): void {
    if (this.writing || this.fd === null || this.closed) return;
    if (this.queue.length === 0) {
      if (this.ended) this.finishClose();
      return;
    }
    // Contiguous appends go out as one write.
    const first = this.queue.shift()!;
    const parts = [first.buf];
    let end = first.pos + first.buf.length;
    let grown = first.grows ? first.buf.length : 0;
    while (this.queue.length > 0 && this.queue[0]!.pos === end) {
      const next = this.queue.shift()!;
      parts.push(next.buf);
      end += next.buf.length;
      if (next.grows) grown += next.buf.length;
    }
    const buf = parts.length === 1 ? first.buf : Buffer.concat(parts);
    this.writing = true;
    this.writeAll(buf, first.pos, (err) => {
      this.writing = false;
      this.queued -= buf.length;
      if (err) {
        this.fail(err);
        return;
      }
      if (grown > 0) this.o.onWritten(grown);
      this.pump();
    });
  }

  private writeAll(buf: Buffer, pos: number, cb: (err: NodeJS.ErrnoException | null) => void) {
    write(this.fd!, buf, 0, buf.length, pos, (err, n) => {
      if (err) return cb(err);
      if (n < buf.length) return this.writeAll(buf.subarray(n), pos + n, cb);
      cb(null);
    });
  }

  /** A write failed (ENOSPC, EROFS, EFBIG, EIO...): drop the queue, try to mark the header, close. */
  private fail(err: NodeJS.ErrnoException): void {
    const first = this.truncated === undefined;
    this.stop(err.code ?? 'EIO', err);
    this.queue.length = 0;
    this.queued = 0;
    if (first) {
      // Rewriting bytes already on disk needs no new blocks, so it mostly works on a
      // full disk; if not, the file simply keeps its first header.
      const header = this.header();
      this.writing = true;
      write(this.fd!, header, 0, header.length, 0, () => {
        this.writing = false;
        this.finishClose();
      });
      return;
    }
    this.finishClose();
  }

  private finishClose(): void {
    if (this.closed) return;
    this.closed = true;
    this.stopped = true;
    this.queue.length = 0;
    const fd = this.fd;
    this.fd = null;
    const finish = () => {
      this.o.onClosed();
      this.resolveDone();
    };
    if (fd === null) finish();
    else close(fd, finish);
  }
}
