/**
 * The admin API (`--admin-listen`, off by default): list the open sessions and close
 * them, by id or by target. It has its own listener so it can stay off the public
 * network, and a bearer token (`--admin-token-file`, re-read on change) compared in
 * constant time. With `--tls-cert` it serves HTTPS with the main listener's certificate
 * (reloaded alike) but asks for no client certificate: the token is the credential.
 *
 *   GET    /sessions                    → 200 {"sessions": [SessionView, ...]}
 *   DELETE /sessions/{id}               → 200 {"closed": [SessionView]} | 404
 *   DELETE /sessions?target=HOST:PORT   → 200 {"closed": [SessionView, ...]}
 *
 * Every call is logged with the caller's address, never the token.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { ADMIN_ERRORS, type AdminError } from './errors.js';
import type { SessionRegistry, SessionRelay, SessionView } from './sessions.js';
import { TlsCredentials, type TlsSettings } from './tls.js';
import { watchKeyFile } from './tokens/key-file.js';
import type { HostPort } from '../../lib/address.js';

/** Where the admin API's answers come from: this process, or every worker (workers.ts). */
export interface SessionControl {
  list(): Promise<SessionView[]>;
  closeById(id: string): Promise<SessionView | undefined>;
  closeByTarget(target: string): Promise<SessionView[]>;
}

/** Thrown by a control that could not ask everyone (a worker did not answer): 503. */
export class ControlUnavailable extends Error {}

/** The sessions of this process. */
export function localControl(registry: SessionRegistry<SessionRelay>): SessionControl {
  return {
    list: () => Promise.resolve(registry.list()),
    closeById: (id) => Promise.resolve(registry.closeById(id)),
    closeByTarget: (target) => Promise.resolve(registry.closeByTarget(target)),
  };
}

/** Shortest admin token accepted: guessing must not be an option. */
export const MIN_TOKEN_LENGTH = 16;

/** The token file's content: one line, surrounding whitespace ignored; stored as a digest. */
export function parseAdminToken(content: Buffer): Buffer {
  const token = content.toString('utf8').trim();
  if (token.length < MIN_TOKEN_LENGTH) {
    throw new RangeError(`must hold a token of at least ${MIN_TOKEN_LENGTH} characters`);
  }
  if (/\s/.test(token)) throw new RangeError('the token must be one word');
  return digest(token);
}

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/**
 * Whether the request's `Authorization: Bearer <token>` matches. Both sides are SHA-256
 * digests, so `timingSafeEqual` compares equal lengths and the time taken says nothing
 * about the token, not even its length.
 */
export function authorized(header: string | undefined, expected: Buffer): boolean {
  const m = /^Bearer (\S+)$/i.exec(header?.trim() ?? '');
  const same = timingSafeEqual(digest(m?.[1] ?? ''), expected);
  return same && m !== null;
}

export interface AdminOptions {
  listen: HostPort;
  tokenFile: string;
  control: SessionControl;
  /** The main listener's certificate files: serve HTTPS with them. */
  tls?: Pick<TlsSettings, 'certFile' | 'keyFile' | 'minVersion' | 'ciphers'>;
  logger: Logger;
}

export interface AdminServer {
  server: Server;
  address: AddressInfo;
  close(): Promise<void>;
}

/** Reads the token file (throwing, naming it, if unusable) and starts listening. */
export async function startAdminServer(o: AdminOptions): Promise<AdminServer> {
  const token = watchKeyFile({
    setting: '--admin-token-file',
    path: o.tokenFile,
    parse: parseAdminToken,
    onReload: (file) => o.logger.info({ file }, 'admin token reloaded'),
    onReloadError: (err, file) =>
      o.logger.error({ file, err: err.detail }, 'admin token reload failed; keeping the last'),
  });
  let tls: TlsCredentials | undefined;
  try {
    tls = o.tls
      ? new TlsCredentials(o.tls, {
          onReload: (result, detail) =>
            o.logger[result === 'ok' ? 'info' : 'error'](detail, `admin TLS certificate ${result}`),
        })
      : undefined;
  } catch (e) {
    token.close();
    throw e;
  }
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res, token.value, o).catch((err: Error) => {
      o.logger.error({ err: err.message }, 'admin request failed');
      if (!res.headersSent) res.writeHead(500, { connection: 'close' });
      res.end();
    });
  };
  let server: Server;
  if (tls) {
    // The token is the credential: no client certificate is asked for here.
    const https = createHttpsServer(
      { ...tls.serverOptions(), requestCert: false, rejectUnauthorized: false },
      handler,
    );
    tls.attach(https);
    server = https;
  } else {
    server = createServer(handler);
  }
  server.requestTimeout = 10_000;
  server.headersTimeout = 10_000;
  server.keepAliveTimeout = 5_000;
  const close = () => {
    token.close();
    tls?.close();
    return new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  };
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(o.listen.port, o.listen.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (e) {
    await close();
    throw e;
  }
  return { server, address: server.address() as AddressInfo, close };
}

async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  expected: Buffer,
  o: AdminOptions,
): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://admin');
  const log = {
    client: req.socket.remoteAddress,
    method: req.method,
    path: url.pathname,
    target: url.searchParams.get('target') ?? undefined,
  };
  const fail = (e: AdminError, extra: Record<string, string> = {}) => {
    o.logger.info({ ...log, status: e.status, code: e.code }, 'admin request refused');
    send(
      res,
      e.status,
      { error: e.code, message: e.message },
      { 'x-wsgate-error': e.code, ...extra },
    );
  };
  // Authenticate before saying anything about paths, so probing learns nothing.
  if (!authorized(req.headers.authorization, expected)) {
    return fail(ADMIN_ERRORS.unauthorized, { 'www-authenticate': 'Bearer realm="wsgate-admin"' });
  }
  const one = /^\/sessions\/([^/]+)$/.exec(url.pathname);
  if (url.pathname !== '/sessions' && !one) return fail(ADMIN_ERRORS.notFound);
  const allowed = one ? 'DELETE' : 'GET, DELETE';
  if (!allowed.split(', ').includes(req.method ?? '')) {
    return fail(ADMIN_ERRORS.badMethod, { allow: allowed });
  }
  try {
    if (req.method === 'GET') {
      const sessions = await o.control.list();
      o.logger.info({ ...log, status: 200, sessions: sessions.length }, 'admin request');
      return send(res, 200, { sessions });
    }
    let closed: SessionView[];
    if (one) {
      const id = decodeURIComponent(one[1]!);
      const found = await o.control.closeById(id);
      if (!found) return fail(ADMIN_ERRORS.sessionNotFound);
      closed = [found];
    } else {
      const target = url.searchParams.get('target');
      if (!target) return fail(ADMIN_ERRORS.badRequest);
      closed = await o.control.closeByTarget(target);
    }
    o.logger.info(
      { ...log, status: 200, closed: closed.map((s) => s.id) },
      'admin closed sessions',
    );
    send(res, 200, { closed });
  } catch (e) {
    if (e instanceof ControlUnavailable) return fail(ADMIN_ERRORS.unavailable);
    throw e;
  }
}

function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, {
    'content-type': 'application/json',
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(JSON.stringify(body) + '\n');
}
