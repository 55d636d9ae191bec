/** `HOST:PORT` parsing shared by --listen, targets and token files. */

export interface HostPort {
  host: string;
  port: number;
}

/**
 * Parses `host:port`, `[v6]:port`, or (when `defaultHost` is given) a bare port.
 * IPv6 literals must be bracketed, as in URLs and websockify token files, because
 * `::1:5900` is ambiguous. Throws a RangeError whose message names what is wrong.
 */
export function parseHostPort(value: string, defaultHost?: string): HostPort {
  const text = value.trim();
  let host: string;
  let portText: string;
  if (text.startsWith('[')) {
    const end = text.indexOf(']');
    if (end < 0 || text[end + 1] !== ':') {
      throw new RangeError(`"${value}" is not [IPv6]:PORT`);
    }
    host = text.slice(1, end);
    portText = text.slice(end + 2);
  } else if (/^\d+$/.test(text) && defaultHost !== undefined) {
    host = defaultHost;
    portText = text;
  } else {
    const colon = text.lastIndexOf(':');
    if (colon <= 0) throw new RangeError(`"${value}" is not HOST:PORT`);
    host = text.slice(0, colon);
    portText = text.slice(colon + 1);
    if (host.includes(':')) {
      throw new RangeError(`"${value}": IPv6 addresses must be written as [ADDRESS]:PORT`);
    }
  }
  if (!/^\d{1,5}$/.test(portText)) throw new RangeError(`"${value}" has no valid port`);
  const port = Number(portText);
  if (port < 1 || port > 65535) throw new RangeError(`"${value}": port must be 1-65535`);
  if (host === '') throw new RangeError(`"${value}" has no host`);
  return { host, port };
}

/** Formats for logs and URLs: IPv6 hosts get brackets back. */
export function formatHostPort({ host, port }: HostPort): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * Listen addresses may use port 0 (tests ask the kernel for a free port), which
 * `parseHostPort` rejects for targets.
 */
export function parseListen(value: string): HostPort {
  const zero = /^(.*):0$/.exec(value.trim());
  if (zero) {
    const { host } = parseHostPort(`${zero[1]}:1`);
    return { host, port: 0 };
  }
  return parseHostPort(value, '0.0.0.0');
}
