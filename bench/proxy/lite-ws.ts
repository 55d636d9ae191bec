/**
 * A minimal WebSocket client on a plain `net` socket, for `--client lite`: a fixed
 * upgrade request, frames written with an all-zero mask key (valid per RFC 6455, and
 * the server still runs its unmasking), and a parser that only counts payload bytes.
 * It costs the load generator far less CPU than `ws`, so more of a figure is the proxy.
 */
import { connect, type Socket } from 'node:net';
import type { Conn, Transport } from './load.js';

const EMPTY: Buffer = Buffer.alloc(0);
const noop = () => {};

function frameHeader(opcode: number, length: number): Buffer {
  let header: Buffer;
  if (length < 126) {
    header = Buffer.alloc(6);
    header[1] = 0x80 | length;
  } else if (length < 65536) {
    header = Buffer.alloc(8);
    header[1] = 0x80 | 126;
    header.writeUInt16BE(length, 2);
  } else {
    header = Buffer.alloc(14);
    header[1] = 0x80 | 127;
    header.writeBigUInt64BE(BigInt(length), 2);
  }
  header[0] = 0x80 | opcode; // FIN; the trailing four bytes are the (zero) mask key
  return header;
}

class LiteConn implements Conn {
  onData: (bytes: number) => void = noop;
  private carry = EMPTY;
  private remaining = 0;
  private closeSent = false;
  private readonly closed: Promise<void>;

  constructor(
    private readonly socket: Socket,
    rest: Buffer,
  ) {
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('data', (chunk: Buffer) => this.parse(chunk));
    if (rest.length > 0) queueMicrotask(() => this.parse(rest));
  }

  send(data: Buffer): void {
    this.socket.cork();
    this.socket.write(frameHeader(2, data.length));
    this.socket.write(data);
    this.socket.uncork();
  }

  close(timeoutMs: number): Promise<void> {
    this.sendClose();
    let timer: NodeJS.Timeout | undefined;
    return Promise.race([
      this.closed,
      new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          this.socket.destroy();
          resolve();
        }, timeoutMs);
      }),
    ]).finally(() => clearTimeout(timer));
  }

  destroy(): void {
    this.socket.destroy();
  }

  private sendClose(): void {
    if (this.closeSent || !this.socket.writable) return;
    this.closeSent = true;
    const payload = Buffer.from([0x03, 0xe8]); // 1000, normal closure
    this.socket.write(Buffer.concat([frameHeader(8, 2), payload]));
  }

  /** Server frames are unmasked; data payload is counted as it streams by. */
  private parse(chunk: Buffer): void {
    const data = this.carry.length > 0 ? Buffer.concat([this.carry, chunk]) : chunk;
    this.carry = EMPTY;
    let off = 0;
    while (off < data.length) {
      if (this.remaining > 0) {
        const n = Math.min(this.remaining, data.length - off);
        this.remaining -= n;
        off += n;
        this.onData(n);
        continue;
      }
      const avail = data.length - off;
      if (avail < 2) break;
      const b1 = data[off + 1]!;
      let length = b1 & 0x7f;
      const headerLength = 2 + (length === 126 ? 2 : length === 127 ? 8 : 0) + (b1 & 0x80 ? 4 : 0);
      if (avail < headerLength) break;
      if (length === 126) length = data.readUInt16BE(off + 2);
      else if (length === 127) length = Number(data.readBigUInt64BE(off + 2));
      const opcode = data[off]! & 0x0f;
      if (opcode >= 8) {
        // Control frames are small and handled whole.
        if (avail < headerLength + length) break;
        const payload = data.subarray(off + headerLength, off + headerLength + length);
        off += headerLength + length;
        if (opcode === 8) this.sendClose();
        else if (opcode === 9 && this.socket.writable) {
          this.socket.write(Buffer.concat([frameHeader(10, payload.length), payload]));
        }
        continue;
      }
      off += headerLength;
      this.remaining = length;
    }
    if (off < data.length) this.carry = Buffer.from(data.subarray(off));
  }
}

/** Same request as the `ws` transport: `binary` subprotocol, same-origin `Origin`. */
export function liteWsTransport(name: string, url: string): Transport {
  const u = new URL(url);
  const request = Buffer.from(
    `GET ${u.pathname}${u.search} HTTP/1.1\r\n` +
      `Host: ${u.host}\r\n` +
      'Upgrade: websocket\r\n' +
      'Connection: Upgrade\r\n' +
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n' +
      'Sec-WebSocket-Version: 13\r\n' +
      'Sec-WebSocket-Protocol: binary\r\n' +
      `Origin: http://${u.host}\r\n\r\n`,
  );
  const port = Number(u.port);
  return {
    name,
    connect: (timeoutMs) =>
      new Promise((resolve, reject) => {
        const socket = connect({ host: u.hostname, port, noDelay: true });
        let head = EMPTY;
        const fail = (err: Error) => {
          clearTimeout(timer);
          socket.destroy();
          reject(err);
        };
        const timer = setTimeout(() => fail(new Error('handshake timeout')), timeoutMs);
        const onData = (chunk: Buffer) => {
          head = head.length ? Buffer.concat([head, chunk]) : chunk;
          const end = head.indexOf('\r\n\r\n');
          if (end < 0) return;
          socket.off('data', onData);
          socket.off('error', fail);
          socket.on('error', noop);
          clearTimeout(timer);
          const status = head.subarray(0, head.indexOf('\r\n')).toString('latin1');
          if (!/^HTTP\/1\.1 101 /.test(status)) {
            socket.destroy();
            reject(new Error(`Unexpected server response: ${status}`));
            return;
          }
          resolve(new LiteConn(socket, head.subarray(end + 4)));
        };
        socket.on('data', onData);
        socket.once('error', fail);
        socket.once('connect', () => socket.write(request));
      }),
  };
}
