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
import { flagOf, settingError, SettingError } from './config/setting-error.js';
import { startHealthServer } from '../../lib/health.js';
import { ProxyMetrics } from './metrics.js';
import { ProxyServer } from './server.js';
import { Recordings } from './recording/recordings.js';
import { readFileSync } from 'node:fs';
import { trustedProxies } from './client-ip.js';
import { Limits } from './policy/limits.js';
import { OriginPolicy } from './policy/origins.js';
import { TargetPolicy } from './policy/targets.js';
import { UnixDirPolicy } from './policy/unix-dirs.js';
import { TlsCredentials } from './tls.js';
import { TokenFileResolver } from './tokens/file.js';
import { createHttpResolver } from './tokens/http.js';
import { createJwtResolver } from './tokens/jwt.js';
import { createOvirtResolver } from './tokens/ovirt.js';
import type { TokenResolver } from './tokens/types.js';
import { createReplayStore } from './replay/create.js';
import type { ReplayStore } from './replay/store.js';
import { parseHostPort, parseListen } from '../../lib/address.js';
import { localControl, startAdminServer, type AdminServer, type SessionControl } from './admin.js';

export interface RunningProxy {
  server: ProxyServer;
  metrics: ProxyMetrics;
  address: AddressInfo;
  /** Absent when metricsListen is "" or this is a cluster worker. */
  metricsAddress?: AddressInfo;
  /** Set with --admin-listen (not in cluster workers: the primary serves it). */
  adminAddress?: AddressInfo;
  drain(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export interface StartOptions {
  logger: Logger;
  /** Cluster workers leave /metrics to the primary, which aggregates them. */
  serveMetrics?: boolean;
  /**
   * Where single-use tickets are claimed (a cluster worker passes the primary's). Default:
   * built from the config (Redis with --replay-store, else memory) and closed with the proxy.
   */
  replayStore?: ReplayStore;
  /** Cluster workers leave the admin API to the primary, which asks them. Default true. */
  serveAdmin?: boolean;
}

/**
 * Starts the admin API if `--admin-listen` is set: for this process's sessions, or
 * (cluster primary) every worker's. Uses the main listener's TLS files when set.
 */
export async function startAdmin(
  config: ProxyConfig,
  control: SessionControl,
  logger: Logger,
): Promise<AdminServer | undefined> {
  if (config.adminListen === undefined) return undefined;
  const admin = await startAdminServer({
    listen: parseListen(config.adminListen!),
    tokenFile: config.adminTokenFile!,
    control,
    tls:
      config.tlsCert !== undefined && config.tlsKey !== undefined
        ? {
            certFile: config.tlsCert,
            keyFile: config.tlsKey,
            minVersion: config.tlsMinVersion,
            ciphers: config.tlsCiphers,
          }
        : undefined,
    logger,
  }).catch((e: unknown) => {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'EADDRINUSE' || err.code === 'EACCES' || err.code === 'EADDRNOTAVAIL') {
      throw new ConfigError(`--admin-listen: cannot listen: ${err.code}`, { cause: e });
    }
    // Unreadable or too short token file, or (cluster primary) bad TLS files.
    throw configError(settingError('--admin-token-file', e));
  });
  logger.info({ listen: admin.address, tls: config.tlsCert !== undefined }, 'admin API listening');
  return admin;
}

/**
 * Builds what a setting configures. Whatever it throws becomes the CLI's exit-2 error,
 * named by the flag of the setting the error carries (a SettingError knows its own,
 * which may be more precise than `flag`: `--tls-key` rather than `--tls-cert`).
 */
function fromSetting<T>(flag: string, make: () => T): T {
  try {
    return make();
  } catch (e) {
    throw configError(settingError(flag, e));
  }
}

function configError(e: SettingError): ConfigError {
  return new ConfigError(`${flagOf(e.setting)}: ${e.detail}`, { cause: e });
}

/** Resolvers in the order they are asked: file, JWT, oVirt ticket, HTTP lookup. */
function buildResolvers(
  config: ProxyConfig,
  metrics: ProxyMetrics,
  logger: Logger,
  replayStore: ReplayStore | undefined,
): TokenResolver[] {
  const reloaded = (file: string) => {
    metrics.configReloads.labels('ok').inc();
    logger.info({ file }, 'file reloaded');
  };
  const failed = (error: SettingError, file: string) => {
    metrics.configReloads.labels('error').inc();
    logger.error({ file, err: error.detail }, 'file reload failed; keeping the last good content');
  };
  const resolvers: TokenResolver[] = [];
  if (config.tokenFile !== undefined) {
    const file = fromSetting(
      '--token-file',
      () =>
        new TokenFileResolver(config.tokenFile!, {
          onReload(result, detail) {
            metrics.configReloads.labels(result).inc();
            const log = { file: config.tokenFile, ...detail };
            if (result === 'ok') logger.info(log, 'token file reloaded');
            else if (detail.kept.length) {
              logger.error(log, 'token file rejected; keeping the last good entries');
            } else logger.error(log, 'token file reloaded; bad lines skipped');
          },
        }),
    );
    logger.info({ file: config.tokenFile, tokens: file.size }, 'token file loaded');
    resolvers.push(file);
  }
  if (config.jwtKey !== undefined) {
    resolvers.push(
      fromSetting('--jwt-key', () =>
        createJwtResolver({
          keyFile: config.jwtKey!,
          algorithms: config.jwtAlgorithms,
          audience: config.jwtAudience,
          issuer: config.jwtIssuer,
          allowNoExp: config.jwtAllowNoExp,
          singleUse: config.jwtSingleUse,
          singleUseWindowMs: config.jwtSingleUseWindow * 1000,
          replayStore,
          onReload: reloaded,
          onReloadError: failed,
        }),
      ),
    );
  }
  if (config.ovirtCert !== undefined) {
    resolvers.push(
      fromSetting('--ovirt-cert', () =>
        createOvirtResolver({
          certFile: config.ovirtCert!,
          onReload: reloaded,
          onReloadError: failed,
        }),
      ),
    );
  }
  if (config.tokenUrl !== undefined) {
    resolvers.push(
      fromSetting('--token-url', () =>
        createHttpResolver({
          url: config.tokenUrl!,
          timeoutMs: config.tokenUrlTimeout * 1000,
          cacheTtlSeconds: config.tokenUrlCacheTtl,
        }),
      ),
    );
  }
  return resolvers;
}

function buildTls(
  config: ProxyConfig,
  metrics: ProxyMetrics,
  logger: Logger,
): TlsCredentials | undefined {
  if (config.tlsCert === undefined || config.tlsKey === undefined) return undefined;
  return fromSetting(
    '--tls-cert',
    () =>
      new TlsCredentials(
        {
          certFile: config.tlsCert!,
          keyFile: config.tlsKey!,
          clientCaFile: config.tlsClientCa,
          minVersion: config.tlsMinVersion,
          ciphers: config.tlsCiphers,
        },
        {
          onExpiry: (t) => metrics.certificateExpiry.set(t),
          onReload(result, detail) {
            metrics.configReloads.labels(result).inc();
            if (result === 'ok') logger.info(detail, 'TLS certificate reloaded');
            else logger.error(detail, 'TLS certificate reload failed; serving the previous one');
          },
        },
      ),
  );
}

export async function startProxy(
  config: ProxyConfig,
  { logger, serveMetrics = true, replayStore, serveAdmin = true }: StartOptions,
): Promise<RunningProxy> {
  // The scrape-time flush needs the server, which needs the metrics: the closure
  // runs only at scrape time, after `server` exists.
  const metrics = new ProxyMetrics(() => server.flushBytes());
  const ownStore =
    replayStore === undefined && config.jwtKey !== undefined
      ? fromSetting('--replay-store', () => createReplayStore(config, logger))
      : undefined;
  const store = replayStore ?? ownStore;
  const resolvers = buildResolvers(config, metrics, logger, store);
  const tls = buildTls(config, metrics, logger);
  const targetCa =
    config.targetCa !== undefined
      ? fromSetting('--target-ca', () => readFileSync(config.targetCa!))
      : undefined;
  const signed = resolvers.some((r) => r.name !== 'file');
  if (signed && config.allowTarget.length === 0) {
    logger.warn(
      'signed or remote tokens configured without --allow-target: their targets will be refused',
    );
  }
  if (config.endAtTicketExpiry && config.jwtKey === undefined && config.ovirtCert === undefined) {
    logger.warn('--end-at-ticket-expiry has no effect: only JWT and oVirt tickets expire');
  }
  const recordings =
    config.recordDir !== undefined
      ? fromSetting(
          '--record-dir',
          () =>
            new Recordings({
              dir: config.recordDir!,
              when: config.recordWhen,
              input: config.recordInput,
              maxBytes: config.recordMaxBytes,
              retentionMs: config.recordRetention * 1000,
              registry: metrics.registry,
              logger,
            }),
        )
      : undefined;
  const server = new ProxyServer({
    listen: parseListen(config.listen),
    fixedTarget: config.target !== undefined ? parseHostPort(config.target) : undefined,
    resolvers,
    targetPolicy: new TargetPolicy(config.allowTarget),
    unixDirs:
      config.allowUnixDir.length > 0
        ? fromSetting('--allow-unix-dir', () => new UnixDirPolicy(config.allowUnixDir))
        : undefined,
    trustedResolvers: new Set(['file']),
    enforceForTrusted: config.allowTarget.length > 0,
    origins: new OriginPolicy(config.allowOrigin, config.allowMissingOrigin),
    limits: new Limits({
      maxConnections: config.maxConnections,
      maxConnectionsPerIp: config.maxConnectionsPerIp,
      handshakeRate: config.handshakeRate,
    }),
    trustedProxies: trustedProxies(config.trustedProxy),
    proxyProtocol: config.proxyProtocol,
    tls,
    clientSubjects: config.tlsClientSubject,
    targetTls: config.targetTls,
    targetCa,
    handshakeTimeoutMs: config.handshakeTimeout * 1000,
    connectTimeoutMs: config.connectTimeout * 1000,
    idleTimeoutMs: config.idleTimeout * 1000,
    maxSessionMs: config.maxSession * 1000,
    heartbeatMs: config.heartbeat * 1000,
    maxMessageBytes: config.maxMessageBytes,
    maxSessionsPerTarget: config.maxSessionsPerTarget,
    targetLimitPolicy: config.targetLimitPolicy,
    endAtTicketExpiry: config.endAtTicketExpiry,
    recordings,
    metrics,
    logger,
  });
  const address = await server.listen().catch((e: unknown) => {
    ownStore?.close(); // its connection would otherwise outlive the failed start
    void recordings?.close();
    throw e;
  });
  logger.info({ listen: address, target: config.target }, 'proxy listening');

  let health: Server | undefined;
  let metricsAddress: AddressInfo | undefined;
  if (serveMetrics && config.metricsListen !== '') {
    const started = await startHealthServer(parseListen(config.metricsListen), {
      notReady: () => (!server.ready ? 'not listening or draining' : replayStoreProblem(store)),
      metrics: async () => ({
        contentType: metrics.registry.contentType,
        body: await metrics.registry.metrics(),
      }),
    });
    health = started.server;
    metricsAddress = started.address;
    logger.info({ listen: metricsAddress }, 'metrics listening');
  }

  let admin: AdminServer | undefined;
  if (serveAdmin) {
    try {
      admin = await startAdmin(config, localControl(server.registry), logger);
    } catch (e) {
      await server.close();
      await new Promise<void>((resolve) => (health ? health.close(() => resolve()) : resolve()));
      for (const r of resolvers) r.close?.();
      tls?.close();
      await recordings?.close();
      throw e;
    }
  }

  const closeRest = async () => {
    await admin?.close();
    for (const r of resolvers) r.close?.();
    ownStore?.close();
    tls?.close();
    await recordings?.close();
    await new Promise<void>((resolve) => (health ? health.close(() => resolve()) : resolve()));
  };
  return {
    server,
    metrics,
    address,
    metricsAddress,
    adminAddress: admin?.address,
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

/** /readyz's reason while single-use tickets cannot be checked, else null. */
export function replayStoreProblem(store: ReplayStore | undefined): string | null {
  const problem = store?.unavailable() ?? null;
  return problem === null ? null : `replay store unavailable: ${problem}`;
}
