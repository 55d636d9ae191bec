/**
 * Raw-socket tools for hostile-input and TLS tests: HTTP requests written byte for byte,
 * WebSocket frames built by hand (any opcode, RSV bits, mask, or a lying length), a
 * reader for the proxy's frames, a PROXY protocol "load balancer" in front of the proxy,
 * and a seeded PRNG so fuzz runs are reproducible. Every wait has a deadline.
 */
import { randomBytes } from 'node:crypto';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';

/** mulberry32: tiny, fast, seeded; plenty for choosing mutations. */
export function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    /** Integer in [0, n). */
    int: (n: number) => Math.floor(next() * n),
    pick: <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!,
    bytes(n: number): Buffer {
      const b = Buffer.alloc(n);
      for (let i = 0; i < n; i++) b[i] = Math.floor(next() * 256);
      return b;
    },
  };
}
export type Prng = ReturnType<typeof prng>;

export const WS_KEY = 'dGhlIHNhbXBsZSBub25jZQ==';

/** A valid upgrade request; `headers` replace or add (a `null` value removes the header). */
export function upgradeRequest(
  path: string,
  headers: Record<string, string | null> = {},
  method = 'GET',
): string {
  const base: Record<string, string | null> = {
    Host: '127.0.0.1',
    Upgrade: 'websocket',
    Connection: 'Upgrade',
    'Sec-WebSocket-Key': WS_KEY,
    'Sec-WebSocket-Version': '13',
    ...headers,
  };
  const lines = Object.entries(base)
    .filter(([, v]) => v !== null)
    .map(([k, v]) => `${k}: ${v}`);
  return `${method} ${path} HTTP/1.1\r\n${lines.join('\r\n')}\r\n\r\n`;
}

export interface RawResponse {
  /** HTTP status, if a status line arrived. */
  status?: number;
  headers: Record<string, string>;
  /** Everything received. */
  raw: Buffer;
  /** The server closed (or reset) the connection. */
  closed: boolean;
  /** The deadline passed first. */
  timedOut: boolean;
  /** Still open after a 101: the upgraded socket and bytes received after the headers. */
  socket?: Socket;
  rest?: Buffer;
}

function parseHead(
  raw: Buffer,
): { status: number; headers: Record<string, string>; end: number } | undefined {
  const end = raw.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const lines = raw.subarray(0, end).toString('latin1').split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '');
  if (!m) return undefined;
  const headers: Record<string, string> = {};
  for (const l of lines.slice(1)) {
    const c = l.indexOf(':');
    if (c > 0) headers[l.slice(0, c).trim().toLowerCase()] = l.slice(c + 1).trim();
  }
  return { status: Number(m[1]), headers, end: end + 4 };
}

/** The status of a response whose headers may be incomplete. */
function statusOf(raw: Buffer): number | undefined {
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(raw.subarray(0, 16).toString('latin1'));
  return m ? Number(m[1]) : undefined;
}

/**
 * Connects, writes `data` (chunks one after another, `gapMs` apart so they arrive as
 * separate segments), and collects the answer until the server closes, a complete
 * non-101 response has arrived, a 101 has arrived (the socket is handed back), or
 * `timeoutMs` passes.
 */
export function rawRequest(
  port: number,
  data: string | Buffer | (string | Buffer)[],
  timeoutMs = 5000,
  gapMs = 0,
): Promise<RawResponse> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1', noDelay: true });
    let raw = Buffer.alloc(0);
    let done = false;
    const finish = (r: Partial<RawResponse>, keep = false) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.off('data', onData);
      const head = parseHead(raw);
      if (!keep) socket.destroy();
      resolve({
        status: head?.status ?? statusOf(raw),
        headers: head?.headers ?? {},
        raw,
        closed: false,
        timedOut: false,
        ...r,
      });
    };
    const timer = setTimeout(() => finish({ timedOut: true }), timeoutMs);
    const onData = (chunk: Buffer) => {
      raw = Buffer.concat([raw, chunk]);
      const head = parseHead(raw);
      if (!head) return;
      if (head.status === 101) {
        finish({ socket, rest: raw.subarray(head.end) }, true);
        return;
      }
      const length = Number(head.headers['content-length'] ?? NaN);
      // A complete answer that announces `Connection: close` is followed by the close
      // itself; wait for it (bounded by the deadline) so `closed` says whether it came.
      const closing = /close/i.test(String(head.headers.connection ?? ''));
      if (Number.isFinite(length) && raw.length >= head.end + length && !closing) finish({});
    };
    socket.on('data', onData);
    socket.on('error', () => {});
    socket.on('close', () => finish({ closed: true }));
    const chunks = Array.isArray(data) ? [...data] : [data];
    const writeNext = () => {
      if (done || socket.destroyed) return;
      const chunk = chunks.shift();
      if (chunk === undefined) return;
      socket.write(chunk);
      if (gapMs > 0) setTimeout(writeNext, gapMs);
      else writeNext();
    };
    writeNext();
  });
}

export interface FrameSpec {
  fin?: boolean;
  /** RSV1..3 as a 3-bit number (4 = RSV1). */
  rsv?: number;
  opcode: number;
  /** Default true: clients must mask. */
  masked?: boolean;
  payload?: Buffer;
  /** Announce this length instead of the payload's (a lie; bigint for > 2^53). */
  length?: number | bigint;
}

/** Encodes one WebSocket frame exactly as specified, valid or not. */
export function frame(spec: FrameSpec): Buffer {
  const payload = spec.payload ?? Buffer.alloc(0);
  const masked = spec.masked ?? true;
  const len = BigInt(spec.length ?? payload.length);
  const b0 = ((spec.fin ?? true) ? 0x80 : 0) | (((spec.rsv ?? 0) & 7) << 4) | (spec.opcode & 0x0f);
  let head: Buffer;
  if (len < 126n) {
    head = Buffer.from([b0, (masked ? 0x80 : 0) | Number(len)]);
  } else if (len < 65536n) {
    head = Buffer.alloc(4);
    head[0] = b0;
    head[1] = (masked ? 0x80 : 0) | 126;
    head.writeUInt16BE(Number(len), 2);
  } else {
    head = Buffer.alloc(10);
    head[0] = b0;
    head[1] = (masked ? 0x80 : 0) | 127;
    head.writeBigUInt64BE(len, 2);
  }
  if (!masked) return Buffer.concat([head, payload]);
  const mask = randomBytes(4);
  const body = Buffer.from(payload);
  for (let i = 0; i < body.length; i++) body[i]! ^= mask[i & 3]!;
  return Buffer.concat([head, mask, body]);
}

export const closePayload = (code: number, reason = '') => {
  const b = Buffer.alloc(2 + Buffer.byteLength(reason));
  b.writeUInt16BE(code, 0);
  b.write(reason, 2);
  return b;
};

export interface ServerFrame {
  opcode: number;
  payload: Buffer;
}

/** Parses the (unmasked) frames a server sends; keeps data and waits for the close. */
export class FrameReader {
  private buf: Buffer;
  readonly frames: ServerFrame[] = [];
  /** Data payload bytes received (binary/text/continuation frames). */
  dataBytes = 0;
  ended = false;
  private waiters: (() => void)[] = [];

  constructor(
    readonly socket: Socket,
    initial: Buffer = Buffer.alloc(0),
  ) {
    this.buf = initial;
    socket.on('data', (c: Buffer) => {
      this.buf = Buffer.concat([this.buf, c]);
      this.parse();
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      this.ended = true;
      this.wake();
    });
    this.parse();
  }

  private wake() {
    for (const w of this.waiters.splice(0)) w();
  }

  private parse() {
    for (;;) {
      if (this.buf.length < 2) break;
      const opcode = this.buf[0]! & 0x0f;
      let len = this.buf[1]! & 0x7f;
      let off = 2;
      if (len === 126) {
        if (this.buf.length < 4) break;
        len = this.buf.readUInt16BE(2);
        off = 4;
      } else if (len === 127) {
        if (this.buf.length < 10) break;
        len = Number(this.buf.readBigUInt64BE(2));
        off = 10;
      }
      if (this.buf.length < off + len) break;
      const payload = this.buf.subarray(off, off + len);
      this.buf = this.buf.subarray(off + len);
      this.frames.push({ opcode, payload });
      if (opcode < 8) this.dataBytes += len;
    }
    this.wake();
  }

  /** The close frame's code (1005 when it has none), or 'eof' / 'timeout'. */
  async close(timeoutMs = 5000): Promise<{ code: number; reason: string } | 'eof' | 'timeout'> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const c = this.frames.find((f) => f.opcode === 8);
      if (c) {
        return c.payload.length >= 2
          ? { code: c.payload.readUInt16BE(0), reason: c.payload.subarray(2).toString() }
          : { code: 1005, reason: '' };
      }
      if (this.ended) return 'eof';
      const left = deadline - Date.now();
      if (left <= 0) return 'timeout';
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  /** Waits until at least `n` data bytes have arrived (false on deadline or close). */
  async data(n: number, timeoutMs = 5000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.dataBytes < n) {
      if (this.ended) return false;
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
    return true;
  }
}

/** Opens a raw upgraded WebSocket connection; throws unless the proxy answers 101. */
export async function rawUpgrade(
  port: number,
  path: string,
  headers: Record<string, string | null> = {},
): Promise<FrameReader> {
  const res = await rawRequest(port, upgradeRequest(path, headers));
  if (res.status !== 101 || !res.socket) {
    throw new Error(`expected 101, got ${res.status ?? 'nothing'}: ${res.raw.toString('latin1')}`);
  }
  return new FrameReader(res.socket, res.rest);
}

export interface Front {
  port: number;
  server: Server;
  close(): Promise<void>;
}

/**
 * A minimal load balancer on 127.0.0.1 that sends `header(client)` to the proxy ahead of
 * the client's first bytes, in the same write (HAProxy coalesces them the same way), then
 * relays both ways.
 */
export async function proxyProtocolFront(
  targetPort: number,
  header: (client: Socket) => Buffer,
): Promise<Front> {
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    sockets.add(client);
    const upstream = connect({ port: targetPort, host: '127.0.0.1', noDelay: true });
    sockets.add(upstream);
    client.setNoDelay(true);
    for (const s of [client, upstream]) {
      s.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
      s.on('close', () => sockets.delete(s));
    }
    client.once('data', (first: Buffer) => {
      upstream.write(Buffer.concat([header(client), first]));
      client.pipe(upstream);
      upstream.pipe(client);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    server,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** PROXY protocol v1 line. */
export function proxyV1(source: string, sourcePort: number, destPort: number): Buffer {
  const family = source.includes(':') ? 'TCP6' : 'TCP4';
  const dest = family === 'TCP6' ? '::1' : '127.0.0.1';
  return Buffer.from(`PROXY ${family} ${source} ${dest} ${sourcePort} ${destPort}\r\n`, 'latin1');
}

const V2_SIGNATURE = Buffer.from([
  0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a,
]);

/** PROXY protocol v2 PROXY command over TCP, IPv4 or IPv6 (addresses as 4/16 raw bytes). */
export function proxyV2(
  source: Buffer,
  sourcePort: number,
  destPort: number,
  tlvs = Buffer.alloc(0),
): Buffer {
  const v6 = source.length === 16;
  const dest = v6
    ? Buffer.concat([Buffer.alloc(15), Buffer.from([1])])
    : Buffer.from([127, 0, 0, 1]);
  const ports = Buffer.alloc(4);
  ports.writeUInt16BE(sourcePort, 0);
  ports.writeUInt16BE(destPort, 2);
  const body = Buffer.concat([source, dest, ports, tlvs]);
  const head = Buffer.alloc(4);
  head[0] = 0x21; // version 2, PROXY
  head[1] = v6 ? 0x21 : 0x11; // TCP over IPv6 / IPv4
  head.writeUInt16BE(body.length, 2);
  return Buffer.concat([V2_SIGNATURE, head, body]);
}
