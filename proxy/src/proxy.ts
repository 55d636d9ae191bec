/**
 * Assembles one proxy instance from a validated config: resolvers, metrics, the
 * WebSocket listener and (unless disabled or run as a cluster worker) the metrics
 * listener. Used in-process by tests and by each worker of `wsgate proxy`.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { ProxyConfig } from './config/types.js';
import { ConfigError } from './config/load.js';
import { startHealthServer } from './health.js';
import { ProxyMetrics } from './metrics.js';
import { ProxyServer } from './server.js';
import { TokenFileResolver } from './tokens/file.js';
import type { TokenResolver } from './tokens/types.js';
import { parseHostPort, parseListen } from './util/address.js';

export interface RunningProxy {
  server: ProxyServer;
  metrics: ProxyMetrics;
  address: AddressInfo;
  /** Absent when metricsListen is "" or this is a cluster worker. */
  metricsAddress?: AddressInfo;
  drain(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export interface StartOptions {
  logger: Logger;
  /** Cluster workers leave /metrics to the primary, which aggregates them. */
  serveMetrics?: boolean;
}

function buildResolvers(
  config: ProxyConfig,
  metrics: ProxyMetrics,
  logger: Logger,
): TokenResolver[] {
  const resolvers: TokenResolver[] = [];
  if (config.tokenFile !== undefined) {
    let file: TokenFileResolver;
    try {
      file = new TokenFileResolver(config.tokenFile, {
        onReload(result, detail) {
          metrics.configReloads.labels(result).inc();
          const log = { file: config.tokenFile, ...detail };
          if (result === 'ok') logger.info(log, 'token file reloaded');
          else logger.error(log, 'token file problem; keeping the last good entries');
        },
      });
    } catch (e) {
      throw new ConfigError(
        `--token-file: cannot read ${config.tokenFile}: ${(e as NodeJS.ErrnoException).code ?? e}`,
      );
    }
    logger.info({ file: config.tokenFile, tokens: file.size }, 'token file loaded');
    resolvers.push(file);
  }
  return resolvers;
}

export async function startProxy(
  config: ProxyConfig,
  { logger, serveMetrics = true }: StartOptions,
): Promise<RunningProxy> {
  // The scrape-time flush needs the server, which needs the metrics: the closure
  // runs only at scrape time, after `server` exists.
  const metrics = new ProxyMetrics(() => server.flushBytes());
  const resolvers = buildResolvers(config, metrics, logger);
  const server = new ProxyServer({
    listen: parseListen(config.listen),
    fixedTarget: config.target !== undefined ? parseHostPort(config.target) : undefined,
    resolvers,
    handshakeTimeoutMs: config.handshakeTimeout * 1000,
    connectTimeoutMs: config.connectTimeout * 1000,
    idleTimeoutMs: config.idleTimeout * 1000,
    heartbeatMs: config.heartbeat * 1000,
    maxMessageBytes: config.maxMessageBytes,
    metrics,
    logger,
  });
  const address = await server.listen();
  logger.info({ listen: address, target: config.target }, 'proxy listening');

  let health: Server | undefined;
  let metricsAddress: AddressInfo | undefined;
  if (serveMetrics && config.metricsListen !== '') {
    const started = await startHealthServer(parseListen(config.metricsListen), {
      ready: () => server.ready,
      metrics: async () => ({
        contentType: metrics.registry.contentType,
        body: await metrics.registry.metrics(),
      }),
    });
    health = started.server;
    metricsAddress = started.address;
    logger.info({ listen: metricsAddress }, 'metrics listening');
  }

  const closeRest = async () => {
    for (const r of resolvers) r.close?.();
    await new Promise<void>((resolve) => (health ? health.close(() => resolve()) : resolve()));
  };
  return {
    server,
    metrics,
    address,
    metricsAddress,
    async drain(timeoutMs = config.drainTimeout * 1000) {
      await server.drain(timeoutMs);
      await closeRest();
    },
    async close() {
      await server.close();
      await closeRest();
    },
  };
}
