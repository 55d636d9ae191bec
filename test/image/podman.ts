/**
 * podman for the image test, configured through its own environment only (nothing on the
 * machine is edited): storage, run state, events and network config under
 * .cache/image, the runc runtime, cgroupfs, host networking, and explicit ulimits within
 * this machine's hard limits (podman's defaults exceed them and runc fails with
 * "error setting rlimits ... operation not permitted").
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../helpers/repo.js';

export { ROOT };
export const CACHE = join(ROOT, '.cache', 'image');

export interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** This process's hard limit from /proc/self/limits, capped (never above what we may set). */
function hardLimit(row: string, cap: number): number {
  const line = readFileSync('/proc/self/limits', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(row));
  const hard = line?.slice(row.length).trim().split(/\s+/)[1];
  return hard === undefined || hard === 'unlimited' ? cap : Math.min(cap, Number(hard));
}

export const ULIMITS = {
  nofile: hardLimit('Max open files', 65536),
  nproc: hardLimit('Max processes', 4096),
};

/** Writes the configuration files and returns the environment that selects them. */
export function podmanEnv(): NodeJS.ProcessEnv {
  const dir = join(CACHE, 'podman');
  mkdirSync(dir, { recursive: true });
  const ulimits = [
    `nofile=${ULIMITS.nofile}:${ULIMITS.nofile}`,
    `nproc=${ULIMITS.nproc}:${ULIMITS.nproc}`,
  ];
  writeFileSync(
    join(dir, 'containers.conf'),
    [
      '[containers]',
      `default_ulimits = ${JSON.stringify(ulimits)}`,
      'netns = "host"',
      '[engine]',
      'runtime = "runc"',
      'cgroup_manager = "cgroupfs"',
      'events_logger = "file"',
      `events_logfile_path = ${JSON.stringify(join(dir, 'events.log'))}`,
      '[network]',
      `network_config_dir = ${JSON.stringify(join(dir, 'networks'))}`,
      '',
    ].join('\n'),
  );
  writeFileSync(
    join(dir, 'storage.conf'),
    [
      '[storage]',
      'driver = "overlay"',
      `graphroot = ${JSON.stringify(join(CACHE, 'storage'))}`,
      `runroot = ${JSON.stringify(join(CACHE, 'run'))}`,
      '',
    ].join('\n'),
  );
  // No registry is reachable: never search one for a short name.
  writeFileSync(join(dir, 'registries.conf'), 'unqualified-search-registries = []\n');
  return {
    ...process.env,
    CONTAINERS_CONF: join(dir, 'containers.conf'),
    CONTAINERS_STORAGE_CONF: join(dir, 'storage.conf'),
    CONTAINERS_REGISTRIES_CONF: join(dir, 'registries.conf'),
  };
}

/** Runs a command to completion, killed after `timeoutMs`. */
export function run(
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  timeoutMs: number,
): Promise<Result> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn(cmd, args, { env, cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      const ms = Date.now() - started;
      if (code === null) stderr += `\n(killed after ${timeoutMs} ms)`;
      resolve({ code, stdout, stderr, ms });
    });
  });
}

/** `podman ARGS`, failing with its output unless it exits 0. */
export async function podman(
  env: NodeJS.ProcessEnv,
  args: string[],
  timeoutMs = 60_000,
): Promise<Result> {
  const r = await run('podman', args, env, timeoutMs);
  if (r.code !== 0)
    throw new Error(`podman ${args.join(' ')} exited ${r.code}:\n${r.stderr}\n${r.stdout}`);
  return r;
}
