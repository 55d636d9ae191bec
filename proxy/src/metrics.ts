/**
 * The proxy's Prometheus metrics (names are a contract: DESIGN §2). One registry per
 * proxy instance so tests can run several in one process. No per-token or per-target
 * labels: their cardinality is unbounded.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ConnectionResult } from './errors.js';

export class ProxyMetrics {
  readonly registry: Registry;
  readonly connectionsActive: Gauge;
  readonly connectionsTotal: Counter<'result'>;
  readonly bytesTotal: Counter<'direction'>;
  readonly connectionDuration: Histogram;
  readonly upstreamConnect: Histogram;
  readonly tokenResolutions: Counter<'resolver' | 'result'>;
  readonly certificateExpiry: Gauge;
  readonly configReloads: Counter<'result'>;
  readonly sessionsClosedByProxy: Counter<'reason'>;
  /** Label children resolved once, so the hot path never looks labels up. */
  readonly bytesClientToTarget: { inc(n: number): void };
  readonly bytesTargetToClient: { inc(n: number): void };
  readonly #connectionChildren = new Map<ConnectionResult, { inc(): void }>();
  readonly #resolutionChildren = new Map<string, { inc(): void }>();

  /**
   * @param beforeCollect called before every scrape, so byte counts of live sessions
   *   (accumulated on the session, not per chunk) are flushed into the counter.
   */
  constructor(beforeCollect: () => void = () => {}, defaultMetrics = true) {
    const registry = new Registry();
    this.registry = registry;
    this.connectionsActive = new Gauge({
      name: 'wsgate_connections_active',
      help: 'WebSocket sessions currently relayed',
      registers: [registry],
    });
    this.connectionsTotal = new Counter({
      name: 'wsgate_connections_total',
      help: 'Upgrade attempts by outcome',
      labelNames: ['result'],
      registers: [registry],
    });
    this.bytesTotal = new Counter({
      name: 'wsgate_bytes_total',
      help: 'Payload bytes relayed',
      labelNames: ['direction'],
      registers: [registry],
      collect: beforeCollect,
    });
    this.connectionDuration = new Histogram({
      name: 'wsgate_connection_duration_seconds',
      help: 'Length of relayed sessions',
      buckets: [1, 10, 60, 300, 900, 1800, 3600, 4 * 3600, 12 * 3600, 24 * 3600],
      registers: [registry],
    });
    this.upstreamConnect = new Histogram({
      name: 'wsgate_upstream_connect_seconds',
      help: 'Time to open the TCP connection to the target',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    });
    this.tokenResolutions = new Counter({
      name: 'wsgate_token_resolutions_total',
      help: 'Token lookups by resolver and outcome (target, unknown, refused)',
      labelNames: ['resolver', 'result'],
      registers: [registry],
    });
    this.certificateExpiry = new Gauge({
      name: 'wsgate_tls_certificate_expiry_timestamp_seconds',
      help: 'notAfter of the TLS certificate being served, as a Unix timestamp',
      registers: [registry],
    });
    this.configReloads = new Counter({
      name: 'wsgate_config_reloads_total',
      help: 'Re-reads of token files, keys and certificates by outcome',
      labelNames: ['result'],
      registers: [registry],
    });
    this.sessionsClosedByProxy = new Counter({
      name: 'wsgate_sessions_closed_by_proxy_total',
      help: 'Sessions the proxy ended on its own account: replaced, ticket_expired, admin',
      labelNames: ['reason'],
      registers: [registry],
    });
    for (const r of ['replaced', 'ticket_expired', 'admin']) {
      this.sessionsClosedByProxy.labels(r).inc(0);
    }
    this.bytesClientToTarget = this.bytesTotal.labels('client_to_target');
    this.bytesTargetToClient = this.bytesTotal.labels('target_to_client');
    // Initialise the series so dashboards see zeros rather than absent metrics.
    for (const r of [
      'ok',
      'unauthorized',
      'forbidden',
      'rate_limited',
      'upstream_error',
      'bad_request',
      'target_busy',
    ] as const) {
      this.connectionsTotal.labels(r).inc(0);
    }
    this.configReloads.labels('ok').inc(0);
    this.configReloads.labels('error').inc(0);
    if (defaultMetrics) collectDefaultMetrics({ register: registry });
  }

  /** Counts an upgrade attempt (every connection passes here: the child is cached). */
  connection(result: ConnectionResult): void {
    let child = this.#connectionChildren.get(result);
    if (!child)
      this.#connectionChildren.set(result, (child = this.connectionsTotal.labels(result)));
    child.inc();
  }

  /** Counts a token lookup by `resolver` that ended in `result` (target, unknown, refused). */
  tokenResolution(resolver: string, result: string): void {
    const key = `${resolver} ${result}`;
    let child = this.#resolutionChildren.get(key);
    if (!child) {
      child = this.tokenResolutions.labels(resolver, result);
      this.#resolutionChildren.set(key, child);
    }
    child.inc();
  }
}
