/**
 * The relayed sessions of one proxy process and their accounting: each Relay is started
 * here, counted (`wsgate_connections_total{result="ok"}`, the active gauge, bytes,
 * duration), logged on open and close (never the token), registered in the
 * SessionRegistry (per-target limit, ticket expiry, admin API) and, when it ends, given
 * back its connection slot. The registry (sessions.ts) stays pure bookkeeping over an
 * opaque relay; this module is where a session meets metrics, logs and limits.
 */
import type { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import type { ProxyMetrics } from './metrics.js';
import type { Limits } from './policy/limits.js';
import type { Recordings } from './recording/recordings.js';
import { Relay, type SessionEnd } from './relay.js';
import { SessionRegistry, type TargetLimitPolicy } from './sessions.js';

/** Pause the target once this many bytes wait to be written to a slow client. */
export const HIGH_WATER_MARK = 512 * 1024;
/**
 * Pause the client once this many bytes wait to be written to a slow target. One client
 * read (up to 64 KiB) may land on top, so a stalled target costs at most about 128 KiB.
 */
export const TARGET_HIGH_WATER_MARK = 64 * 1024;

export interface LiveSessionsOptions {
  maxMessageBytes: number;
  /** `--max-sessions-per-target` (0 = unlimited) and what happens at it. */
  maxSessionsPerTarget?: number;
  targetLimitPolicy?: TargetLimitPolicy;
  /** `--end-at-ticket-expiry`. */
  endAtTicketExpiry?: boolean;
  /** Session recording (`--record-dir`), if configured. */
  recordings?: Recordings;
  /** Where each session's connection slot is given back when it ends. */
  limits: Limits;
  metrics: ProxyMetrics;
  logger: Logger;
}

/** The session's audit facts, logged on open and close (never the token). */
export interface SessionLog {
  conn: string;
  client: string;
  target: string;
  subject?: string;
}

/** How a session starts: what the audit log, the recording and the registry need. */
export interface SessionStart {
  audit: SessionLog;
  /** The token's hash, for the 'connection opened' line. */
  token: string | undefined;
  protocol: string | false;
  record?: boolean;
  expiresAt?: number;
  consoleKey: string;
}

/** The sessions of one ProxyServer, from the 101 until the relay ends. */
export class LiveSessions {
  /** Every relay from its start until it ended (a Set keeps start order). */
  readonly relays = new Set<Relay>();
  /** Live sessions by id and target: audit, per-target limit, ticket expiry, admin API. */
  readonly registry: SessionRegistry<Relay>;

  constructor(private readonly options: LiveSessionsOptions) {
    this.registry = new SessionRegistry<Relay>({
      maxPerTarget: options.maxSessionsPerTarget ?? 0,
      policy: options.targetLimitPolicy ?? 'refuse',
      onProxyClose: (reason) => options.metrics.sessionsClosedByProxy.labels(reason).inc(),
    });
  }

  get size(): number {
    return this.relays.size;
  }

  /**
   * Starts relaying an upgraded client to its dialled target: counts and logs it
   * ('connection opened'), then registers it (the per-target limit's `replace` closes
   * the oldest here, once the new session stands; the ticket-expiry timer).
   */
  start(socket: Duplex, head: Buffer, tcp: Socket, s: SessionStart): Relay {
    const { recordings, metrics, logger } = this.options;
    const info = s.audit;
    const relay = new Relay(
      socket,
      head,
      tcp,
      {
        clientHighWaterMark: HIGH_WATER_MARK,
        targetHighWaterMark: TARGET_HIGH_WATER_MARK,
        maxMessageBytes: this.options.maxMessageBytes,
        // Given to the constructor so bytes that came with the upgrade request are recorded too.
        recorder: recordings?.start({ session: info.conn, ...info, record: s.record }) ?? null,
      },
      this.onSessionEnd,
    );
    this.relays.add(relay);
    metrics.connection('ok');
    metrics.connectionsActive.inc();
    logger.info(
      { ...info, token: s.token, protocol: s.protocol || undefined },
      'connection opened',
    );
    // The relay may have ended already (a close frame in `head`, a dead target).
    if (this.relays.has(relay)) {
      const { conn: id, client, target, subject } = info;
      this.registry.add(
        relay,
        { id, client, target, subject, expiresAt: s.expiresAt, console: s.consoleKey },
        this.options.endAtTicketExpiry ?? false,
      );
    }
    return relay;
  }

  /** Adds live sessions' byte counts to the metrics (called before each scrape). */
  flushBytes(): void {
    for (const s of this.relays) this.flush(s);
  }

  /** Ends every session at once (closing the proxy); stops the expiry timers. */
  terminateAll(reason: string): void {
    this.registry.close();
    for (const s of this.relays) s.terminate(reason);
  }

  private flush(s: Relay): void {
    const { metrics } = this.options;
    metrics.bytesClientToTarget.inc(s.bytesClientToTarget - s.flushedClientToTarget);
    metrics.bytesTargetToClient.inc(s.bytesTargetToClient - s.flushedTargetToClient);
    s.flushedClientToTarget = s.bytesClientToTarget;
    s.flushedTargetToClient = s.bytesTargetToClient;
  }

  private readonly onSessionEnd = (s: Relay, end: SessionEnd) => this.end(s, end);

  private end(s: Relay, end: SessionEnd): void {
    if (!this.relays.delete(s)) return;
    const registered = this.registry.remove(s);
    const info: SessionLog | undefined = registered && {
      conn: registered.id,
      client: registered.client,
      target: registered.target,
      subject: registered.subject,
    };
    if (info) this.options.limits.release(info.client);
    this.flush(s);
    const seconds = (performance.now() - s.startedAt) / 1000;
    const { metrics, logger } = this.options;
    metrics.connectionsActive.dec();
    metrics.connectionDuration.observe(seconds);
    logger.info(
      {
        ...info,
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
}
