/**
 * The proxy's WebSocket listener: accepts upgrades, resolves tokens, connects targets
 * and hands each pair to a Relay. Refusals happen before the upgrade (HTTP status);
 * after it, sessions end with a close code. Owns timers for heartbeat and idle sweep,
 * and the drain sequence.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import {
  createServer as createNetServer,
  type AddressInfo,
  type BlockList,
  type Server as NetServer,
  type Socket,
} from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { CLOSES, REFUSALS, type Refusal } from './errors.js';
import { acceptUpgrade, checkHandshake, writeRefusal } from './handshake.js';
import type { ProxyMetrics } from './metrics.js';
import { Relay, type SessionEnd } from './relay.js';
import { chooseProtocol, extractToken, offeredProtocols } from './tokens/extract.js';
import type { Target, TokenResolver } from './tokens/types.js';
import { dialTarget, UpstreamError } from './target-dial.js';
import { clientAddress } from './client-ip.js';
import type { Limits } from './policy/limits.js';
import type { OriginPolicy } from './policy/origins.js';
import type { TargetPolicy } from './policy/targets.js';
import type { UnixDirPolicy } from './policy/unix-dirs.js';
import { targetName as nameOf } from './tokens/target-claims.js';
import { parseProxyHeader } from './proxy-protocol.js';
import type { Recordings, SessionFacts } from './recording/recordings.js';
import { clientSubjectAllowed, type TlsCredentials } from './tls.js';
import type { HostPort } from './util/address.js';
import { SessionRegistry, type TargetLimitPolicy } from './sessions.js';

/** Pause the target once this many bytes wait to be written to a slow client. */
export const HIGH_WATER_MARK = 512 * 1024;
/**
 * Pause the client once this many bytes wait to be written to a slow target. One client
 * read (up to 64 KiB) may land on top, so a stalled target costs at most about 128 KiB.
 */
export const TARGET_HIGH_WATER_MARK = 64 * 1024;

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

/** What we know about a TCP connection before (and while) it becomes a session. */
interface ConnectionState {
  timer: NodeJS.Timeout | undefined;
  /** Source address from a PROXY protocol header. */
  source?: string;
}

/** What a signed ticket says about the session beyond its target (see SessionFacts). */
type SessionTicket = Pick<SessionFacts, 'subject' | 'record'> & { expiresAt?: number };

interface Refused {
  refusal: Refusal;
  detail?: string;
}

/** What a resolver said about a token that it accepted. */
interface Resolved extends SessionTicket {
  target: Target;
  resolver: string;
}

/** The session's audit facts, logged on open and close (never the token). */
interface SessionLog {
  conn: string;
  client: string;
  target: string;
  subject?: string;
}

/** Tokens are secrets: logs get a short hash that still correlates attempts. */
export function tokenHash(token: string): string {
  return 'sha256:' + createHash('sha256').update(token).digest('hex').slice(0, 12);
}

const kServer = Symbol('wsgate.server');
/** Shared listeners: a per-connection closure would keep its scope alive for the session. */
const ignoreError = () => {};
function onSocketClose(this: Socket & { [kServer]: ProxyServer }): void {
  this[kServer].socketClosed(this);
}

export class ProxyServer {
  readonly http: Server;
  readonly sessions = new Set<Relay>();
  draining = false;
  private listening = false;
  private readonly front: NetServer | undefined;
  private readonly connections = new Map<string, ConnectionState>();
  /** TLS sockets whose handshake failed (see the tlsClientError listener). */
  private readonly tlsFailed = new WeakSet<object>();
  private readonly timers: NodeJS.Timeout[] = [];
  /** Live sessions by id and target: audit, per-target limit, ticket expiry, admin API. */
  readonly registry: SessionRegistry<Relay>;
  private nextConn = 0;
  private readonly connPrefix = process.pid.toString(36) + '-';

  constructor(private readonly options: ProxyServerOptions) {
    this.registry = new SessionRegistry<Relay>({
      maxPerTarget: options.maxSessionsPerTarget ?? 0,
      policy: options.targetLimitPolicy ?? 'refuse',
      onProxyClose: (reason) => options.metrics.sessionsClosedByProxy.labels(reason).inc(),
    });
    if (options.tls) {
      const https = createHttpsServer(options.tls.serverOptions());
      options.tls.attach(https);
      // Prepended: https.Server re-emits every tlsClientError as a clientError, whose
      // handler below must know this failure has been counted and logged already.
      https.prependListener('tlsClientError', (err: NodeJS.ErrnoException, socket: TLSSocket) => {
        this.tlsFailed.add(socket);
        if (err.code === 'ECONNRESET' && !socket.authorizationError) {
          // The client left before finishing the handshake, e.g. a load balancer's or
          // kubelet's TCP check: not a bad request, as on the plain port, where a reset
          // mid-request is not counted either. (A refused client certificate also ends
          // in a reset, but with authorizationError set.)
          this.options.logger.debug({ client: socket.remoteAddress }, 'left during TLS handshake');
          return;
        }
        // Scanners, plain HTTP on the TLS port, clients without an acceptable certificate.
        this.options.metrics.connection('bad_request');
        this.options.logger.info(
          {
            client: socket.remoteAddress,
            err: err.code ?? err.message,
            // An untrusted client certificate ends in a bare reset; this says why.
            authorizationError: socket.authorizationError ?? undefined,
          },
          'TLS handshake failed',
        );
      });
      this.http = https;
    } else {
      this.http = createServer();
    }
    this.http.on('connection', (socket: Socket) => this.onConnection(socket));
    this.http.on('request', (req: IncomingMessage, res) => {
      this.clearHandshakeTimer(req.socket);
      const refusal = this.draining ? REFUSALS.draining : REFUSALS.notWebSocket;
      // Counted and logged like every other refusal (README: 426 is `bad_request`).
      this.options.metrics.connection(refusal.result);
      this.options.logger.info(
        {
          client: this.peerAddress(req.socket),
          method: req.method,
          code: refusal.code,
          status: refusal.status,
        },
        'handshake refused',
      );
      res.writeHead(refusal.status, {
        'content-type': 'text/plain; charset=utf-8',
        'x-wsgate-error': refusal.code,
        // `close`: with the handshake timer cleared, a kept-alive connection could
        // dribble a second request for as long as Node's own header timeout allows.
        ...(refusal.status === 426
          ? { upgrade: 'websocket', connection: 'Upgrade, close' }
          : { connection: 'close' }),
      });
      res.end(refusal.message + '\n');
    });
    const upgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      this.onUpgrade(req, socket, head).catch((err: Error) => {
        this.options.logger.error({ err: err.message }, 'upgrade failed');
        socket.destroy();
      });
    };
    this.http.on('upgrade', upgrade);
    // CONNECT never reaches 'upgrade' or 'request', and without a listener Node drops
    // the socket unanswered and uncounted; the handshake checks answer it 405.
    this.http.on('connect', upgrade);
    this.http.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
      if (this.tlsFailed.has(socket)) {
        socket.destroy(); // a failed TLS handshake, counted above
        return;
      }
      // Garbage instead of HTTP, oversized headers, or a reset mid-request.
      if (err.code === 'ECONNRESET') return void socket.destroy();
      const refusal =
        err.code === 'HPE_HEADER_OVERFLOW' ? REFUSALS.headersTooLarge : REFUSALS.malformed;
      this.options.metrics.connection(refusal.result);
      this.options.logger.info(
        { err: err.code ?? err.message, code: refusal.code },
        'malformed request',
      );
      // Ends, then destroys once flushed, so the answer is not lost on TLS sockets.
      writeRefusal(socket, refusal);
    });
    if (options.proxyProtocol) {
      this.front = createNetServer((socket) => this.readProxyHeader(socket));
    }
  }

  /** Starts listening; resolves with the bound address (port 0 picks a free one). */
  listen(): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      const server = this.front ?? this.http;
      server.once('error', reject);
      server.listen(this.options.listen.port, this.options.listen.host, () => {
        server.off('error', reject);
        this.listening = true;
        this.startTimers();
        resolve(server.address() as AddressInfo);
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
    for (const c of this.connections.values()) clearTimeout(c.timer);
    this.registry.close();
    for (const s of this.sessions) s.terminate('closed');
    this.listening = false;
    await new Promise<void>((resolve) => {
      this.front?.close();
      if (!this.http.listening && !this.front) return resolve();
      this.http.close(() => resolve());
      this.http.closeAllConnections();
      if (this.front) resolve();
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
    const key = connectionKey(socket);
    if (this.connections.get(key)?.timer) return; // already seen by the PROXY front
    socket.setNoDelay(true);
    socket.on('error', ignoreError); // resets are routine; the session's own handlers report.
    const state: ConnectionState = this.connections.get(key) ?? { timer: undefined };
    state.timer = setTimeout(() => {
      state.timer = undefined;
      this.options.metrics.connection('bad_request');
      this.options.logger.info(
        { client: state.source ?? socket.remoteAddress },
        'handshake timeout',
      );
      socket.destroy();
    }, this.options.handshakeTimeoutMs);
    this.connections.set(key, state);
    (socket as Socket & { [kServer]: ProxyServer })[kServer] = this;
    socket.on('close', onSocketClose);
  }

  /** The client's address: the PROXY protocol header's source, else the TCP peer. */
  private peerAddress(socket: Socket): string | undefined {
    return this.connections.get(connectionKey(socket))?.source ?? socket.remoteAddress;
  }

  private clearHandshakeTimer(socket: Socket): void {
    const state = this.connections.get(connectionKey(socket));
    if (state?.timer) {
      clearTimeout(state.timer);
      state.timer = undefined;
    }
  }

  /** PROXY protocol: read the header (bounded by the handshake timer), then hand over. */
  private readProxyHeader(socket: Socket): void {
    this.onConnection(socket);
    let buffered = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      const header = parseProxyHeader(buffered);
      if (header.state === 'incomplete') return;
      socket.off('data', onData);
      if (header.state === 'invalid') {
        this.options.metrics.connection('bad_request');
        this.options.logger.info(
          { client: socket.remoteAddress, err: header.reason },
          'bad PROXY protocol header',
        );
        socket.destroy();
        return;
      }
      const state = this.connections.get(connectionKey(socket));
      if (state && header.source) state.source = header.source.address;
      socket.pause();
      const rest = buffered.subarray(header.length);
      if (rest.length) socket.unshift(rest);
      this.http.emit('connection', socket);
      // A TLS server reads the handle itself and takes the bytes already buffered (a
      // ClientHello that came in the same segment as the header) on its first read, a
      // tick later; resuming would flow them out first as 'data' nobody listens to.
      if (!this.options.tls) socket.resume();
    };
    socket.on('data', onData);
  }

  private async onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const o = this.options;
    const peer = this.peerAddress(req.socket) ?? '';
    const client = clientAddress(peer, req.headers['x-forwarded-for'], o.trustedProxies);
    const conn = this.connPrefix + (++this.nextConn).toString(36);
    let tokenId: string | undefined;
    let slot = false;
    /** The per-target reservation, released when the handshake ends either way. */
    let releaseTarget: (() => void) | undefined = undefined;
    const refuse = ({ refusal, detail }: Refused) => {
      if (slot) o.limits.release(client);
      releaseTarget?.();
      o.metrics.connection(refusal.result);
      o.logger.info(
        { conn, client, token: tokenId, code: refusal.code, status: refusal.status, detail },
        'handshake refused',
      );
      writeRefusal(socket, refusal, detail);
    };

    if (this.draining) return refuse({ refusal: REFUSALS.draining });
    const bad = checkHandshake(req);
    if (bad) return refuse({ refusal: bad });
    const rate = o.limits.takeHandshake(client);
    if (rate) return refuse({ refusal: rate });
    const origin = o.origins.check(req.headers.origin, req.headers.host);
    if (!origin.allowed)
      return refuse({ refusal: REFUSALS.originForbidden, detail: origin.reason });
    if (o.clientSubjects.length) {
      const cn = (req.socket as TLSSocket).getPeerCertificate?.()?.subject?.CN;
      if (!clientSubjectAllowed(o.clientSubjects, typeof cn === 'string' ? cn : undefined)) {
        return refuse({
          refusal: REFUSALS.clientCertificate,
          detail: `subject CN ${JSON.stringify(cn ?? '')}`,
        });
      }
    }
    const full = o.limits.acquire(client);
    if (full) return refuse({ refusal: full });
    slot = true;

    let target: Target;
    let trusted: boolean;
    let ticket: SessionTicket = {};
    if (o.fixedTarget) {
      target = o.fixedTarget;
      trusted = true;
    } else {
      const found = extractToken(req);
      if (!found) return refuse({ refusal: REFUSALS.noToken });
      tokenId = tokenHash(found.token);
      const resolved = await this.resolve(found.token, client);
      if ('refusal' in resolved) return refuse(resolved);
      target = resolved.target;
      trusted = o.trustedResolvers.has(resolved.resolver);
      ticket = resolved;
    }
    const targetName = nameOf(target);
    // One console = one token from one client (SPICE opens a WebSocket per channel).
    const consoleKey = `${tokenId ?? ''}|${client}`;
    releaseTarget = this.registry.reserve(targetName, consoleKey);
    if (!releaseTarget) return refuse({ refusal: REFUSALS.targetBusy, detail: targetName });

    const connectStart = performance.now();
    let tcp: Socket;
    try {
      tcp = await dialTarget(target, {
        timeoutMs: o.connectTimeoutMs,
        policy: trusted && !o.enforceForTrusted ? undefined : o.targetPolicy,
        tls: o.targetTls,
        ca: o.targetCa,
        unixDirs: o.unixDirs,
      });
    } catch (e) {
      if (!(e instanceof UpstreamError)) throw e;
      return refuse({
        refusal: e.refusal,
        detail:
          e.refusal === REFUSALS.targetForbidden || target.unix !== undefined
            ? e.detail
            : `${targetName}: ${e.detail}`,
      });
    }
    o.metrics.upstreamConnect.observe((performance.now() - connectStart) / 1000);

    if (!socket.writable) {
      // The client gave up, or its handshake timer fired (already counted), meanwhile.
      o.limits.release(client);
      releaseTarget();
      tcp.destroy();
      socket.destroy();
      return;
    }
    if (this.draining) {
      tcp.destroy();
      return refuse({ refusal: REFUSALS.draining });
    }
    this.clearHandshakeTimer(req.socket);
    const protocol = chooseProtocol(
      new Set(offeredProtocols(req.headers['sec-websocket-protocol'])),
    );
    acceptUpgrade(req, socket, protocol);
    const audit: SessionLog = { conn, client, target: targetName, subject: ticket.subject };
    const relay = this.startSession(socket, head, tcp, audit, {
      token: tokenId,
      protocol,
      record: ticket.record,
    });
    this.sessionStarted(relay, audit, ticket.expiresAt, consoleKey);
    releaseTarget();
  }

  private async resolve(token: string, client: string): Promise<Resolved | Refused> {
    for (const resolver of this.options.resolvers) {
      let result;
      try {
        result = await resolver.resolve(token, { client });
      } catch (e) {
        // A resolver that throws fails closed: treat as refused, never fall through.
        result = {
          kind: 'refused' as const,
          reason: `${resolver.name} resolver failed: ${(e as Error).message}`,
        };
      }
      this.options.metrics.tokenResolutions.labels(resolver.name, result.kind).inc();
      if (result.kind === 'target') {
        const { target, expiresAt, subject, record } = result;
        return { target, resolver: resolver.name, expiresAt, subject, record };
      }
      if (result.kind === 'refused')
        return { refusal: result.refusal ?? REFUSALS.tokenRefused, detail: result.reason };
    }
    return { refusal: REFUSALS.unknownToken };
  }

  private startSession(
    socket: Duplex,
    head: Buffer,
    tcp: Socket,
    info: SessionLog,
    {
      token,
      protocol,
      record,
    }: { token: string | undefined; protocol: string | false; record?: boolean },
  ): Relay {
    const { recordings } = this.options;
    const relay = new Relay(
      socket,
      head,
      tcp,
      {
        clientHighWaterMark: HIGH_WATER_MARK,
        targetHighWaterMark: TARGET_HIGH_WATER_MARK,
        maxMessageBytes: this.options.maxMessageBytes,
        // Given to the constructor so bytes that came with the upgrade request are recorded too.
        recorder: recordings?.start({ session: info.conn, ...info, record }) ?? null,
      },
      this.onSessionEnd,
    );
    this.sessions.add(relay);
    this.options.metrics.connection('ok');
    this.options.metrics.connectionsActive.inc();
    this.options.logger.info(
      { ...info, token, protocol: protocol || undefined },
      'connection opened',
    );
    return relay;
  }

  private flushSession(s: Relay): void {
    const { metrics } = this.options;
    metrics.bytesClientToTarget.inc(s.bytesClientToTarget - s.flushedClientToTarget);
    metrics.bytesTargetToClient.inc(s.bytesTargetToClient - s.flushedTargetToClient);
    s.flushedClientToTarget = s.bytesClientToTarget;
    s.flushedTargetToClient = s.bytesTargetToClient;
  }

  /** The accepted socket closed: forget its handshake state (see onConnection). */
  socketClosed(socket: Socket): void {
    const key = connectionKey(socket);
    clearTimeout(this.connections.get(key)?.timer);
    this.connections.delete(key);
  }

  /**
   * Registers the session that `startSession` opened (after its 'connection opened'
   * line): the per-target limit (`replace` closes the oldest here, once the new session
   * stands) and the ticket-expiry timer.
   */
  private sessionStarted(
    relay: Relay,
    audit: SessionLog,
    expiresAt: number | undefined,
    consoleKey: string,
  ): void {
    if (!this.sessions.has(relay)) return;
    const { conn: id, client, target, subject } = audit;
    this.registry.add(
      relay,
      { id, client, target, subject, expiresAt, console: consoleKey },
      this.options.endAtTicketExpiry ?? false,
    );
  }

  private readonly onSessionEnd = (s: Relay, end: SessionEnd) => this.endSession(s, end);

  private endSession(s: Relay, end: SessionEnd): void {
    if (!this.sessions.delete(s)) return;
    const registered = this.registry.remove(s);
    const info: SessionLog | undefined = registered && {
      conn: registered.id,
      client: registered.client,
      target: registered.target,
      subject: registered.subject,
    };
    if (info) this.options.limits.release(info.client);
    this.flushSession(s);
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

  private startTimers(): void {
    const { heartbeatMs, idleTimeoutMs, maxSessionMs } = this.options;
    if (heartbeatMs > 0) {
      this.timers.push(
        setInterval(() => {
          for (const s of this.sessions) {
            if (!s.alive) {
              s.terminate('heartbeat: no pong');
              continue;
            }
            s.alive = false;
            s.ping();
          }
        }, heartbeatMs),
      );
    }
    if (idleTimeoutMs > 0 || maxSessionMs > 0) {
      // One sweep for all sessions instead of a timer reset per chunk.
      const shortest = Math.min(...[idleTimeoutMs, maxSessionMs].filter((ms) => ms > 0));
      const every = Math.max(50, Math.min(1000, shortest / 4));
      this.timers.push(
        setInterval(() => {
          const now = performance.now();
          for (const s of this.sessions) {
            if (maxSessionMs > 0 && now - s.startedAt >= maxSessionMs) {
              s.close(CLOSES.maxSession);
              continue;
            }
            if (idleTimeoutMs <= 0) continue;
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

/** TLS sockets proxy remoteAddress/remotePort from their TCP socket, so both map alike. */
function connectionKey(socket: { remoteAddress?: string; remotePort?: number }): string {
  return `${socket.remoteAddress}|${socket.remotePort}`;
}
