/**
 * One relayed session: WebSocket messages to the target's TCP stream and back, with
 * backpressure both ways. This is the hot path: every field is set in the constructor,
 * handlers are bound once, and nothing per chunk allocates, logs or reads config.
 */
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import { CLOSES } from './errors.js';

/** What the server needs to know when a session ends (for the log line and metrics). */
export interface SessionEnd {
  closeCode: number;
  closeReason: string;
  /** Who ended it: the client, the target, or the proxy (idle, shutdown, ...). */
  closedBy: 'client' | 'target' | 'proxy';
}

const SEND_OPTIONS = { binary: true } as const;

export class Relay {
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
  readonly startedAt: number;
  private closeCode = 0;
  private closeReason = '';
  private closedBy: SessionEnd['closedBy'] = 'client';
  private ended = false;
  private wsClosed = false;
  private tcpClosed = false;

  private readonly onTargetData: (chunk: Buffer) => void;
  private readonly onClientMessage: (data: Buffer) => void;
  private readonly resumeTarget: () => void;
  private readonly resumeClient: () => void;

  constructor(
    readonly ws: WebSocket,
    /** The client's raw socket (TCP or TLS): its write buffer is what we bound. */
    private readonly clientSocket: Duplex,
    readonly target: Socket,
    private readonly highWaterMark: number,
    private readonly onEnd: (relay: Relay, end: SessionEnd) => void,
  ) {
    this.startedAt = performance.now();
    this.idleSince = this.startedAt;

    this.onTargetData = (chunk) => {
      this.bytesTargetToClient += chunk.length;
      this.ws.send(chunk, SEND_OPTIONS);
      if (this.clientSocket.writableLength > this.highWaterMark && !this.targetPaused) {
        this.targetPaused = true;
        this.target.pause();
        this.clientSocket.once('drain', this.resumeTarget);
      }
    };
    this.resumeTarget = () => {
      this.targetPaused = false;
      this.target.resume();
    };
    this.onClientMessage = (data) => {
      this.bytesClientToTarget += data.length;
      if (!this.target.write(data) && !this.clientPaused) {
        this.clientPaused = true;
        this.ws.pause();
        this.target.once('drain', this.resumeClient);
      }
    };
    this.resumeClient = () => {
      this.clientPaused = false;
      this.ws.resume();
    };

    target.on('data', this.onTargetData);
    target.on('end', () => this.close(CLOSES.targetClosed, 'target'));
    target.on('error', (err: NodeJS.ErrnoException) =>
      this.close(
        { code: CLOSES.targetError.code, reason: `target error: ${err.code ?? 'unknown'}` },
        'target',
      ),
    );
    target.on('close', () => {
      this.tcpClosed = true;
      if (this.ws.readyState === this.ws.OPEN) this.close(CLOSES.targetClosed, 'target');
      this.maybeEnd();
    });

    ws.on('message', this.onClientMessage);
    ws.on('pong', () => (this.alive = true));
    ws.on('error', (err: Error & { code?: string }) => {
      // ws has already chosen the close code (1009 for oversize, 1002/1007 for bad
      // frames) and is closing; remember it for the log line.
      if (!this.closeCode) {
        this.closeCode = (err as unknown as Record<symbol, number>)[kStatusCode(err)] ?? 1002;
        this.closeReason = err.message;
        this.closedBy = 'client';
      }
    });
    ws.on('close', (code, reason) => {
      this.wsClosed = true;
      if (!this.closeCode) {
        this.closeCode = code;
        this.closeReason = reason.toString();
        this.closedBy = 'client';
      }
      // Let queued bytes reach the target, then close our side.
      if (!this.tcpClosed) this.target.end();
      this.maybeEnd();
    });
  }

  /** Ends the session from the proxy's or the target's side with a close frame. */
  close(how: { code: number; reason: string }, by: SessionEnd['closedBy'] = 'proxy'): void {
    if (!this.closeCode) {
      this.closeCode = how.code;
      this.closeReason = how.reason;
      this.closedBy = by;
    }
    if (this.ws.readyState === this.ws.OPEN || this.ws.readyState === this.ws.CONNECTING) {
      this.ws.close(how.code, how.reason);
    }
    if (by !== 'target' && !this.tcpClosed) this.target.end();
  }

  /** For dead peers (missed pong): no close handshake to wait for. */
  terminate(reason: string): void {
    if (!this.closeCode) {
      this.closeCode = 1006;
      this.closeReason = reason;
      this.closedBy = 'proxy';
    }
    this.ws.terminate();
    this.target.destroy();
  }

  /** Bytes buffered by the proxy for this session in both directions. */
  bufferedBytes(): number {
    return this.clientSocket.writableLength + this.target.writableLength;
  }

  private maybeEnd(): void {
    if (this.ended || !this.wsClosed) return;
    if (!this.tcpClosed) {
      // The client is gone; don't wait forever for a target that ignores our FIN.
      setTimeout(() => this.target.destroy(), 5000).unref();
      return;
    }
    this.ended = true;
    this.onEnd(this, {
      closeCode: this.closeCode,
      closeReason: this.closeReason,
      closedBy: this.closedBy,
    });
  }
}

/** ws keeps the close code of a protocol error under a symbol named `status-code`. */
function kStatusCode(err: object): symbol {
  return Object.getOwnPropertySymbols(err).find((s) => s.description === 'status-code') ?? Symbol();
}
