/**
 * Finds the token in an upgrade request, in the contract's order: `?token=`, cookie
 * `token`, the last path segment (percent-decoded; oVirt's engine puts its ticket
 * there), then a `token.<value>` entry in Sec-WebSocket-Protocol.
 */
import type { IncomingMessage } from 'node:http';

export type TokenSource = 'query' | 'cookie' | 'path' | 'subprotocol';

export interface FoundToken {
  token: string;
  source: TokenSource;
}

function decode(text: string): string | undefined {
  try {
    return decodeURIComponent(text.replace(/\+/g, '%20'));
  } catch {
    return undefined;
  }
}

function fromQuery(query: string): string | undefined {
  for (const pair of query.split('&')) {
    const eq = pair.indexOf('=');
    if (eq > 0 && pair.slice(0, eq) === 'token') return decode(pair.slice(eq + 1)) || undefined;
  }
  return undefined;
}

function fromCookie(header: string | undefined): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === 'token') {
      return (
        decode(
          part
            .slice(eq + 1)
            .trim()
            .replace(/^"(.*)"$/, '$1'),
        ) || undefined
      );
    }
  }
  return undefined;
}

/** Subprotocol list as offered, trimmed; an empty entry makes the header invalid. */
export function offeredProtocols(header: string | undefined): string[] {
  if (header === undefined) return [];
  return header.split(',').map((p) => p.trim());
}

export function extractToken(req: IncomingMessage): FoundToken | undefined {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  if (q >= 0) {
    const token = fromQuery(url.slice(q + 1));
    if (token) return { token, source: 'query' };
  }
  const cookie = fromCookie(req.headers.cookie);
  if (cookie) return { token: cookie, source: 'cookie' };
  const segment = path.slice(path.lastIndexOf('/') + 1);
  if (segment) {
    const token = decode(segment);
    if (token) return { token, source: 'path' };
  }
  for (const p of offeredProtocols(req.headers['sec-websocket-protocol'])) {
    if (p.startsWith('token.') && p.length > 6) return { token: p.slice(6), source: 'subprotocol' };
  }
  return undefined;
}

/**
 * Picks the subprotocol to answer with: `binary` when offered (noVNC). Otherwise none,
 * except that a browser that offered only protocols we do not speak fails the
 * connection if none is echoed, so a lone `token.*` entry is echoed back.
 */
export function chooseProtocol(offered: Set<string>): string | false {
  if (offered.has('binary')) return 'binary';
  if (offered.size === 1) {
    const [only] = offered;
    if (only!.startsWith('token.')) return only!;
  }
  return false;
}
