/**
 * The web server behind the browser tests' pages (noVNC, spice-html5): a node:http server
 * on 127.0.0.1 serving one HTML page at `/` and the files of an installed npm package
 * under a URL prefix, unbundled, as browsers load ES modules. The page's origin is
 * `http://127.0.0.1:<port>`: a secure context (noVNC wants one), and the Origin its
 * WebSockets carry, which the proxy's allow-list is tested against.
 *
 * Only GET and HEAD; nothing is cached; a file outside the package folders given is 404.
 */
import { readFile, stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, sep } from 'node:path';

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
};

/** Which files of a package the site serves, and where. */
export interface PackageFiles {
  /** The URL path they are served under, e.g. `/novnc/` (`/novnc/core/rfb.js`). */
  prefix: string;
  /** The package's root directory. */
  root: string;
  /** The folders of `root` whose files may be served. */
  folders: string[];
  /** Only files with these extensions (default: any). */
  extensions?: string[];
  /** Rewrites a served file (path relative to `root`), e.g. to fix a known bug of the package. */
  patch?: (path: string, body: Buffer) => Buffer;
}

export interface StaticSite {
  /** `http://127.0.0.1:<port>`: the Origin the page's WebSockets carry. */
  origin: string;
  server: Server;
  close(): Promise<void>;
}

/** Serves `page` and the package's `files` on 127.0.0.1 (a free port unless given). */
export async function startStaticSite(
  page: string,
  files: PackageFiles,
  port = 0,
): Promise<StaticSite> {
  const inside = files.folders.map((f) => join(files.root, f) + sep);
  const server = createServer((req, res) => {
    void (async () => {
      const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
      const send = (status: number, type: string, body: string | Buffer) => {
        res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
        res.end(req.method === 'HEAD' ? undefined : body);
      };
      if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'text/plain', '');
      if (path === '/' || path === '/index.html')
        return send(200, 'text/html; charset=utf-8', page);
      if (path.startsWith(files.prefix)) {
        const file = normalize(join(files.root, path.slice(files.prefix.length)));
        const served = !files.extensions || files.extensions.includes(extname(file));
        if (served && inside.some((dir) => file.startsWith(dir))) {
          try {
            if ((await stat(file)).isFile()) {
              const type = TYPES[extname(file)] ?? 'application/octet-stream';
              const body = await readFile(file);
              const relative = file.slice(files.root.length + 1);
              return send(200, type, files.patch ? files.patch(relative, body) : body);
            }
          } catch {
            // fall through to 404
          }
        }
      }
      send(404, 'text/plain', 'not found');
    })().catch(() => res.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
