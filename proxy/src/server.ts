/**
 * The proxy's WebSocket listener: accepts upgrades, resolves tokens, connects targets
 * and hands each pair to a Relay. Refusals happen before the upgrade (HTTP status);
 * after it, sessions end with a close code. Owns timers for heartbeat and idle sweep,
 * and the drain sequence.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { WebSocketServer, type WebSocket } from 'ws';
import { CLOSES, REFUSALS, type Refusal } from './errors.js';
import { checkHandshake, writeRefusal } from './handshake.js';
import type { ProxyMetrics } from './metrics.js';
import { Relay, type SessionEnd } from './relay.js';
import { chooseProtocol, extractToken } from './tokens/extract.js';
import type { Target, TokenResolver } from './tokens/types.js';
import { connectTarget, UpstreamError } from './upstream.js';
import { formatHostPort, type HostPort } from './util/address.js';

/** Pause the target once this many bytes wait to be written to a slow client. */
export const HIGH_WATER_MARK = 512 * 1024;

export interface ProxyServerOptions {
  listen: HostPort;
  /** Every session goes here, no token needed (websockify positional mode). */
  fixedTarget?: Target;
  resolvers: readonly TokenResolver[];
  handshakeTimeoutMs: number;
  connectTimeoutMs: number;
  idleTimeoutMs: number;
  heartbeatMs: number;
  maxMessageBytes: number;
  metrics: ProxyMetrics;
  logger: Logger;
}

interface Refused {
  refusal: Refusal;
  detail?: string;
}

/** Tokens are secrets: logs get a short hash that still correlates attempts. */
export function tokenHash(token: string): string {
  return 'sha256:' + createHash('sha256').update(token).digest('hex').slice(0, 12);
}

export class ProxyServer {
  readonly http: Server;
  readonly sessions = new Set<Relay>();
  draining = false;
  private listening = false;
  private readonly wss: WebSocketServer;
  private readonly handshakeTimers = new Map<string, NodeJS.Timeout>();
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly sessionInfo = new WeakMap<
    Relay,
    { conn: string; client: string; target: string }
  >();
  private nextConn = 0;
  private readonly connPrefix = process.pid.toString(36) + '-';

  constructor(private readonly options: ProxyServerOptions) {
    this.wss = new WebSocketServer({
      noServer: true,
      clientTracking: false,
      perMessageDeflate: false,
      maxPayload: options.maxMessageBytes,
      skipUTF8Validation: true,
      handleProtocols: (offered) => chooseProtocol(offered),
    });
    this.http = createServer();
    this.http.on('connection', (socket: Socket) => this.onConnection(socket));
    this.http.on('request', (req: IncomingMessage, res) => {
      this.clearHandshakeTimer(`${req.socket.remoteAddress}|${req.socket.remotePort}`);
      const refusal = this.draining ? REFUSALS.draining : REFUSALS.notWebSocket;
      res.writeHead(refusal.status, {
        'content-type': 'text/plain; charset=utf-8',
        'x-wsgate-error': refusal.code,
        ...(refusal.status === 426 ? { upgrade: 'websocket', connection: 'Upgrade' } : {}),
      });
      res.end(refusal.message + '\n');
    });
    this.http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      void this.onUpgrade(req, socket, head);
    });
    this.http.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
      // Garbage instead of HTTP, oversized headers, or a reset mid-request.
      if (err.code !== 'ECONNRESET') {
        this.options.metrics.connection('bad_request');
        this.options.logger.info({ err: err.code ?? err.message }, 'malformed request');
      }
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
      socket.destroy();
    });
  }

  /** Starts listening; resolves with the bound address (port 0 picks a free one). */
  listen(): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.http.once('error', reject);
      this.http.listen(this.options.listen.port, this.options.listen.host, () => {
        this.http.off('error', reject);
        this.listening = true;
        this.startTimers();
        resolve(this.http.address() as AddressInfo);
      });
    });
  }

  get ready(): boolean {
    return this.listening && !this.draining;
  }

  /** Adds live sessions' byte counts to the metrics (called before each scrape). */
  flushBytes(): void {
    for (const s of this.sessions) this.flushSession(s);
  }

  /**
   * Graceful shutdown: refuse new upgrades with 503, let open sessions run for up to
   * `timeoutMs`, then close the rest with 1001, and stop listening.
   */
  async drain(timeoutMs: number): Promise<void> {
    this.draining = true;
    this.options.logger.info({ sessions: this.sessions.size, timeoutMs }, 'draining');
    await this.waitForSessions(timeoutMs);
    for (const s of this.sessions) s.close(CLOSES.shutdown);
    // The close handshake normally takes a round trip; don't wait on dead peers.
    await this.waitForSessions(2000);
    for (const s of this.sessions) s.terminate('shutdown');
    await this.close();
  }

  /** Stops timers and the listener; open sessions are terminated. */
  async close(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    for (const t of this.handshakeTimers.values()) clearTimeout(t);
    for (const s of this.sessions) s.terminate('closed');
    this.listening = false;
    await new Promise<void>((resolve) => {
      this.http.close(() => resolve());
      this.http.closeAllConnections();
    });
  }

  private waitForSessions(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    return new Promise((resolve) => {
      const check = () => {
        if (this.sessions.size === 0 || Date.now() >= deadline) resolve();
        else setTimeout(check, 50);
      };
      check();
    });
  }

  private onConnection(socket: Socket): void {
    socket.setNoDelay(true);
    socket.on('error', () => {}); // resets are routine; the session's own handlers report.
    const key = `${socket.remoteAddress}|${socket.remotePort}`;
    const timer = setTimeout(() => {
      this.handshakeTimers.delete(key);
      this.options.metrics.connection('bad_request');
      this.options.logger.info({ client: socket.remoteAddress }, 'handshake timeout');
      socket.destroy();
    }, this.options.handshakeTimeoutMs);
    this.handshakeTimers.set(key, timer);
    socket.once('close', () => this.clearHandshakeTimer(key));
  }

  private clearHandshakeTimer(key: string): void {
    const timer = this.handshakeTimers.get(key);
    if (timer) {
      clearTimeout(timer);
      this.handshakeTimers.delete(key);
    }
  }

  private async onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const client = req.socket.remoteAddress ?? '';
    const conn = this.connPrefix + (++this.nextConn).toString(36);
    let tokenId: string | undefined;
    const refuse = ({ refusal, detail }: Refused) => {
      this.options.metrics.connection(refusal.result);
      this.options.logger.info(
        { conn, client, token: tokenId, code: refusal.code, status: refusal.status, detail },
        'handshake refused',
      );
      writeRefusal(socket, refusal, detail);
    };

    if (this.draining) return refuse({ refusal: REFUSALS.draining });
    const bad = checkHandshake(req);
    if (bad) return refuse({ refusal: bad });

    let target: Target;
    if (this.options.fixedTarget) {
      target = this.options.fixedTarget;
    } else {
      const found = extractToken(req);
      if (!found) return refuse({ refusal: REFUSALS.noToken });
      tokenId = tokenHash(found.token);
      const resolved = await this.resolve(found.token);
      if ('refusal' in resolved) return refuse(resolved);
      target = resolved;
    }

    const connectStart = performance.now();
    let tcp: Socket;
    try {
      tcp = await connectTarget(target, this.options.connectTimeoutMs);
    } catch (e) {
      if (!(e instanceof UpstreamError)) throw e;
      return refuse({ refusal: e.refusal, detail: `${formatHostPort(target)}: ${e.detail}` });
    }
    this.options.metrics.upstreamConnect.observe((performance.now() - connectStart) / 1000);

    if (!socket.writable) {
      // The client gave up, or its handshake timer fired (already counted), meanwhile.
      tcp.destroy();
      socket.destroy();
      return;
    }
    if (this.draining) {
      tcp.destroy();
      return refuse({ refusal: REFUSALS.draining });
    }
    this.clearHandshakeTimer(`${req.socket.remoteAddress}|${req.socket.remotePort}`);
    this.wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
      this.startSession(ws, socket, tcp, { conn, client, target: formatHostPort(target) }, tokenId);
    });
  }

  private async resolve(token: string): Promise<Target | Refused> {
    for (const resolver of this.options.resolvers) {
      let result;
      try {
        result = await resolver.resolve(token);
      } catch (e) {
        // A resolver that throws fails closed: treat as refused, never fall through.
        result = {
          kind: 'refused' as const,
          reason: `${resolver.name} resolver failed: ${(e as Error).message}`,
        };
      }
      this.options.metrics.tokenResolutions.labels(resolver.name, result.kind).inc();
      if (result.kind === 'target') return result.target;
      if (result.kind === 'refused')
        return { refusal: REFUSALS.tokenRefused, detail: result.reason };
    }
    return { refusal: REFUSALS.unknownToken };
  }

  private startSession(
    ws: WebSocket,
    socket: Duplex,
    tcp: Socket,
    info: { conn: string; client: string; target: string },
    token: string | undefined,
  ): void {
    const relay = new Relay(ws, socket, tcp, HIGH_WATER_MARK, (r, end) => this.endSession(r, end));
    this.sessions.add(relay);
    this.sessionInfo.set(relay, info);
    this.options.metrics.connection('ok');
    this.options.metrics.connectionsActive.inc();
    this.options.logger.info(
      { ...info, token, protocol: ws.protocol || undefined },
      'connection opened',
    );
  }

  private flushSession(s: Relay): void {
    const { metrics } = this.options;
    metrics.bytesClientToTarget.inc(s.bytesClientToTarget - s.flushedClientToTarget);
    metrics.bytesTargetToClient.inc(s.bytesTargetToClient - s.flushedTargetToClient);
    s.flushedClientToTarget = s.bytesClientToTarget;
    s.flushedTargetToClient = s.bytesTargetToClient;
  }

  private endSession(s: Relay, end: SessionEnd): void {
    if (!this.sessions.delete(s)) return;
    this.flushSession(s);
    const seconds = (performance.now() - s.startedAt) / 1000;
    const { metrics, logger } = this.options;
    metrics.connectionsActive.dec();
    metrics.connectionDuration.observe(seconds);
    logger.info(
      {
        ...this.sessionInfo.get(s),
        bytesClientToTarget: s.bytesClientToTarget,
        bytesTargetToClient: s.bytesTargetToClient,
        durationMs: Math.round(seconds * 1000),
        closeCode: end.closeCode,
        closeReason: end.closeReason,
        closedBy: end.closedBy,
      },
      'connection closed',
    );
  }

  private startTimers(): void {
    const { heartbeatMs, idleTimeoutMs } = this.options;
    if (heartbeatMs > 0) {
      this.timers.push(
        setInterval(() => {
          for (const s of this.sessions) {
            if (!s.alive) {
              s.terminate('heartbeat: no pong');
              continue;
            }
            s.alive = false;
            s.ws.ping();
          }
        }, heartbeatMs),
      );
    }
    if (idleTimeoutMs > 0) {
      // One sweep for all sessions instead of a timer reset per chunk.
      const every = Math.max(50, Math.min(1000, idleTimeoutMs / 4));
      this.timers.push(
        setInterval(() => {
          const now = performance.now();
          for (const s of this.sessions) {
            const total = s.bytesClientToTarget + s.bytesTargetToClient;
            if (total !== s.lastActivityBytes) {
              s.lastActivityBytes = total;
              s.idleSince = now;
            } else if (now - s.idleSince >= idleTimeoutMs) {
              s.close(CLOSES.idle);
            }
          }
        }, every),
      );
    }
    for (const t of this.timers) t.unref();
  }
}
