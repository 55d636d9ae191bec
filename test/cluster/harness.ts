/**
 * Test harness for node:test: one local control plane per test run, shared by
 * every test file, with a fresh namespace per test.
 *
 * Lifecycle: the first startCluster() in a run starts the plane detached
 * (PID files under .cache/cluster/state/pids) and records the test runner as
 * its owner; later test files (separate processes) reuse it. A watchdog stops
 * it after the runner exits. A plane started by `npm run cluster:up`, or with
 * WSGATE_CLUSTER_KEEP=1, is reused and left running.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { parse, stringify } from 'yaml';
import type { Assets } from './assets.js';
import { up } from './control-plane.js';
import { STATE_DIR } from './paths.js';
import { run, startTimeOf, type ProcRecord, type RunResult } from './proc.js';
import { waitFor } from '../helpers/wait.js';

export interface TestCluster {
  /** Admin (system:masters) kubeconfig: .cache/cluster/admin.kubeconfig. */
  readonly kubeconfigPath: string;
  /** API server URL, https://127.0.0.1:<port>. */
  readonly server: string;
  /** Built (or user-supplied) helm binary. */
  readonly helm: string;
  /** Built (or user-supplied) kubectl binary of the same Kubernetes release. */
  readonly kubectl: string;
  /** Every binary and data path, for tests that need more. */
  readonly assets: Assets;
  /** True if a plane that was already running was reused. */
  readonly reused: boolean;
}

/** Set WSGATE_SKIP_CLUSTER=1 to skip cluster tests (e.g. where Go is unavailable). */
export const skipCluster: string | false =
  process.env['WSGATE_SKIP_CLUSTER'] === '1' ? 'WSGATE_SKIP_CLUSTER=1' : false;

/**
 * The process whose exit ends the run: the `node --test` runner for a test
 * file it spawned (it sets NODE_TEST_CONTEXT in the child), else this process.
 */
function runOwner(): ProcRecord {
  const pid = process.env['NODE_TEST_CONTEXT'] !== undefined ? process.ppid : process.pid;
  return { name: 'owner', pid, start: startTimeOf(pid) };
}

let started: Promise<TestCluster> | undefined;

/**
 * Starts the control plane, or reuses the running one; memoised per process.
 * The first call of a fresh machine builds the binaries (minutes; progress on
 * stderr).
 */
export function startCluster(): Promise<TestCluster> {
  started ??= (async () => {
    const keep = process.env['WSGATE_CLUSTER_KEEP'] === '1';
    const log = (line: string): void => {
      process.stderr.write(`[cluster] ${line}\n`);
    };
    const { state, reused } = await up({ keep, owner: runOwner(), log });
    return {
      kubeconfigPath: state.kubeconfig,
      server: state.server,
      helm: state.assets.helm,
      kubectl: state.assets.kubectl,
      assets: state.assets,
      reused,
    };
  })();
  return started;
}

/** A KubeConfig for the admin; a new object each call, so tests may change it freely. */
export function adminConfig(cluster: TestCluster): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(cluster.kubeconfigPath);
  return kc;
}

/**
 * Writes a kubeconfig that impersonates a ServiceAccount (admin credentials
 * plus `as: system:serviceaccount:<ns>:<name>`), for subprocesses such as the
 * operator. The API server then authorizes every request as that
 * ServiceAccount, with its groups, so RBAC is what the chart grants.
 * Returns the file's path (under .cache/cluster/state, removed by `down`).
 */
export function serviceAccountKubeconfig(
  cluster: TestCluster,
  namespace: string,
  name: string,
): string {
  const doc = parse(readFileSync(cluster.kubeconfigPath, 'utf8')) as {
    users: Array<{ user: Record<string, unknown> }>;
  };
  for (const u of doc.users) u.user['as'] = `system:serviceaccount:${namespace}:${name}`;
  const dir = join(STATE_DIR, 'kubeconfigs');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `sa-${namespace}-${name}.kubeconfig`);
  writeFileSync(path, stringify(doc), { mode: 0o600 });
  return path;
}

/** A KubeConfig that impersonates a ServiceAccount (see serviceAccountKubeconfig). */
export function serviceAccountConfig(
  cluster: TestCluster,
  namespace: string,
  name: string,
): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(serviceAccountKubeconfig(cluster, namespace, name));
  return kc;
}

/**
 * Creates a fresh namespace (`<prefix>-<random>`), waits for its `default`
 * ServiceAccount (pods are refused until it exists), and deletes it after the
 * test when given the test's context. Deletion is not awaited to completion:
 * the namespace controller finishes it in the background.
 */
export async function createNamespace(
  cluster: TestCluster,
  t?: TestContext,
  prefix = 'test',
): Promise<string> {
  const core = adminConfig(cluster).makeApiClient(CoreV1Api);
  const name = `${prefix}-${randomBytes(4).toString('hex')}`.toLowerCase().slice(0, 63);
  await core.createNamespace({
    body: { metadata: { name, labels: { 'wsgate.dev/test': 'true' } } },
  });
  t?.after(async () => {
    await core.deleteNamespace({ name }).catch(() => undefined);
  });
  await waitFor(
    `ServiceAccount default in ${name}`,
    () => core.readNamespacedServiceAccount({ name: 'default', namespace: name }),
    { timeoutMs: 30_000, intervalMs: 100 },
  );
  return name;
}

/**
 * Runs the built kubectl or helm against the cluster (admin unless
 * `kubeconfig` is given), capturing output; bounded by `timeoutMs`.
 */
export function runTool(
  cluster: TestCluster,
  tool: 'kubectl' | 'helm',
  args: readonly string[],
  opts: { kubeconfig?: string; input?: string; timeoutMs?: number; cwd?: string } = {},
): Promise<RunResult> {
  const kubeconfig = opts.kubeconfig ?? cluster.kubeconfigPath;
  const env = {
    ...process.env,
    KUBECONFIG: kubeconfig,
    // Keep helm's caches and config out of the user's home directory.
    HELM_CACHE_HOME: join(STATE_DIR, 'helm', 'cache'),
    HELM_CONFIG_HOME: join(STATE_DIR, 'helm', 'config'),
    HELM_DATA_HOME: join(STATE_DIR, 'helm', 'data'),
  };
  return run(tool === 'helm' ? cluster.helm : cluster.kubectl, args, {
    env,
    timeoutMs: opts.timeoutMs ?? 120_000,
    ...(opts.input === undefined ? {} : { input: opts.input }),
    ...(opts.cwd === undefined ? {} : { cwd: opts.cwd }),
  });
}
