/**
 * The proxy's listening socket: plain HTTP or TLS, optionally behind a PROXY protocol
 * front. It answers everything that is not an upgrade (plain requests, garbage, failed
 * TLS handshakes) with a counted, logged refusal, bounds each connection's handshake with
 * a timer, and remembers the PROXY header's source address per connection. Upgrades
 * (and CONNECTs, which the handshake checks refuse) go to the `onUpgrade` handler.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import {
  createServer as createNetServer,
  type AddressInfo,
  type Server as NetServer,
  type Socket,
} from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { REFUSALS } from './errors.js';
import { writeRefusal } from './handshake.js';
import type { ProxyMetrics } from './metrics.js';
import { parseProxyHeader } from './proxy-protocol.js';
import type { TlsCredentials } from './tls.js';
import type { HostPort } from '../../lib/address.js';

export interface ListenerOptions {
  listen: HostPort;
  proxyProtocol: boolean;
  tls?: TlsCredentials;
  handshakeTimeoutMs: number;
  metrics: ProxyMetrics;
  logger: Logger;
  /** An upgrade request (or a CONNECT) arrived; the handshake timer still runs. */
  onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Whether plain requests are answered `draining` (503) rather than 426. */
  isDraining(): boolean;
}

/** What we know about a TCP connection before (and while) it becomes a session. */
interface ConnectionState {
  timer: NodeJS.Timeout | undefined;
  /** Source address from a PROXY protocol header. */
  source?: string;
}

const kListener = Symbol('wsgate.listener');
/** Shared listeners: a per-connection closure would keep its scope alive for the session. */
const ignoreError = () => {};
function onSocketClose(this: Socket & { [kListener]: Listener }): void {
  this[kListener].socketClosed(this);
}

/** One proxy's listening socket(s) and the handshake state of each accepted connection. */
export class Listener {
  readonly http: Server;
  private readonly front: NetServer | undefined;
  private readonly connections = new Map<string, ConnectionState>();
  /** TLS sockets whose handshake failed (see the tlsClientError listener). */
  private readonly tlsFailed = new WeakSet<object>();

  constructor(private readonly options: ListenerOptions) {
    if (options.tls) {
      const https = createHttpsServer(options.tls.serverOptions());
      options.tls.attach(https);
      // Prepended: https.Server re-emits every tlsClientError as a clientError, whose
      // handler below must know this failure has been counted and logged already.
      https.prependListener('tlsClientError', (err: NodeJS.ErrnoException, socket: TLSSocket) =>
        this.onTlsClientError(err, socket),
      );
      this.http = https;
    } else {
      this.http = createServer();
    }
    this.http.on('connection', (socket: Socket) => this.onConnection(socket));
    this.http.on('request', (req: IncomingMessage, res) => {
      this.clearHandshakeTimer(req.socket);
      const refusal = options.isDraining() ? REFUSALS.draining : REFUSALS.notWebSocket;
      // Counted and logged like every other refusal (README: 426 is `bad_request`).
      options.metrics.connection(refusal.result);
      options.logger.info(
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
    this.http.on('upgrade', options.onUpgrade);
    // CONNECT never reaches 'upgrade' or 'request', and without a listener Node drops
    // the socket unanswered and uncounted; the handshake checks answer it 405.
    this.http.on('connect', options.onUpgrade);
    this.http.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
      if (this.tlsFailed.has(socket)) {
        socket.destroy(); // a failed TLS handshake, counted above
        return;
      }
      // Garbage instead of HTTP, oversized headers, or a reset mid-request.
      if (err.code === 'ECONNRESET') return void socket.destroy();
      const refusal =
        err.code === 'HPE_HEADER_OVERFLOW' ? REFUSALS.headersTooLarge : REFUSALS.malformed;
      options.metrics.connection(refusal.result);
      options.logger.info(
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
        resolve(server.address() as AddressInfo);
      });
    });
  }

  /** Stops the handshake timers and the listener, and closes every connection. */
  close(): Promise<void> {
    for (const c of this.connections.values()) clearTimeout(c.timer);
    return new Promise<void>((resolve) => {
      this.front?.close();
      if (!this.http.listening && !this.front) return resolve();
      this.http.close(() => resolve());
      this.http.closeAllConnections();
      if (this.front) resolve();
    });
  }

  /** The client's address: the PROXY protocol header's source, else the TCP peer. */
  peerAddress(socket: Socket): string | undefined {
    return this.connections.get(connectionKey(socket))?.source ?? socket.remoteAddress;
  }

  /** The handshake is over (answered or upgraded): its deadline no longer applies. */
  clearHandshakeTimer(socket: Socket): void {
    const state = this.connections.get(connectionKey(socket));
    if (state?.timer) {
      clearTimeout(state.timer);
      state.timer = undefined;
    }
  }

  /** The accepted socket closed: forget its handshake state (see onConnection). */
  socketClosed(socket: Socket): void {
    const key = connectionKey(socket);
    clearTimeout(this.connections.get(key)?.timer);
    this.connections.delete(key);
  }

  private onTlsClientError(err: NodeJS.ErrnoException, socket: TLSSocket): void {
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
    (socket as Socket & { [kListener]: Listener })[kListener] = this;
    socket.on('close', onSocketClose);
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
}

/** TLS sockets proxy remoteAddress/remotePort from their TCP socket, so both map alike. */
function connectionKey(socket: { remoteAddress?: string; remotePort?: number }): string {
  return `${socket.remoteAddress}|${socket.remotePort}`;
}
