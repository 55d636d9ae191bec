/**
 * `--workers N`: N processes share the listening port (node:cluster). The primary
 * serves /metrics (aggregated across workers by prom-client's AggregatorRegistry),
 * /healthz and /readyz, restarts crashed workers, and on SIGTERM tells every worker to
 * drain and exits once they have.
 */
import cluster, { type Worker } from 'node:cluster';
import type { Logger } from 'pino';
import { AggregatorRegistry } from 'prom-client';
import type { ProxyConfig } from './config/types.js';
import { startHealthServer } from '../../lib/health.js';
import { ConfigError } from './config/load.js';
import { replayStoreProblem, startAdmin, startProxy } from './proxy.js';
import { WorkerReplayStore, serveReplayClaims } from './replay/workers.js';
import { createReplayStore } from './replay/create.js';
import { clusterControl, serveAdminRequests } from './admin-ipc.js';
import { parseListen } from '../../lib/address.js';

type Message = { type: 'wsgate:ready'; address: unknown } | { type: 'wsgate:drain' };

export async function runPrimary(config: ProxyConfig, logger: Logger): Promise<number> {
  const aggregator = new AggregatorRegistry();
  const ready = new Set<number>();
  let draining = false;
  // The one store every worker claims single-use tickets in.
  let store: ReturnType<typeof createReplayStore> | undefined;
  try {
    store = config.jwtKey !== undefined ? createReplayStore(config, logger) : undefined;
  } catch (e) {
    throw new ConfigError((e as Error).message, { cause: e });
  }

  // The admin API answers for every worker (admin-ipc.ts). Started before the workers,
  // so an unusable token file exits without leaving any behind.
  const admin = await startAdmin(config, clusterControl(), logger);

  const fork = (): Worker => {
    const worker = cluster.fork();
    if (store) serveReplayClaims(worker, store);
    worker.on('message', (msg: Message) => {
      if (msg.type === 'wsgate:ready') {
        ready.add(worker.id);
        started.add(worker.id);
        if (ready.size === 1)
          logger.info({ listen: msg.address, workers: config.workers }, 'proxy listening');
      }
    });
    return worker;
  };
  // A worker that exits before it ever listened hit a startup problem (port in use, an
  // unreadable certificate) that a new worker would hit again: stop with its exit code
  // instead of restarting workers forever. A worker that crashes later is replaced.
  let startupFailure: number | undefined;
  const started = new Set<number>();
  cluster.on('exit', (worker, code, signal) => {
    ready.delete(worker.id);
    if (draining) return;
    if (!started.has(worker.id)) {
      logger.error({ worker: worker.id, code, signal }, 'worker failed to start; stopping');
      startupFailure = code || 1;
      shutDown();
      return;
    }
    logger.error({ worker: worker.id, code, signal }, 'worker exited; starting another');
    fork();
  });

  // Before the workers, so a startup failure finds it there to close.
  const health =
    config.metricsListen === ''
      ? undefined
      : await startHealthServer(parseListen(config.metricsListen), {
          notReady: () =>
            draining
              ? 'draining'
              : ready.size < config.workers
                ? `${ready.size}/${config.workers} workers listening`
                : replayStoreProblem(store),
          metrics: async () => ({
            contentType: aggregator.contentType,
            body: await aggregator.clusterMetrics(),
          }),
        });

  if (health) logger.info({ listen: health.address }, 'metrics listening');
  for (let i = 0; i < config.workers; i++) fork();

  let finish: (code: number) => void = () => {};
  const done = new Promise<number>((resolve) => (finish = resolve));
  /** Tells every worker to drain; resolves with the exit code once all are gone. */
  function shutDown(): void {
    if (draining) return;
    draining = true;
    logger.info({ workers: Object.keys(cluster.workers ?? {}).length }, 'draining workers');
    for (const w of Object.values(cluster.workers ?? {})) {
      // A worker still starting has no drain handler yet: stop it outright.
      if (started.has(w!.id)) w!.send({ type: 'wsgate:drain' } satisfies Message);
      else w!.process.kill('SIGTERM');
    }
    const check = setInterval(() => {
      if (Object.keys(cluster.workers ?? {}).length > 0) return;
      clearInterval(check);
      store?.close();
      health?.server.close();
      void admin?.close();
      finish(startupFailure ?? 0);
    }, 50);
  }
  process.on('SIGTERM', shutDown);
  process.on('SIGINT', shutDown);
  return done;
}

export async function runWorker(config: ProxyConfig, logger: Logger): Promise<number> {
  const replayStore = config.jwtSingleUse ? new WorkerReplayStore() : undefined;
  const proxy = await startProxy(config, {
    logger,
    serveMetrics: false,
    serveAdmin: false,
    replayStore,
  });
  serveAdminRequests(proxy.server.registry);
  AggregatorRegistry.setRegistries([proxy.metrics.registry]);
  new AggregatorRegistry(); // installs the worker's answer to the primary's metrics requests
  process.send?.({ type: 'wsgate:ready', address: proxy.address } satisfies Message);
  return new Promise((resolve) => {
    let draining = false;
    const drain = () => {
      if (draining) return;
      draining = true;
      void proxy.drain().then(() => resolve(0));
    };
    process.on('message', (msg: Message) => msg.type === 'wsgate:drain' && drain());
    // A terminal's Ctrl-C reaches the whole process group; drain the same way.
    process.on('SIGINT', drain);
    process.on('SIGTERM', drain);
  });
}

export const isWorker = (): boolean => cluster.isWorker;
