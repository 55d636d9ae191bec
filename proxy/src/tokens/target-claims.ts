/**
 * Checks a target named inside a signed or looked-up token. The signature proves who
 * issued it, not that the values are sane, so host and port get the same checks as a
 * command-line target before the allow-list ever sees them.
 */
import { isAbsolute, normalize } from 'node:path';
import { formatHostPort, parseHostPort } from '../../../lib/address.js';
import type { Target } from './types.js';

/** Hostname, IPv4, or IPv6 (optionally bracketed): no spaces, slashes or control characters. */
const HOST = /^[A-Za-z0-9._:%-]+$/;

/**
 * Builds a Target from untrusted `host`, `port` and optional `tls` values. Ports may be
 * numbers or decimal strings (oVirt sends strings). Returns a reason string when they
 * are not acceptable.
 */
export function targetFrom(host: unknown, port: unknown, tls?: unknown): Target | string {
  if (typeof host !== 'string') return 'target host missing';
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (bare === '' || bare.length > 253 || !HOST.test(bare)) return 'target host invalid';
  let portNumber: number;
  if (typeof port === 'number') portNumber = port;
  else if (typeof port === 'string' && /^\d{1,5}$/.test(port)) portNumber = Number(port);
  else return 'target port missing or invalid';
  if (!Number.isInteger(portNumber) || portNumber < 1 || portNumber > 65535) {
    return 'target port out of range';
  }
  if (tls !== undefined && typeof tls !== 'boolean') return 'target tls flag invalid';
  const target: Target = { host: bare, port: portNumber };
  if (tls === true) target.tls = true;
  return target;
}

/**
 * A ticket's subject as it may appear in logs and the admin API: a non-empty string of
 * at most 256 characters without control characters (a log line is one line); anything
 * else is left out rather than trusted.
 */
export function auditSubject(value: unknown): string | undefined {
  if (typeof value !== 'string' || value === '' || value.length > 256) return undefined;
  // eslint-disable-next-line no-control-regex
  return /[\u0000-\u001f\u007f]/.test(value) ? undefined : value;
}

/** websockify's spelling of a Unix socket target in a token file: `token: unix_socket:/path`. */
export const UNIX_PREFIX = 'unix_socket:';

/** Longest socket path the kernel takes (sun_path is 108 bytes with its NUL). */
const MAX_UNIX_PATH = 107;

/**
 * Builds a Unix socket target from an untrusted path: absolute, at most 107 bytes, no
 * NUL, no ':' (websockify's token file splits at the last ':', so such a path would
 * mean something else there). Returns a reason string when it is not acceptable.
 * Whether the proxy may dial it is `--allow-unix-dir`'s question (policy/unix-dirs.ts).
 */
export function unixTargetFrom(path: unknown): Target | string {
  if (typeof path !== 'string' || path === '') return 'unix socket path missing';
  if (!isAbsolute(path)) return 'unix socket path must be absolute';
  if (Buffer.byteLength(path) > MAX_UNIX_PATH) return 'unix socket path too long';
  if (path.includes('\0') || path.includes(':')) return 'unix socket path invalid';
  return { host: '', port: 0, unix: normalize(path) };
}

/**
 * Parses a token file's target: `host:port`, `[v6]:port`, or `unix_socket:/path`.
 * Throws a RangeError naming what is wrong.
 */
export function parseTokenTarget(text: string): Target {
  const value = text.trim();
  if (!value.startsWith(UNIX_PREFIX)) return parseHostPort(value);
  const target = unixTargetFrom(value.slice(UNIX_PREFIX.length));
  if (typeof target === 'string') throw new RangeError(`"${value}": ${target}`);
  return target;
}

/** How a target is named in logs, metrics-free limits and the admin API. */
export function targetName(target: Target): string {
  return target.unix !== undefined ? `unix:${target.unix}` : formatHostPort(target);
}
