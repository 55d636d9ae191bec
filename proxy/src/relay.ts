/**
 * One relayed session: WebSocket messages to the target's TCP stream and back, with
 * backpressure both ways. This is the hot path: every field is set in the constructor,
 * handlers are shared by all sessions, and nothing per chunk allocates, logs or reads config.
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

/**
 * Listeners are module-level functions shared by every session: `this` is the emitter,
 * and the emitter carries its Relay under this symbol. Per-session closures (and the
 * contexts they keep alive) were a tenth of an idle session's heap.
 */
const kRelay = Symbol('wsgate.relay');
const relayOf = (emitter: object) => (emitter as { [kRelay]: Relay })[kRelay];

function onTargetData(this: object, chunk: Buffer): void {
  relayOf(this).fromTarget(chunk);
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
function onClientMessage(this: object, data: Buffer): void {
  relayOf(this).fromClient(data);
}
function onClientPong(this: object): void {
  relayOf(this).alive = true;
}
function onClientError(this: object, err: Error): void {
  relayOf(this).clientError(err);
}
function onClientClose(this: object, code: number, reason: Buffer): void {
  relayOf(this).clientClosed(code, reason);
}

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
  /** Set once the proxy has sent its close frame: client data has nowhere to go. */
  private closing = false;
  private wsClosed = false;
  private tcpClosed = false;

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
    (target as Socket & { [kRelay]?: Relay })[kRelay] = this;
    (ws as WebSocket & { [kRelay]?: Relay })[kRelay] = this;
    target.on('data', onTargetData);
    target.on('end', onTargetEnd);
    target.on('error', onTargetError);
    target.on('close', onTargetClose);
    ws.on('message', onClientMessage);
    ws.on('pong', onClientPong);
    ws.on('error', onClientError);
    ws.on('close', onClientClose);
  }

  fromTarget(chunk: Buffer): void {
    this.bytesTargetToClient += chunk.length;
    this.ws.send(chunk, SEND_OPTIONS);
    if (this.clientSocket.writableLength > this.highWaterMark && !this.targetPaused) {
      this.targetPaused = true;
      this.target.pause();
      // Only under backpressure: a closure here costs nothing in the idle case.
      this.clientSocket.once('drain', () => {
        this.targetPaused = false;
        this.target.resume();
      });
    }
  }

  fromClient(data: Buffer): void {
    // Read only to reach the client's close frame; writing it would re-pause the client
    // on a target that will never drain (a reset one) or has been ended.
    if (this.closing) return;
    this.bytesClientToTarget += data.length;
    if (!this.target.write(data) && !this.clientPaused) {
      this.clientPaused = true;
      this.ws.pause();
      this.target.once('drain', () => {
        this.clientPaused = false;
        this.ws.resume();
      });
    }
  }

  targetClosed(): void {
    this.tcpClosed = true;
    if (this.ws.readyState === this.ws.OPEN) this.close(CLOSES.targetClosed, 'target');
    this.maybeEnd();
  }

  clientError(err: Error): void {
    // ws has already chosen the close code (1009 for oversize, 1002/1007 for bad
    // frames) and is closing; remember it for the log line.
    if (!this.closeCode) {
      this.closeCode = (err as unknown as Record<symbol, number>)[kStatusCode(err)] ?? 1002;
      this.closeReason = err.message;
      this.closedBy = 'client';
    }
  }

  clientClosed(code: number, reason: Buffer): void {
    this.wsClosed = true;
    if (!this.closeCode) {
      this.closeCode = code;
      this.closeReason = reason.toString();
      this.closedBy = 'client';
    }
    // Let queued bytes reach the target, then close our side.
    if (!this.tcpClosed) this.target.end();
    this.maybeEnd();
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
    this.closing = true;
    if (this.clientPaused) {
      // Paused waiting for a target drain that may never come (a reset target does not
      // drain): read on, or the client's answer to our close frame is never seen and
      // the connection waits out the close timeout.
      this.clientPaused = false;
      this.ws.resume();
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
