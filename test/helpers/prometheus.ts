/**
 * A real Prometheus (Debian's `prometheus` binary, scripts/install-test-deps.sh) on
 * 127.0.0.1 with a temporary config and data directory, scraping the given targets every
 * second; and its HTTP API (instant queries, label values).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { freePorts } from '../cluster/ports.js';
import { waitFor } from './wait.js';
import { stopProcess, track, type TrackedProcess } from './processes.js';

/** One scrape job: its name becomes the `job` label, `labels` are added to every series. */
export interface ScrapeJob {
  name: string;
  /** host:port of the /metrics endpoint. */
  target: string;
  labels: Record<string, string>;
  scheme?: 'http' | 'https';
  /** Sent as `Authorization: Bearer …`. */
  bearerToken?: string;
  /** For https: skip verification of the serving certificate (self-signed). */
  insecureSkipVerify?: boolean;
}

/** One sample (instant vector) or series of a query answer. */
export interface Sample {
  metric: Record<string, string>;
  value?: [number, string];
}

/** The answer of /api/v1/query: status and data, or Prometheus' error. */
export interface QueryAnswer {
  httpStatus: number;
  status: 'success' | 'error';
  resultType?: string;
  result: Sample[];
  error?: string;
}

export interface TestPrometheus {
  url: string;
  /** Instant query at the current time. */
  query(expr: string): Promise<QueryAnswer>;
  /** Values of `label` among series matching `match` (what Grafana's label_values asks). */
  labelValues(label: string, match: string): Promise<string[]>;
  /** The scrape targets' health (`up`, `down`, `unknown`) by job. */
  targets(): Promise<Array<{ job: string; health: string; lastError: string }>>;
  out(): string;
  stop(): Promise<void>;
}

/** Starts Prometheus scraping `jobs` every second; resolves once /-/ready answers 200. */
export async function startPrometheus(jobs: ScrapeJob[]): Promise<TestPrometheus> {
  const dir = mkdtempSync(join(tmpdir(), 'wsgate-prometheus-'));
  const [port] = await freePorts(1);
  const config = {
    global: { scrape_interval: '1s', scrape_timeout: '900ms', evaluation_interval: '1s' },
    scrape_configs: jobs.map((j) => ({
      job_name: j.name,
      scheme: j.scheme ?? 'http',
      ...(j.bearerToken ? { authorization: { type: 'Bearer', credentials: j.bearerToken } } : {}),
      ...(j.insecureSkipVerify ? { tls_config: { insecure_skip_verify: true } } : {}),
      static_configs: [{ targets: [j.target], labels: j.labels }],
    })),
  };
  writeFileSync(join(dir, 'prometheus.yml'), stringify(config));
  const child = spawn(
    'prometheus',
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--storage.tsdb.retention.time=1h',
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const spawned = new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', (err) =>
      reject(new Error(`prometheus: ${err.message} (scripts/install-test-deps.sh installs it)`)),
    );
  });
  const proc: TrackedProcess = track('prometheus', child);
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    await stopProcess(proc, 10_000);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await spawned;
    await waitFor(
      'prometheus to be ready',
      async () => {
        if (child.exitCode !== null) throw new Error(`prometheus exited:\n${proc.out()}`);
        const res = await fetch(`${url}/-/ready`).catch(() => null);
        return res?.status === 200 ? true : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    );
  } catch (err) {
    await stop();
    throw err;
  }
  const api = async (path: string, params: Record<string, string | string[]>) => {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) {
      for (const one of Array.isArray(v) ? v : [v]) q.append(k, one);
    }
    const res = await fetch(`${url}${path}?${q}`);
    return { httpStatus: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  return {
    url,
    async query(expr) {
      const { httpStatus, body } = await api('/api/v1/query', { query: expr });
      const data = body['data'] as { resultType: string; result: Sample[] } | undefined;
      return {
        httpStatus,
        status: body['status'] as 'success' | 'error',
        resultType: data?.resultType,
        result: data?.result ?? [],
        error: body['error'] as string | undefined,
      };
    },
    async labelValues(label, match) {
      const { httpStatus, body } = await api(`/api/v1/label/${label}/values`, { 'match[]': match });
      if (httpStatus !== 200) throw new Error(`label values ${label} ${match}: ${body['error']}`);
      return body['data'] as string[];
    },
    async targets() {
      const { body } = await api('/api/v1/targets', {});
      const active = (body['data'] as { activeTargets: Array<Record<string, unknown>> })
        .activeTargets;
      return active.map((t) => ({
        job: (t['labels'] as Record<string, string>)['job']!,
        health: t['health'] as string,
        lastError: t['lastError'] as string,
      }));
    },
    out: () => proc.out(),
    stop,
  };
}
