/**
 * One operator process, wired: API client, metrics and health endpoints, optional leader
 * election, and the controller, which starts when this process leads (at once without
 * election). `wsgate operator` (main.ts) parses flags into {@link OperatorOptions}; tests
 * call {@link startOperator} directly.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { HostPort } from '../../lib/address.js';
import { Controller, type ControllerOptions } from './controller/controller.js';
import { EventRecorder } from './controller/events.js';
import { closeServer, startHealthServer, type HealthSources } from '../../lib/health.js';
import { KubeClient } from './kube/client.js';
import type { ClusterAccess } from './kube/config.js';
import { LeaderElector, type LeaderElectionOptions } from './kube/leader.js';
import { metricsGuard, type MetricsGuardOptions } from './serving/metrics-auth.js';
import { OperatorMetrics } from './serving/metrics.js';
import type { ServingCert } from './serving/cert.js';

/** Leader election settings, every one given (see {@link LeaderElectionOptions}). */
export type LeaderElectionSettings = Required<
  Pick<
    LeaderElectionOptions,
    'namespace' | 'name' | 'identity' | 'leaseDurationMs' | 'renewDeadlineMs' | 'retryPeriodMs'
  >
>;

/** Everything an operator process needs. */
export interface OperatorOptions extends Pick<
  ControllerOptions,
  'baseDelayMs' | 'maxDelayMs' | 'crdNames'
> {
  /** The API server and credentials (kube/config.ts). */
  access: ClusterAccess;
  log: Logger;
  /** Image for proxies whose spec.image is unset. */
  image: string;
  /** Namespaces to watch; every namespace when empty. */
  namespaces: readonly string[];
  workers: number;
  resyncMs: number;
  /** Fixed re-check delay for resources waiting on something unwatched. Default 5 s. */
  pollMs?: number | undefined;
  /** Namespaces whose Secrets are watched (metadata only). Default none. */
  secretsNamespaces?: readonly string[] | undefined;
  /** Undefined: no election, reconcile at once. */
  leaderElection?: LeaderElectionSettings | undefined;
  metricsListen: HostPort;
  /** Undefined: /healthz and /readyz on the metrics listener. */
  healthListen?: HostPort | undefined;
  /**
   * Serve /metrics over HTTPS with this certificate, only to callers whose bearer token
   * the API server authenticates (TokenReview) and authorizes for `get` on /metrics
   * (SubjectAccessReview). Needs `healthListen`: probes stay plain HTTP. Undefined: plain
   * HTTP, open to anyone who reaches the port.
   */
  metricsSecure?: { cert: ServingCert; guard?: MetricsGuardOptions } | undefined;
  /** Identity in Events (reportingInstance). */
  instance: string;
  /** Collect Node's process metrics too. Default true. */
  defaultMetrics?: boolean;
}

/** A started operator. */
export interface RunningOperator {
  readonly metrics: OperatorMetrics;
  /** Bound address of the metrics listener (and of health unless split). */
  readonly metricsAddress: AddressInfo;
  readonly healthAddress: AddressInfo;
  /** The controller once this process leads (or at once without election). */
  controller(): Controller | undefined;
  isLeader(): boolean;
  /** Resolves with the exit code once the operator stops: 1 when leadership was lost, 0 after stop(). */
  readonly done: Promise<number>;
  /** Stops reconciling, releases the Lease, closes the listeners. */
  stop(): Promise<void>;
}

/** Starts an operator; see {@link RunningOperator}. */
export async function startOperator(options: OperatorOptions): Promise<RunningOperator> {
  const { log } = options;
  const metrics = new OperatorMetrics(options.defaultMetrics ?? true);
  const host = new URL(options.access.server).host;
  const client = new KubeClient(options.access, {
    onResponse: (method, code) =>
      metrics.restClientRequests.inc({ code: String(code), method, host }),
  });
  const election = options.leaderElection;
  const abort = new AbortController();
  let controller: Controller | undefined;
  let elector: LeaderElector | undefined;
  const makeController = () =>
    new Controller({
      client,
      log,
      metrics,
      events: new EventRecorder(client, log, options.instance),
      operatorImage: options.image,
      namespaces: options.namespaces,
      workers: options.workers,
      resyncMs: options.resyncMs,
      pollMs: options.pollMs,
      secretsNamespaces: options.secretsNamespaces,
      baseDelayMs: options.baseDelayMs,
      maxDelayMs: options.maxDelayMs,
      crdNames: options.crdNames,
    });

  const sources: HealthSources = {
    metrics: async () => ({
      contentType: metrics.registry.contentType,
      body: await metrics.registry.metrics(),
    }),
    notReady: () => {
      if (abort.signal.aborted) return 'shutting down';
      if (elector && !elector.isLeader()) return null; // a standby is ready to take over
      return controller?.ready() ? null : 'caches not synced';
    },
  };
  const servers: Server[] = [];
  const secure = options.metricsSecure;
  if (secure && !options.healthListen) {
    throw new TypeError('metricsSecure needs healthListen: probes stay plain HTTP');
  }
  const main = await startHealthServer(
    options.metricsListen,
    sources,
    options.healthListen ? 'metrics' : 'all',
    secure
      ? {
          tls: { cert: secure.cert.cert, key: secure.cert.key },
          guard: metricsGuard(client, log, secure.guard),
        }
      : {},
  );
  servers.push(main.server);
  let healthAddress = main.address;
  if (options.healthListen) {
    const health = await startHealthServer(options.healthListen, sources, 'health');
    servers.push(health.server);
    healthAddress = health.address;
  }
  log.info(
    {
      metrics: main.address,
      health: healthAddress,
      metricsScheme: secure ? 'https' : 'http',
      ...(secure ? { certificate: secure.cert.source } : {}),
    },
    'listening',
  );

  const aborted = new Promise<void>((resolve) =>
    abort.signal.addEventListener('abort', () => resolve(), { once: true }),
  );
  const run = async (): Promise<number> => {
    if (!election) {
      controller = makeController();
      void controller.start();
      await aborted;
      return 0;
    }
    const leaderGauge = metrics.leaderStatus.labels({ name: election.name });
    leaderGauge.set(0);
    elector = new LeaderElector({
      client,
      log,
      ...election,
      onChange: (leading) => leaderGauge.set(leading ? 1 : 0),
    });
    if (!(await elector.acquire(abort.signal))) return 0;
    controller = makeController();
    void controller.start();
    if (await elector.hold(abort.signal)) return 0;
    // Another process may lead now: stop at once; the restart campaigns again.
    log.error({ lease: election.name }, 'leadership lost; exiting');
    await controller.stop(0);
    return 1;
  };
  const done = run();

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      abort.abort();
      await controller?.stop();
      await done;
      await elector?.release();
      await Promise.all(servers.map(closeServer));
      client.close();
      log.info('operator stopped');
    })());
  return {
    metrics,
    metricsAddress: main.address,
    healthAddress,
    controller: () => controller,
    isLeader: () => elector?.isLeader() ?? true,
    done,
    stop,
  };
}
