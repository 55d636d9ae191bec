/** The operator under test: as a `wsgate operator` subprocess, or started in this process. */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import type { KubeConfig } from '@kubernetes/client-node';
import { freePorts } from '../cluster/ports.js';
import { get } from '../cluster/probe.js';
import { accessFromKubeConfig } from '../../operator/src/kube/config.js';
import {
  startOperator,
  type OperatorOptions,
  type RunningOperator,
} from '../../operator/src/operator.js';
import { sampleValue } from '../helpers/metrics.js';
import { ROOT } from '../helpers/repo.js';
import { TEST_IMAGE } from './kube.js';
import { until } from './waits.js';

/** An operator running as a child process (`wsgate operator`). */
export interface OperatorProcess {
  readonly child: ChildProcess;
  /** http://127.0.0.1:PORT of its metrics listener (https with --metrics-secure). */
  readonly url: string;
  /** Everything it printed so far. */
  logs(): string;
  /** Parsed JSON log lines. */
  records(): Record<string, unknown>[];
  /** One metric's value (first sample whose labels include `labels`), or undefined. */
  metric(name: string, labels?: Record<string, string>): Promise<number | undefined>;
  /** Sends `signal` and resolves with the exit code (SIGKILL after 20 s). */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Starts `wsgate operator` with `args` (plus a free metrics port); waits until it answers
 * (killing it if it never does). The caller stops it.
 */
export async function spawnOperator(
  args: string[],
  env: Record<string, string> = {},
): Promise<OperatorProcess> {
  const [port] = await freePorts(1);
  const child = spawn(
    process.execPath,
    [join(ROOT, 'bin', 'wsgate.js'), 'operator', '--metrics-listen', `127.0.0.1:${port}`, ...args],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } },
  );
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  const records = () =>
    out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  const stop = async (signal: NodeJS.Signals = 'SIGTERM') => {
    if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    const code = await exited;
    clearTimeout(timer);
    return code;
  };
  // Health moves to --health-listen when given (with --metrics-secure it must).
  const healthArg = args.find((a) => a.startsWith('--health-listen='));
  const healthUrl = healthArg
    ? `http://${healthArg.slice('--health-listen='.length)}/healthz`
    : `http://127.0.0.1:${port}/healthz`;
  await until(
    'the operator to answer /healthz',
    async () => {
      if (child.exitCode !== null) throw new Error(`operator exited ${child.exitCode}:\n${out}`);
      return (await get(healthUrl)).status === 200 ? true : undefined;
    },
    30_000,
    100,
  ).catch(async (err: unknown) => {
    await stop('SIGKILL');
    throw err;
  });
  const url = `${args.includes('--metrics-secure') ? 'https' : 'http'}://127.0.0.1:${port}`;
  return {
    child,
    url,
    logs: () => out,
    records,
    metric: async (name, labels = {}) => {
      const res = await get(`${url}/metrics`);
      return sampleValue(res.body, name, labels);
    },
    stop,
  };
}

/** A pino logger that keeps JSON lines in memory (printed if a test fails). */
function memoryLogger(): { log: pino.Logger; lines: string[] } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      cb();
    },
  });
  return { log: pino({ level: 'debug' }, sink), lines };
}

/** Starts an operator in this process; it is stopped after `t`. */
export async function inProcessOperator(
  kubeConfig: KubeConfig,
  options: Partial<OperatorOptions>,
  t: { after(fn: () => Promise<unknown>): void },
): Promise<RunningOperator & { lines: string[] }> {
  const { log, lines } = memoryLogger();
  const running = await startOperator({
    access: await accessFromKubeConfig(kubeConfig),
    log,
    image: TEST_IMAGE,
    namespaces: [],
    workers: 2,
    resyncMs: 600_000,
    metricsListen: { host: '127.0.0.1', port: 0 },
    instance: 'in-process-test',
    defaultMetrics: false,
    baseDelayMs: 250,
    maxDelayMs: 2_000,
    ...options,
  });
  t.after(() => running.stop());
  return Object.assign(running, { lines });
}
