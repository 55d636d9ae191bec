/**
 * `wsgate operator`: flags, then one operator process until SIGTERM/SIGINT (graceful:
 * reconciles in progress finish, the Lease is released) or lost leadership (exit 1).
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createLogger } from '../../lib/log.js';
import { parseListen, type HostPort } from '../../lib/address.js';
import { parseDuration } from '../../lib/duration.js';
import { packageVersion } from '../../lib/version.js';
import { loadAccess, SERVICE_ACCOUNT_DIR, type ClusterAccess } from './kube/config.js';
import { fallback, fromEnv, parseOptions, usage } from './config/flags.js';
import { startOperator, type LeaderElectionSettings } from './operator.js';
import { readServingCert, selfSignedCert, type ServingCert } from './serving/cert.js';

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** Proxy image when neither --image nor WSGATE_IMAGE is given: the chart's default. */
export const DEFAULT_IMAGE = `wsgate:${packageVersion()}`;

/** A bad flag: exit 2 with a message naming it. */
export class UsageError extends Error {}

/** The parsed command line. */
export interface OperatorFlags {
  help: boolean;
  kubeconfig: string | undefined;
  namespaces: string[];
  leaderElection: LeaderElectionSettings | undefined;
  metricsListen: HostPort;
  healthListen: HostPort | undefined;
  /** Undefined: plain HTTP metrics. */
  metricsSecure: { certDir: string | undefined } | undefined;
  image: string;
  resyncMs: number;
  pollMs: number;
  secretsNamespaces: string[];
  workers: number;
  logLevel: string;
}

function durationMs(flag: string, value: string | undefined): number {
  try {
    const ms = parseDuration(value ?? fallback(flag)) * 1000;
    if (ms <= 0) throw new RangeError('must be above zero');
    return ms;
  } catch (e) {
    throw new UsageError(`--${flag}: ${(e as Error).message}`);
  }
}

function listen(flag: string, value: string): HostPort {
  try {
    return parseListen(value);
  } catch (e) {
    throw new UsageError(`--${flag}: ${(e as Error).message}`);
  }
}

function inClusterNamespace(): string | undefined {
  try {
    return readFileSync(join(SERVICE_ACCOUNT_DIR, 'namespace'), 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

/** Names in a self-signed serving certificate: the pod's, the host's, and loopback. */
function servingNames(): string[] {
  const names = [process.env['POD_NAME'], hostname(), 'localhost', '127.0.0.1'];
  return [...new Set(names.filter((n): n is string => !!n && /^[a-z0-9.-]+$/i.test(n)))];
}

/** The parsed values, typed by kind (the table decides which flag is which). */
interface FlagValues {
  kubeconfig?: string;
  namespace?: string[];
  'watch-namespace'?: string[];
  'leader-elect'?: boolean;
  'leader-election-namespace'?: string;
  'lease-name'?: string;
  'lease-duration'?: string;
  'renew-deadline'?: string;
  'retry-period'?: string;
  'metrics-listen'?: string;
  'health-listen'?: string;
  'metrics-secure'?: boolean;
  'metrics-cert-dir'?: string;
  image?: string;
  'secrets-namespace'?: string[];
  'poll-interval'?: string;
  resync?: string;
  workers?: string;
  'log-level'?: string;
  help?: boolean;
}

function flagValues(parsed: Record<string, unknown>): FlagValues {
  return parsed as FlagValues;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/**
 * Parses `argv` (after `operator`). Environment: POD_NAMESPACE, POD_NAME, WSGATE_IMAGE,
 * WSGATE_LOG_LEVEL. Throws {@link UsageError} naming the flag.
 */
export function parseFlags(
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): OperatorFlags {
  let parsed: Record<string, string | boolean | (string | boolean)[] | undefined>;
  try {
    ({ values: parsed } = parseArgs({
      args: [...argv],
      options: parseOptions(),
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const values = flagValues(parsed);
  const namespaces = [...(values.namespace ?? []), ...(values['watch-namespace'] ?? [])];
  for (const ns of namespaces) {
    if (!DNS_LABEL.test(ns)) throw new UsageError(`--namespace: "${ns}" is not a namespace name`);
  }
  const secretsNamespaces = [...new Set(values['secrets-namespace'] ?? [])];
  for (const ns of secretsNamespaces) {
    if (!DNS_LABEL.test(ns)) {
      throw new UsageError(`--secrets-namespace: "${ns}" is not a namespace name`);
    }
  }
  const workers = Number(values.workers ?? fallback('workers'));
  if (!Number.isInteger(workers) || workers < 1 || workers > 64) {
    throw new UsageError(`--workers: "${values.workers}" is not a whole number from 1 to 64`);
  }
  const logLevel = values['log-level'] ?? fromEnv('log-level', env) ?? fallback('log-level');
  if (!LEVELS.includes(logLevel)) {
    throw new UsageError(`--log-level: "${logLevel}" is not one of ${LEVELS.join(', ')}`);
  }
  const image = values.image ?? fromEnv('image', env) ?? DEFAULT_IMAGE;
  if (image.trim() === '') throw new UsageError('--image: must not be empty');
  let leaderElection: LeaderElectionSettings | undefined;
  if (values['leader-elect']) {
    const namespace =
      values['leader-election-namespace'] ??
      fromEnv('leader-election-namespace', env) ??
      inClusterNamespace();
    if (!namespace) {
      throw new UsageError(
        '--leader-election-namespace: required outside a cluster (or set POD_NAMESPACE)',
      );
    }
    leaderElection = {
      namespace,
      name: values['lease-name'] ?? fallback('lease-name'),
      identity: env['POD_NAME'] || `${hostname()}_${randomUUID()}`,
      leaseDurationMs: durationMs('lease-duration', values['lease-duration']),
      renewDeadlineMs: durationMs('renew-deadline', values['renew-deadline']),
      retryPeriodMs: durationMs('retry-period', values['retry-period']),
    };
    const { leaseDurationMs: lease, renewDeadlineMs: renew, retryPeriodMs: retry } = leaderElection;
    if (!(lease > renew && renew > retry)) {
      throw new UsageError(
        '--lease-duration, --renew-deadline, --retry-period: each must be longer than the next',
      );
    }
  }
  const metricsListen = listen(
    'metrics-listen',
    values['metrics-listen'] ?? fallback('metrics-listen'),
  );
  const health = values['health-listen'];
  if (values['metrics-secure'] && health === undefined) {
    throw new UsageError(
      '--metrics-secure needs --health-listen: the kubelet probes /healthz and /readyz over plain HTTP',
    );
  }
  if (values['metrics-cert-dir'] !== undefined && !values['metrics-secure']) {
    throw new UsageError('--metrics-cert-dir: only with --metrics-secure');
  }
  return {
    help: values.help ?? false,
    kubeconfig: values.kubeconfig,
    namespaces: [...new Set(namespaces)],
    leaderElection,
    metricsListen,
    healthListen: health === undefined ? undefined : listen('health-listen', health),
    metricsSecure: values['metrics-secure'] ? { certDir: values['metrics-cert-dir'] } : undefined,
    image,
    resyncMs: durationMs('resync', values.resync),
    pollMs: durationMs('poll-interval', values['poll-interval']),
    secretsNamespaces,
    workers,
    logLevel,
  };
}

/**
 * Runs `wsgate operator` with the arguments after the subcommand. Resolves with the exit
 * code: 0 after SIGTERM/SIGINT, 1 when leadership was lost, 2 for a bad flag.
 */
export async function operatorCommand(argv: string[]): Promise<number> {
  let flags: OperatorFlags;
  let access: ClusterAccess;
  try {
    flags = parseFlags(argv);
    if (flags.help) {
      process.stdout.write(usage(DEFAULT_IMAGE));
      return 0;
    }
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(`wsgate operator: ${e.message}\n`);
    return 2;
  }
  try {
    access = await loadAccess(flags.kubeconfig);
  } catch (e) {
    process.stderr.write(`wsgate operator: --kubeconfig: ${(e as Error).message}\n`);
    return 2;
  }
  let cert: ServingCert | undefined;
  if (flags.metricsSecure) {
    const dir = flags.metricsSecure.certDir;
    try {
      cert = dir ? readServingCert(dir) : selfSignedCert(servingNames());
    } catch (e) {
      process.stderr.write(`wsgate operator: --metrics-cert-dir: ${(e as Error).message}\n`);
      return 2;
    }
  }
  const log = createLogger(flags.logLevel);
  log.info({ server: access.server, from: access.source }, 'cluster');
  let operator;
  try {
    operator = await startOperator({
      access,
      log,
      image: flags.image,
      namespaces: flags.namespaces,
      workers: flags.workers,
      resyncMs: flags.resyncMs,
      pollMs: flags.pollMs,
      secretsNamespaces: flags.secretsNamespaces,
      leaderElection: flags.leaderElection,
      metricsListen: flags.metricsListen,
      healthListen: flags.healthListen,
      metricsSecure: cert ? { cert } : undefined,
      instance: flags.leaderElection?.identity ?? process.env['POD_NAME'] ?? hostname(),
    });
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'EADDRINUSE' || err.code === 'EACCES' || err.code === 'EADDRNOTAVAIL') {
      process.stderr.write(`wsgate operator: cannot listen: ${err.code} ${err.message}\n`);
      return 2;
    }
    throw e;
  }
  const signalled = new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  const outcome = await Promise.race([operator.done, signalled]);
  if (typeof outcome === 'string') log.info({ signal: outcome }, 'signal received; stopping');
  await operator.stop();
  return typeof outcome === 'number' ? outcome : 0;
}
