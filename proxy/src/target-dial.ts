/**
 * Opens the connection to a target: resolve the name, check every candidate address
 * against the allow-list (the address dialled is the one checked, so DNS rebinding
 * cannot escape it), connect with a deadline, and optionally wrap in verified TLS.
 * Failures map to the refusal catalogue.
 */
import { lookup } from 'node:dns/promises';
import { isIP, Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { REFUSALS, type Refusal } from './errors.js';
import type { TargetPolicy } from './policy/targets.js';
import type { UnixDirPolicy } from './policy/unix-dirs.js';
import { TARGET_READS } from './relay.js';
import type { Target } from './tokens/types.js';

/** Shared, so the listener does not keep the dial's closure scope (timer, promise) alive. */
const ignoreError = () => {};

export class DialError extends Error {
  constructor(
    readonly refusal: Refusal,
    readonly detail: string,
  ) {
    super(`${refusal.message}: ${detail}`);
  }
}

export interface DialOptions {
  timeoutMs: number;
  /** Undefined: the target is trusted as named (it came from the token file). */
  policy?: TargetPolicy;
  /** TLS to the target: for every target, or when the token asks (oVirt `ssl_target`). */
  tls: boolean;
  /** CA bundle for the target's certificate; default the system store. */
  ca?: Buffer;
  /** `--allow-unix-dir`: where Unix socket targets may be; none allowed without it. */
  unixDirs?: UnixDirPolicy;
}

async function addressesOf(host: string): Promise<string[]> {
  if (isIP(host)) return [host];
  try {
    return (await lookup(host, { all: true, verbatim: true })).map((a) => a.address);
  } catch (e) {
    throw new DialError(
      REFUSALS.targetUnreachable,
      `${host}: ${(e as NodeJS.ErrnoException).code ?? e}`,
    );
  }
}

/**
 * Resolves with a connected socket that is not yet flowing: VNC servers speak first,
 * and their greeting must wait in the socket's buffer until the relay is attached.
 */
export async function dialTarget(target: Target, options: DialOptions): Promise<Socket> {
  if (target.unix !== undefined) return dialUnix(target.unix, options);
  const deadline = Date.now() + options.timeoutMs;
  let addresses = await addressesOf(target.host);
  if (options.policy) {
    addresses = addresses.filter((a) => options.policy!.allows(a, target.port));
    if (addresses.length === 0) {
      throw new DialError(
        REFUSALS.targetForbidden,
        `${target.host}:${target.port} is not in --allow-target`,
      );
    }
  }
  // Like websockify (and browsers), try each address in turn: `localhost` may resolve
  // to ::1 first while the target listens on 127.0.0.1 only.
  const tls = options.tls || target.tls === true;
  let socket: Socket | undefined;
  let failure: unknown;
  for (const address of addresses) {
    const left = deadline - Date.now();
    if (left <= 0) break;
    try {
      socket = await connectTcp({ host: address, port: target.port }, left, !tls);
      break;
    } catch (e) {
      failure = e;
    }
  }
  if (!socket) {
    throw (
      failure ?? new DialError(REFUSALS.targetTimeout, `no answer within ${options.timeoutMs} ms`)
    );
  }
  if (!tls) return socket;
  return wrapTls(socket, target.host, options.ca, Math.max(1, deadline - Date.now()));
}

/**
 * A Unix socket target: allowed only under `--allow-unix-dir` (checked on the real path,
 * so symlinks and `..` cannot escape), then dialled without TLS: the socket is local.
 */
async function dialUnix(path: string, options: DialOptions): Promise<Socket> {
  const check = options.unixDirs
    ? await options.unixDirs.check(path)
    : { ok: false as const, reason: `${path}: no --allow-unix-dir given`, code: undefined };
  if (!check.ok) {
    // Allowed by name but not there (ENOENT, EACCES on the way): the target is unreachable.
    const refusal = check.code === undefined ? REFUSALS.unixForbidden : REFUSALS.targetUnreachable;
    throw new DialError(refusal, check.reason);
  }
  return connectTcp({ path: check.path }, options.timeoutMs, true);
}

/**
 * Connects to `host:port` or a Unix socket `path`. `relayReads`: read into the relay's
 * reused buffer (TARGET_READS) instead of a fresh one per read; not for sockets TLS will
 * wrap, which read the handle themselves. Either way the socket stays paused until the
 * relay attaches.
 */
function connectTcp(
  where: { host: string; port: number } | { path: string },
  timeoutMs: number,
  relayReads: boolean,
): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = new Socket(
      relayReads ? { onread: TARGET_READS, noDelay: true } : { noDelay: true },
    );
    socket.pause();
    socket.connect(where);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new DialError(REFUSALS.targetTimeout, `no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    const onError = (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      const refusal =
        err.code === 'ECONNREFUSED' ? REFUSALS.targetRefused : REFUSALS.targetUnreachable;
      reject(new DialError(refusal, err.code ?? err.message));
    };
    socket.once('error', onError);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.off('error', onError);
      // Until the relay attaches its own handler, an error must not crash the process.
      socket.on('error', ignoreError);
      resolve(socket);
    });
  });
}

function wrapTls(
  socket: Socket,
  host: string,
  ca: Buffer | undefined,
  timeoutMs: number,
): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const secure = tlsConnect({
      socket,
      // SNI must be a name; for an IP target the certificate's IP SANs are checked.
      servername: isIP(host) ? undefined : host,
      host,
      ca,
      rejectUnauthorized: true,
    });
    const timer = setTimeout(() => {
      secure.destroy();
      reject(
        new DialError(REFUSALS.targetTimeout, `TLS handshake not done within ${timeoutMs} ms`),
      );
    }, timeoutMs);
    const onError = (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      socket.destroy();
      reject(new DialError(REFUSALS.targetTls, err.code ?? err.message));
    };
    secure.once('error', onError);
    secure.once('secureConnect', () => {
      clearTimeout(timer);
      secure.off('error', onError);
      secure.on('error', () => {});
      resolve(secure);
    });
  });
}
