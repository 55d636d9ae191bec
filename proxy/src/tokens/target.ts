/**
 * Checks a target named inside a signed or looked-up token. The signature proves who
 * issued it, not that the values are sane, so host and port get the same checks as a
 * command-line target before the allow-list ever sees them.
 */
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
