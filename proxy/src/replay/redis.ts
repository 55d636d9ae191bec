/**
 * A minimal Redis client over node:net/node:tls speaking RESP2: one connection, commands
 * pipelined in order, every command bounded by a timeout, reconnect with back-off, and a
 * PING while idle so a dead peer is noticed before a ticket needs it. While it is not
 * connected, commands fail at once: callers refuse rather than wait.
 */
import { readFileSync } from 'node:fs';
import { connect as connectTcp, isIP, type Socket } from 'node:net';
import { connect as connectTls } from 'node:tls';
import { encodeCommand, RespError, RespParser, type RespValue } from './resp.js';
import { ReplayStoreUnavailable } from './store.js';

/** Where the store is, from `redis://[USER@]HOST[:PORT][/DB]` or `rediss://…` (TLS). */
export interface RedisAddress {
  host: string;
  port: number;
  db: number;
  tls: boolean;
  username?: string;
}

/** Parses `--replay-store`; throws a RangeError saying what is wrong. Pure. */
export function parseRedisUrl(text: string): RedisAddress {
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    throw new RangeError(`"${text}" is not a URL (redis://HOST:PORT/DB or rediss://…)`);
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') {
    throw new RangeError('must be a redis:// or rediss:// URL');
  }
  // A password in the URL would end up in process listings and the startup log.
  if (u.password !== '') {
    throw new RangeError('put the password in --replay-store-password-file, not the URL');
  }
  if (u.hostname === '') throw new RangeError('needs a host');
  if (u.search !== '' || u.hash !== '') throw new RangeError('takes no query or fragment');
  const db = u.pathname === '' || u.pathname === '/' ? '0' : u.pathname.slice(1);
  if (!/^\d{1,5}$/.test(db)) throw new RangeError(`database "${db}" is not a number`);
  return {
    host: u.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: u.port === '' ? 6379 : Number(u.port),
    db: Number(db),
    tls: u.protocol === 'rediss:',
    username: u.username === '' ? undefined : decodeURIComponent(u.username),
  };
}

/** The URL as logged: what and where, never credentials. */
export function describeRedis(a: RedisAddress): string {
  const host = a.host.includes(':') ? `[${a.host}]` : a.host;
  return `${a.tls ? 'rediss' : 'redis'}://${host}:${a.port}/${a.db}`;
}

export interface RedisClientOptions {
  address: RedisAddress;
  /** Read at every connect, so a rotated password is picked up on reconnect. */
  passwordFile?: string;
  /** PEM CA bundle for `rediss://` (default: the system's). */
  ca?: Buffer;
  /** Default 2000. */
  connectTimeoutMs?: number;
  /** Default 1000: a claim holds a browser's handshake. */
  commandTimeoutMs?: number;
  /** Idle PING interval. Default 2000. */
  pingIntervalMs?: number;
  /** Called when the connection comes up, or goes down (or fails anew) with why. */
  onState?(problem: string | null): void;
}

interface Pending {
  resolve(v: RespValue): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout;
}

const MAX_BACKOFF_MS = 5000;

/**
 * One Redis connection, kept up from construction until {@link RedisClient.close}.
 * Defaults: connect timeout 2000 ms, command timeout 1000 ms, idle PING every 2000 ms,
 * reconnect back-off 100 ms doubling to 5000 ms.
 */
export class RedisClient {
  readonly #o: Required<Omit<RedisClientOptions, 'passwordFile' | 'ca' | 'onState'>> &
    RedisClientOptions;
  #socket: Socket | undefined;
  #parser = new RespParser();
  readonly #pending: Pending[] = [];
  #up = false;
  #problem: string | null = 'not connected yet';
  #backoffMs = 100;
  #retry: NodeJS.Timeout | undefined;
  #ping: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(options: RedisClientOptions) {
    this.#o = { connectTimeoutMs: 2000, commandTimeoutMs: 1000, pingIntervalMs: 2000, ...options };
    this.#connect();
  }

  /** Null when connected, else the last failure. */
  get problem(): string | null {
    return this.#up ? null : this.#problem;
  }

  /** Sends a command; rejects with ReplayStoreUnavailable when not connected or too slow. */
  command(args: readonly (string | number)[]): Promise<RespValue> {
    if (!this.#up || !this.#socket) {
      return Promise.reject(new ReplayStoreUnavailable(this.#problem ?? 'not connected'));
    }
    return this.#send(this.#socket, args);
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#retry);
    clearInterval(this.#ping);
    this.#socket?.destroy();
    this.#fail('closed');
  }

  #send(socket: Socket, args: readonly (string | number)[]): Promise<RespValue> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        // Replies are matched by order: after a lost one the stream cannot be trusted.
        this.#down(`no answer within ${this.#o.commandTimeoutMs}ms`);
      }, this.#o.commandTimeoutMs);
      this.#pending.push({ resolve, reject, timer });
      socket.write(encodeCommand(args));
    });
  }

  #connect(): void {
    if (this.#closed) return;
    const { address: a, connectTimeoutMs } = this.#o;
    const socket = a.tls
      ? connectTls({
          host: a.host,
          port: a.port,
          // SNI takes names only; an address is still checked against the IP SANs.
          servername: isIP(a.host) ? undefined : a.host,
          ca: this.#o.ca,
        })
      : connectTcp({ host: a.host, port: a.port });
    this.#socket = socket;
    this.#parser = new RespParser();
    socket.setNoDelay(true);
    socket.setTimeout(connectTimeoutMs, () => this.#down(`connect timed out`, socket));
    socket.on('error', (e: NodeJS.ErrnoException) => this.#down(e.code ?? e.message, socket));
    socket.on('close', () => this.#down('connection closed', socket));
    socket.on('data', (chunk: Buffer) => {
      let replies: RespValue[];
      try {
        replies = this.#parser.push(chunk);
      } catch (e) {
        return this.#down((e as Error).message, socket);
      }
      for (const r of replies) {
        const p = this.#pending.shift();
        if (!p) return this.#down('unexpected reply', socket);
        clearTimeout(p.timer);
        p.resolve(r);
      }
    });
    socket.once(a.tls ? 'secureConnect' : 'connect', () => {
      socket.setTimeout(0);
      void this.#handshake(socket);
    });
  }

  /** AUTH, SELECT and a PING before anything else may use the connection. */
  async #handshake(socket: Socket): Promise<void> {
    const { address: a, passwordFile } = this.#o;
    try {
      if (passwordFile !== undefined) {
        let password: string;
        try {
          password = readFileSync(passwordFile, 'utf8').replace(/\r?\n$/, '');
        } catch (e) {
          throw new Error(`cannot read ${passwordFile}: ${(e as NodeJS.ErrnoException).code}`, {
            cause: e,
          });
        }
        const auth = a.username ? ['AUTH', a.username, password] : ['AUTH', password];
        expectOk(await this.#send(socket, auth), 'authentication failed');
      }
      if (a.db !== 0) expectOk(await this.#send(socket, ['SELECT', a.db]), 'SELECT failed');
      const pong = await this.#send(socket, ['PING']);
      if (pong instanceof RespError) throw new Error(pong.message);
    } catch (e) {
      return this.#down((e as Error).message, socket);
    }
    if (socket !== this.#socket) return;
    this.#up = true;
    this.#problem = null;
    this.#backoffMs = 100;
    this.#o.onState?.(null);
    this.#ping = setInterval(() => {
      if (this.#pending.length === 0) this.#send(socket, ['PING']).catch(() => {});
    }, this.#o.pingIntervalMs);
    this.#ping.unref();
  }

  /** The connection is unusable: fail what waits, report, and try again later. */
  #down(why: string, socket = this.#socket): void {
    if (socket !== this.#socket || socket === undefined) return;
    this.#socket = undefined;
    socket.destroy();
    clearInterval(this.#ping);
    const wasUp = this.#up;
    this.#up = false;
    const { host, port } = this.#o.address;
    const problem = `${why} (${host.includes(':') ? `[${host}]` : host}:${port})`;
    const changed = wasUp || problem !== this.#problem;
    this.#problem = problem;
    this.#fail(problem);
    if (changed && !this.#closed) this.#o.onState?.(problem);
    if (this.#closed) return;
    this.#retry = setTimeout(() => this.#connect(), this.#backoffMs);
    this.#retry.unref();
    this.#backoffMs = Math.min(this.#backoffMs * 2, MAX_BACKOFF_MS);
  }

  #fail(why: string): void {
    for (const p of this.#pending.splice(0)) {
      clearTimeout(p.timer);
      p.reject(new ReplayStoreUnavailable(why));
    }
  }
}

function expectOk(reply: RespValue, what: string): void {
  if (reply instanceof RespError) throw new Error(`${what}: ${reply.message}`);
}
