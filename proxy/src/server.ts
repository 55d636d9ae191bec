/**
 * The proxy's WebSocket server, put together from its parts: the Listener (plain/TLS,
 * PROXY protocol, handshake timers) hands each upgrade here; Admission decides whether
 * it may become a session; the target is dialled (target-dial.ts); the 101 is sent and
 * LiveSessions starts the Relay. Refusals happen before the upgrade (HTTP status); after
 * it, sessions end with a close code. The sweeps (heartbeat, idle, max session) run
 * while listening, and `drain` ends the sessions gracefully.
 */
import type { IncomingMessage, Server } from 'node:http';
import type { AddressInfo, BlockList, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { Admission, type Admitted, type Refused } from './admission.js';
import { REFUSALS } from './errors.js';
import { acceptUpgrade, writeRefusal } from './handshake.js';
import { Listener } from './listener.js';
import { LiveSessions } from './live-sessions.js';
import type { ProxyMetrics } from './metrics.js';
import type { Limits } from './policy/limits.js';
import type { OriginPolicy } from './policy/origins.js';
import type { TargetPolicy } from './policy/targets.js';
import type { UnixDirPolicy } from './policy/unix-dirs.js';
import type { Recordings } from './recording/recordings.js';
import type { Relay } from './relay.js';
import type { SessionRegistry, TargetLimitPolicy } from './sessions.js';
import { drainSessions, startSweeps, stopSweeps } from './sweeps.js';
import { dialTarget, DialError } from './target-dial.js';
import type { TlsCredentials } from './tls.js';
import { chooseProtocol, offeredProtocols } from './tokens/extract.js';
import type { Target, TokenResolver } from './tokens/types.js';
import type { HostPort } from '../../lib/address.js';

export interface ProxyServerOptions {
  listen: HostPort;
  /** Every session goes here, no token needed (websockify positional mode). */
  fixedTarget?: Target;
  resolvers: readonly TokenResolver[];
  /**
   * The allow-list for dialled addresses. Targets from resolvers named in
   * `trustedResolvers` (the token file, whose author chose them) skip it unless
   * `enforceForTrusted`; others are refused when the list is empty.
   */
  targetPolicy: TargetPolicy;
  /** `--allow-unix-dir`: Unix socket targets are refused outside these (and without it). */
  unixDirs?: UnixDirPolicy;
  trustedResolvers: ReadonlySet<string>;
  enforceForTrusted: boolean;
  origins: OriginPolicy;
  limits: Limits;
  trustedProxies?: BlockList;
  proxyProtocol: boolean;
  tls?: TlsCredentials;
  clientSubjects: readonly string[];
  targetTls: boolean;
  targetCa?: Buffer;
  handshakeTimeoutMs: number;
  connectTimeoutMs: number;
  idleTimeoutMs: number;
  maxSessionMs: number;
  heartbeatMs: number;
  maxMessageBytes: number;
  /** `--max-sessions-per-target` (0 = unlimited) and what happens at it. */
  maxSessionsPerTarget?: number;
  targetLimitPolicy?: TargetLimitPolicy;
  /** `--end-at-ticket-expiry`. */
  endAtTicketExpiry?: boolean;
  /** Session recording (`--record-dir`), if configured. */
  recordings?: Recordings;
  metrics: ProxyMetrics;
  logger: Logger;
}

export class ProxyServer {
  readonly http: Server;
  /** Live relays, in start order. */
  readonly sessions: ReadonlySet<Relay>;
  /** Live sessions by id and target: audit, per-target limit, ticket expiry, admin API. */
  readonly registry: SessionRegistry<Relay>;
  draining = false;
  private listening = false;
  private readonly listener: Listener;
  private readonly admission: Admission;
  private readonly live: LiveSessions;
  private timers: NodeJS.Timeout[] = [];
  private nextConn = 0;
  private readonly connPrefix = process.pid.toString(36) + '-';

  constructor(private readonly options: ProxyServerOptions) {
    this.live = new LiveSessions(options);
    this.sessions = this.live.relays;
    this.registry = this.live.registry;
    this.admission = new Admission({ ...options, registry: this.registry });
    this.listener = new Listener({
      ...options,
      onUpgrade: (req, socket, head) => {
        this.onUpgrade(req, socket, head).catch((err: Error) => {
          this.options.logger.error({ err: err.message }, 'upgrade failed');
          socket.destroy();
        });
      },
      isDraining: () => this.draining,
    });
    this.http = this.listener.http;
  }

  /** Starts listening; resolves with the bound address (port 0 picks a free one). */
  async listen(): Promise<AddressInfo> {
    const address = await this.listener.listen();
    this.listening = true;
    this.timers = startSweeps(this.sessions, this.options);
    return address;
  }

  get ready(): boolean {
    return this.listening && !this.draining;
  }

  /** Adds live sessions' byte counts to the metrics (called before each scrape). */
  flushBytes(): void {
    this.live.flushBytes();
  }

  /**
   * Graceful shutdown: refuse new upgrades with 503, let open sessions run for up to
   * `timeoutMs`, then close the rest with 1001, and stop listening.
   */
  async drain(timeoutMs: number): Promise<void> {
    this.draining = true;
    this.options.logger.info({ sessions: this.sessions.size, timeoutMs }, 'draining');
    await drainSessions(this.sessions, timeoutMs);
    await this.close();
  }

  /** Stops timers and the listener; open sessions are terminated. */
  async close(): Promise<void> {
    stopSweeps(this.timers);
    this.live.terminateAll('closed');
    this.listening = false;
    await this.listener.close();
  }

  private async onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const o = this.options;
    const conn = this.connPrefix + (++this.nextConn).toString(36);
    const peer = this.listener.peerAddress(req.socket) ?? '';
    const admitted = await this.admission.admit(req, peer, this.draining);
    if (admitted.refusal) return this.refuse(socket, conn, admitted);
    const { target, targetName } = admitted;

    const connectStart = performance.now();
    let tcp: Socket;
    try {
      tcp = await dialTarget(target, {
        timeoutMs: o.connectTimeoutMs,
        policy: admitted.trusted && !o.enforceForTrusted ? undefined : o.targetPolicy,
        tls: o.targetTls,
        ca: o.targetCa,
        unixDirs: o.unixDirs,
      });
    } catch (e) {
      if (!(e instanceof DialError)) throw e;
      this.admission.abandon(admitted);
      return this.refuse(socket, conn, {
        refusal: e.refusal,
        detail:
          e.refusal === REFUSALS.targetForbidden || target.unix !== undefined
            ? e.detail
            : `${targetName}: ${e.detail}`,
        client: admitted.client,
        token: admitted.token,
      });
    }
    o.metrics.upstreamConnect.observe((performance.now() - connectStart) / 1000);

    if (!socket.writable) {
      // The client gave up, or its handshake timer fired (already counted), meanwhile.
      this.admission.abandon(admitted);
      tcp.destroy();
      socket.destroy();
      return;
    }
    if (this.draining) {
      tcp.destroy();
      this.admission.abandon(admitted);
      return this.refuse(socket, conn, {
        refusal: REFUSALS.draining,
        client: admitted.client,
        token: admitted.token,
      });
    }
    this.listener.clearHandshakeTimer(req.socket);
    this.accept(req, socket, head, tcp, conn, admitted);
  }

  private accept(
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    tcp: Socket,
    conn: string,
    admitted: Admitted,
  ): void {
    const protocol = chooseProtocol(
      new Set(offeredProtocols(req.headers['sec-websocket-protocol'])),
    );
    acceptUpgrade(req, socket, protocol);
    const { client, token, targetName, ticket } = admitted;
    this.live.start(socket, head, tcp, {
      audit: { conn, client, target: targetName, subject: ticket.subject },
      token,
      protocol,
      record: ticket.record,
      expiresAt: ticket.expiresAt,
      consoleKey: admitted.consoleKey,
    });
    admitted.releaseTarget();
  }

  private refuse(socket: Duplex, conn: string, r: Refused): void {
    const { refusal, detail, client, token } = r;
    this.options.metrics.connection(refusal.result);
    this.options.logger.info(
      { conn, client, token, code: refusal.code, status: refusal.status, detail },
      'handshake refused',
    );
    writeRefusal(socket, refusal, detail);
  }
}
