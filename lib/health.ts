/**
 * The HTTP endpoints of both processes: /metrics (Prometheus text), /healthz (the process
 * answers) and /readyz (ready, or 503 with why not). Kept off the WebSocket port so they
 * can stay cluster-internal. The operator can split health from metrics across two
 * listeners, and serve /metrics over HTTPS behind a guard (its TokenReview and
 * SubjectAccessReview check) while health stays plain HTTP for the kubelet; the proxy
 * serves all three on one plain listener.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { HostPort } from './address.js';

/** What the endpoints report. */
export interface HealthSources {
  metrics(): Promise<{ contentType: string; body: string }>;
  /** Null when ready, else why not (shown in the 503's body). */
  notReady(): string | null;
}

/** Which paths a listener serves. */
export type Endpoints = 'all' | 'metrics' | 'health';

/** How a listener protects /metrics. */
export interface ListenerSecurity {
  /** Serve HTTPS with this PEM certificate and key instead of plain HTTP. */
  tls?: { cert: string; key: string };
  /**
   * Decides each /metrics request: null serves it, else the status and message to answer
   * (the operator's TokenReview and SubjectAccessReview check). Health paths are never
   * guarded: the kubelet's probes carry no credentials.
   */
  guard?: (req: IncomingMessage) => Promise<{ status: number; message: string } | null>;
}

/** Starts one listener; resolves with the server and its bound address. */
export function startHealthServer(
  listen: HostPort,
  sources: HealthSources,
  endpoints: Endpoints = 'all',
  security: ListenerSecurity = {},
): Promise<{ server: Server; address: AddressInfo }> {
  const metrics = endpoints !== 'health';
  const health = endpoints !== 'metrics';
  const { guard } = security;
  const serveMetrics = (res: ServerResponse) =>
    sources.metrics().then(
      ({ contentType, body }) => res.writeHead(200, { 'content-type': contentType }).end(body),
      (err: Error) =>
        res
          .writeHead(500, { 'content-type': 'text/plain' })
          .end(`metrics unavailable: ${err.message}\n`),
    );
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
    } else if (health && path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    } else if (health && path === '/readyz') {
      const why = sources.notReady();
      res
        .writeHead(why === null ? 200 : 503, { 'content-type': 'text/plain' })
        .end(why === null ? 'ready\n' : `not ready: ${why}\n`);
    } else if (metrics && path === '/metrics') {
      if (!guard) {
        void serveMetrics(res);
        return;
      }
      guard(req).then(
        (refusal) => {
          if (refusal === null) return serveMetrics(res);
          const headers: Record<string, string> = { 'content-type': 'text/plain' };
          if (refusal.status === 401) headers['www-authenticate'] = 'Bearer';
          res.writeHead(refusal.status, headers).end(`${refusal.message}\n`);
        },
        (err: Error) =>
          res.writeHead(500, { 'content-type': 'text/plain' }).end(`${err.message}\n`),
      );
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    }
  };
  const server: Server = security.tls
    ? (createHttpsServer({ ...security.tls, minVersion: 'TLSv1.2' }, handler) as unknown as Server)
    : createServer(handler);
  // Scrapes and probes are short; do not let a stuck client hold a socket.
  server.requestTimeout = 10_000;
  server.keepAliveTimeout = 5_000;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, () => {
      server.off('error', reject);
      resolve({ server, address: server.address() as AddressInfo });
    });
  });
}

/** Closes `server`, ending idle keep-alive connections at once. */
export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
  });
}
