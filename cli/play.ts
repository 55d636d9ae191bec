/**
 * `wsgate play FILE`: serves, on 127.0.0.1 by default, a page that replays a recording
 * (`--record-dir`) in noVNC, with noVNC's modules from the installed @novnc/novnc
 * package, so it works offline and from the image. Prints one JSON line with the URL.
 */
import { closeSync, createReadStream, openSync, readSync, statSync } from 'node:fs';
import { open, readFile, stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename, dirname, extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { parseListen } from '../lib/address.js';
import { createLogger } from '../lib/log.js';
import {
  ARRAY_OPEN,
  HEADER_BYTES,
  TRAILER,
  parseRecording,
  type RecordingHeader,
} from '../proxy/src/contract.js';
import { playPage } from './play-page.js';

const USAGE = `Usage: wsgate play [options] FILE

Serves a page that replays a session recording (wsgate --record-dir, or websockify
--record) in noVNC, with a timeline. Open the URL it prints in a browser.

  --listen HOST:PORT   address to serve the page on (default 127.0.0.1:6090)
  --speed N            initial speed: 1 (real time), 2, 4, ... or max (default 1)
`;

/** Root of the installed @novnc/novnc package (its `exports` is core/rfb.js). */
function novncRoot(): string {
  return dirname(dirname(fileURLToPath(import.meta.resolve('@novnc/novnc'))));
}

/** The wsgate header of a recording, or one made up for a plain websockify recording. */
export function readHeader(file: string): RecordingHeader {
  // Only the first line: recordings can be large.
  const buf = Buffer.alloc(HEADER_BYTES);
  const fd = openSync(file, 'r');
  let n: number;
  try {
    n = readSync(fd, buf, 0, HEADER_BYTES, 0);
  } finally {
    closeSync(fd);
  }
  const first = buf.toString('latin1', 0, n).split('\n')[0]!;
  const found = first.startsWith('/*') ? parseRecording(first + '\n').header : undefined;
  return (
    found ?? {
      v: 1,
      session: basename(file),
      start: statSync(file).mtime.toISOString(),
      client: '',
      target: '',
      protocol: 'unknown',
      input: true,
    }
  );
}

/** How far into the file every frame is whole; the lines served after that many bytes. */
async function servedPart(file: string): Promise<{ end: number; close: Buffer }> {
  const size = (await stat(file)).size;
  const tailBytes = Math.min(size, 4 * 1024 * 1024);
  const fh = await open(file, 'r');
  try {
    const tail = Buffer.alloc(tailBytes);
    await fh.read(tail, 0, tailBytes, size - tailBytes);
    if (tail.subarray(-TRAILER.length).equals(TRAILER))
      return { end: size, close: Buffer.alloc(0) };
    const lastFrame = tail.lastIndexOf("',\n");
    const arrayOpen = tail.lastIndexOf(ARRAY_OPEN);
    const cut = Math.max(
      lastFrame >= 0 ? lastFrame + 3 : -1,
      arrayOpen >= 0 ? arrayOpen + ARRAY_OPEN.length : -1,
    );
    if (cut >= 0) return { end: size - tailBytes + cut, close: TRAILER };
    // Not even the array's start in the tail: serve an empty recording.
    return { end: 0, close: Buffer.concat([ARRAY_OPEN, TRAILER]) };
  } finally {
    await fh.close();
  }
}

export async function playCommand(argv: readonly string[]): Promise<number> {
  let values, positionals;
  try {
    ({ values, positionals } = parseArgs({
      args: [...argv],
      options: {
        listen: { type: 'string', default: '127.0.0.1:6090' },
        speed: { type: 'string', default: '1' },
        help: { type: 'boolean' },
      },
      allowPositionals: true,
      strict: true,
    }));
  } catch (e) {
    process.stderr.write(`wsgate play: ${(e as Error).message.split('. ')[0]}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const fail = (msg: string) => {
    process.stderr.write(`wsgate play: ${msg}\n`);
    return 2;
  };
  if (positionals.length !== 1) return fail('give one recording FILE');
  const file = positionals[0]!;
  const speed = values.speed === 'max' ? Infinity : Number(values.speed);
  if (!(speed > 0)) return fail(`--speed: "${values.speed}" is not a positive number or max`);
  let listen;
  try {
    listen = parseListen(values.listen);
  } catch (e) {
    return fail(`--listen: ${(e as Error).message}`);
  }
  let header: RecordingHeader;
  try {
    if (!statSync(file).isFile()) return fail(`${file} is not a file`);
    header = readHeader(file);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    return fail(err.code ? `cannot read ${file}: ${err.code}` : `${file}: ${err.message}`);
  }

  let root: string;
  try {
    root = novncRoot();
  } catch {
    return fail('noVNC (the @novnc/novnc package) is not installed beside wsgate');
  }
  const inside = ['core', 'vendor'].map((f) => join(root, f) + sep);
  const page = playPage(basename(file), speed);
  const server = createServer((req, res) => {
    void (async () => {
      const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
      const headers = (type: string) => ({
        'content-type': type,
        'cache-control': 'no-store',
        'x-content-type-options': 'nosniff',
      });
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, headers('text/plain')).end();
        return;
      }
      if (path === '/' || path === '/index.html') {
        res.writeHead(200, headers('text/html; charset=utf-8')).end(page);
        return;
      }
      if (path === '/header.json') {
        res.writeHead(200, headers('application/json')).end(JSON.stringify(header));
        return;
      }
      if (path === '/recording.js') {
        // Streamed: recordings can be large. A file cut short by a full disk is served
        // up to its last whole frame and closed, so that it still loads as JavaScript.
        const { end, close } = await servedPart(file);
        res.writeHead(200, {
          ...headers('text/javascript; charset=iso-8859-1'),
          'content-length': end + close.length,
        });
        if (req.method === 'HEAD') return void res.end();
        if (end === 0) return void res.end(close);
        createReadStream(file, { end: end - 1 })
          .on('error', () => res.destroy())
          .on('end', () => res.end(close))
          .pipe(res, { end: false });
        return;
      }
      if (path.startsWith('/novnc/')) {
        const target = normalize(join(root, path.slice('/novnc/'.length)));
        if (extname(target) === '.js' && inside.some((d) => target.startsWith(d))) {
          try {
            const body = await readFile(target);
            res.writeHead(200, headers('text/javascript; charset=utf-8')).end(body);
            return;
          } catch {
            // 404 below
          }
        }
      }
      res.writeHead(404, headers('text/plain')).end('not found\n');
    })().catch(() => res.destroy());
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(listen.port, listen.host, () => resolve());
    });
  } catch (e) {
    return fail(`--listen: cannot listen: ${(e as NodeJS.ErrnoException).code}`);
  }
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const logger = createLogger('info');
  logger.info(
    { listen: address, url: `http://${host}:${address.port}/`, file, protocol: header.protocol },
    'play listening',
  );
  return new Promise<number>((resolve) => {
    const stop = () => {
      server.closeAllConnections();
      server.close(() => resolve(0));
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
}
