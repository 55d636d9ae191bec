/**
 * Checks on the raw upgrade request made before any token lookup or target connect,
 * so malformed handshakes are answered with a precise 4xx and cost nothing else.
 * The rules are RFC 6455 §4.2.1's, as `ws` applies them, restated here so the
 * refusal can be counted and logged with our catalogue's code.
 */
import { hash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { STATUS_CODES } from 'node:http';
import { REFUSALS, type Refusal } from './errors.js';

const KEY = /^[+/0-9A-Za-z]{22}==$/;
const TOKEN_CHARS = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

export function checkHandshake(req: IncomingMessage): Refusal | undefined {
  if (req.method !== 'GET') return REFUSALS.badMethod;
  // RFC 6455 §4.1: HTTP/1.1 or later, with a Host header (ws itself checks neither).
  const http11 =
    req.httpVersionMajor > 1 || (req.httpVersionMajor === 1 && req.httpVersionMinor >= 1);
  if (!http11 || !req.headers.host) return REFUSALS.badHttp;
  if (req.headers.upgrade?.toLowerCase() !== 'websocket') return REFUSALS.notWebSocket;
  if (!KEY.test(req.headers['sec-websocket-key'] ?? '')) return REFUSALS.badKey;
  const version = req.headers['sec-websocket-version'];
  if (version !== '13' && version !== '8') return REFUSALS.badVersion;
  const protocols = req.headers['sec-websocket-protocol'];
  if (protocols !== undefined) {
    const seen = new Set<string>();
    for (const p of protocols.split(',')) {
      const name = p.trim();
      if (!TOKEN_CHARS.test(name) || seen.has(name)) return REFUSALS.badProtocol;
      seen.add(name);
    }
  }
  return undefined;
}

/** RFC 6455 §1.3: the GUID appended to the client's key for Sec-WebSocket-Accept. */
const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/**
 * Completes an upgrade that checkHandshake accepted: the 101 response, with the chosen
 * subprotocol. No extension is ever accepted (permessage-deflate offers are ignored, as
 * RFC 6455 §9.1 allows), so frames stay plain for the relay.
 */
export function acceptUpgrade(
  req: IncomingMessage,
  socket: Duplex,
  protocol: string | false,
): void {
  // One-shot hash: no Hash object per upgrade (the connect path is per-connection CPU).
  const accept = hash('sha1', req.headers['sec-websocket-key'] + GUID, 'base64');
  socket.write(
    'HTTP/1.1 101 Switching Protocols\r\n' +
      'Upgrade: websocket\r\n' +
      'Connection: Upgrade\r\n' +
      `Sec-WebSocket-Accept: ${accept}\r\n` +
      (protocol ? `Sec-WebSocket-Protocol: ${protocol}\r\n` : '') +
      '\r\n',
  );
}

/** Writes a plain-text HTTP error on a socket that never became a WebSocket, then closes it. */
export function writeRefusal(socket: Duplex, refusal: Refusal, detail?: string): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const body = (detail ? `${refusal.message}: ${detail}` : refusal.message) + '\n';
  socket.once('finish', () => socket.destroy());
  socket.end(
    `HTTP/1.1 ${refusal.status} ${STATUS_CODES[refusal.status]}\r\n` +
      'Connection: close\r\n' +
      'Content-Type: text/plain; charset=utf-8\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      `X-Wsgate-Error: ${refusal.code}\r\n` +
      (refusal.status === 426 ? 'Upgrade: websocket\r\n' : '') +
      '\r\n' +
      body,
  );
}
