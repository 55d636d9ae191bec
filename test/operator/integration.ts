/**
 * Helpers for the operator's integration tests against the local control plane: the
 * CRD and the operator's RBAC (from operator/rbac/role.yaml, bound to a ServiceAccount),
 * an operator run as a subprocess under that ServiceAccount or in-process, a raw JSON
 * client, and bounded waits.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { parseAllDocuments } from 'yaml';
import type { KubeConfig } from '@kubernetes/client-node';
import {
  adminConfig,
  createNamespace,
  runTool,
  serviceAccountKubeconfig,
  type TestCluster,
} from '../cluster/harness.js';
import { freePorts } from '../cluster/ports.js';
import { get } from '../cluster/probe.js';
import { sampleValue } from '../helpers/metrics.js';
import { waitFor } from '../helpers/wait.js';
import { KubeClient, isStatus } from '../../operator/src/kube/client.js';
import { accessFromKubeConfig } from '../../operator/src/kube/config.js';
import {
  startOperator,
  type OperatorOptions,
  type RunningOperator,
} from '../../operator/src/operator.js';
import type { Condition, WebSocketProxy } from '../../operator/src/api/websocketproxy-types.js';
import { ROOT, readRepoFile } from './helpers.js';

/** The ServiceAccount the operator runs as in these tests. */
export const OPERATOR_SA = 'wsgate-operator';
/** A valid image name; kwok never pulls it. */
export const TEST_IMAGE = 'registry.invalid/wsgate:integration';
/** Field manager of the tests' own writes. */
export const TEST_MANAGER = 'wsgate-operator-test';

/**
 * `waitFor` (test/cluster/probe.ts) with positional bounds: polls `check` every
 * `intervalMs` until it returns a value (not undefined), for at most `timeoutMs`; on
 * timeout fails with `what` and the last error `check` threw.
 */
export function until<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 30_000,
  intervalMs = 200,
): Promise<T> {
  return waitFor(what, check, { timeoutMs, intervalMs });
}

/** An admin client (system:masters) for the tests' own reads and writes. */
export async function adminClient(cluster: TestCluster): Promise<KubeClient> {
  return new KubeClient(await accessFromKubeConfig(adminConfig(cluster)));
}

/** Runs kubectl as admin and fails the test on a non-zero exit. */
export async function kubectl(
  cluster: TestCluster,
  args: string[],
  input?: string,
): Promise<string> {
  const res = await runTool(cluster, 'kubectl', args, input === undefined ? {} : { input });
  assert.equal(res.code, 0, `kubectl ${args.join(' ')}: ${res.stderr}`);
  return res.stdout;
}

/** Applies (server-side, as the tests' manager) YAML or JSON documents with kubectl. */
export function applyDocs(cluster: TestCluster, docs: unknown[] | string): Promise<string> {
  const input =
    typeof docs === 'string' ? docs : docs.map((d) => JSON.stringify(d)).join('\n---\n');
  return kubectl(
    cluster,
    ['apply', '--server-side', '--force-conflicts', `--field-manager=${TEST_MANAGER}`, '-f', '-'],
    input,
  );
}

/** Applies crds/ and waits for the CRD to be Established. */
export async function installCrd(cluster: TestCluster): Promise<void> {
  await kubectl(cluster, [
    'apply',
    '--server-side',
    '--force-conflicts',
    `--field-manager=${TEST_MANAGER}`,
    '-f',
    join(ROOT, 'crds', 'wsgate.dev_websocketproxies.yaml'),
  ]);
  await kubectl(cluster, [
    'wait',
    '--for=condition=Established',
    '--timeout=30s',
    'customresourcedefinition/websocketproxies.wsgate.dev',
  ]);
}

/** Where the operator's RBAC went, for a test run. */
export interface OperatorAccount {
  /** The operator's own namespace (ServiceAccount, Lease). */
  namespace: string;
  /** A kubeconfig that impersonates the ServiceAccount. */
  kubeconfig: string;
  /** Grants `get` on Secrets in `namespace` (RoleBinding of wsgate-operator-secrets). */
  grantSecrets(namespace: string): Promise<void>;
}

/**
 * Creates a namespace with the operator's ServiceAccount and binds operator/rbac/role.yaml
 * to it the way the chart does: the ClusterRole cluster-wide, the leader-election Role in
 * the operator's namespace; Secrets only where grantSecrets() is called. Everything is
 * removed after the test (or suite) `t`.
 */
export async function operatorAccount(
  cluster: TestCluster,
  cleanup: (fn: () => Promise<void>) => void,
): Promise<OperatorAccount> {
  const namespace = await createNamespace(cluster, undefined, 'wsgate-op');
  const subject = { kind: 'ServiceAccount', name: OPERATOR_SA, namespace };
  const binding = `wsgate-operator-test-${namespace}`;
  cleanup(async () => {
    await runTool(cluster, 'kubectl', [
      'delete',
      'clusterrolebinding',
      binding,
      '--ignore-not-found',
    ]);
    await runTool(cluster, 'kubectl', ['delete', 'namespace', namespace, '--wait=false']);
  });
  const roles = parseAllDocuments(readRepoFile('operator/rbac/role.yaml')).map(
    (d) => d.toJS() as { kind: string; metadata: { name: string; namespace?: string } },
  );
  const docs: unknown[] = roles.map((r) =>
    r.kind === 'Role' ? { ...r, metadata: { ...r.metadata, namespace } } : r,
  );
  docs.push(
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: OPERATOR_SA, namespace } },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: binding },
      roleRef: {
        apiGroup: 'rbac.authorization.k8s.io',
        kind: 'ClusterRole',
        name: 'wsgate-operator',
      },
      subjects: [subject],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'wsgate-operator-leader-election', namespace },
      roleRef: {
        apiGroup: 'rbac.authorization.k8s.io',
        kind: 'Role',
        name: 'wsgate-operator-leader-election',
      },
      subjects: [subject],
    },
  );
  await applyDocs(cluster, docs);
  return {
    namespace,
    kubeconfig: serviceAccountKubeconfig(cluster, namespace, OPERATOR_SA),
    grantSecrets: async (target) => {
      await applyDocs(cluster, [
        {
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'RoleBinding',
          metadata: { name: 'wsgate-operator-secrets', namespace: target },
          roleRef: {
            apiGroup: 'rbac.authorization.k8s.io',
            kind: 'ClusterRole',
            name: 'wsgate-operator-secrets',
          },
          subjects: [subject],
        },
      ]);
    },
  };
}

/** `kubectl auth can-i` as the operator's ServiceAccount. */
export async function canI(
  cluster: TestCluster,
  account: OperatorAccount,
  args: string[],
): Promise<boolean> {
  const res = await runTool(cluster, 'kubectl', [
    'auth',
    'can-i',
    ...args,
    `--as=system:serviceaccount:${account.namespace}:${OPERATOR_SA}`,
  ]);
  assert.ok(res.code === 0 || res.code === 1, res.stderr);
  return res.stdout.trim() === 'yes';
}

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

/** A WebSocketProxy named `name` with a token file, with `spec` merged over that. */
export function proxy(
  namespace: string,
  name: string,
  spec: Record<string, unknown> = {},
): WebSocketProxy {
  return {
    apiVersion: 'wsgate.dev/v1alpha1',
    kind: 'WebSocketProxy',
    metadata: { name, namespace },
    spec: {
      tokens: { file: { secretRef: { name: 'console-tokens', key: 'tokens' } } },
      ...spec,
    } as WebSocketProxy['spec'],
  };
}

/** The token Secret proxy() refers to. */
export function tokenSecret(namespace: string, name = 'console-tokens'): unknown {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace },
    stringData: { tokens: 'vm1: 10.0.0.5:5900\n' },
  };
}

/** A cert-manager SelfSigned Issuer. */
export function selfSignedIssuer(namespace: string, name = 'selfsigned'): unknown {
  return {
    apiVersion: 'cert-manager.io/v1',
    kind: 'Issuer',
    metadata: { name, namespace },
    spec: { selfSigned: {} },
  };
}

/** Reads a resource's condition of `type`. */
export function condition(wsp: WebSocketProxy | null, type: string): Condition | undefined {
  return wsp?.status?.conditions?.find((c) => c.type === type);
}

/** Paths of the objects one WebSocketProxy owns. */
export function paths(namespace: string, name: string) {
  const ns = `namespaces/${namespace}`;
  return {
    proxy: `/apis/wsgate.dev/v1alpha1/${ns}/websocketproxies/${name}`,
    configMap: `/api/v1/${ns}/configmaps/${name}`,
    service: `/api/v1/${ns}/services/${name}`,
    metricsService: `/api/v1/${ns}/services/${name}-metrics`,
    deployment: `/apis/apps/v1/${ns}/deployments/${name}`,
    pdb: `/apis/policy/v1/${ns}/poddisruptionbudgets/${name}`,
    certificate: `/apis/cert-manager.io/v1/${ns}/certificates/${name}`,
    tlsSecret: `/api/v1/${ns}/secrets/${name}-tls`,
    events: `/apis/events.k8s.io/v1/${ns}/events`,
    replicaSets: `/apis/apps/v1/${ns}/replicasets`,
  };
}

/** Waits for the resource's condition `type` to have `status` (and `reason`, if given). */
export function waitCondition(
  client: KubeClient,
  namespace: string,
  name: string,
  type: string,
  status: string,
  reason?: string,
  timeoutMs = 60_000,
): Promise<WebSocketProxy> {
  return until(
    `${namespace}/${name} ${type}=${status}${reason ? ` (${reason})` : ''}`,
    async () => {
      const wsp = await client.get<WebSocketProxy>(paths(namespace, name).proxy);
      const c = condition(wsp, type);
      if (!wsp || !c) return undefined;
      if (c.status === status && (reason === undefined || c.reason === reason)) return wsp;
      throw new Error(`now ${c.status} ${c.reason}: ${c.message}`);
    },
    timeoutMs,
  );
}

/** Waits until GET `path` answers 404. */
export function waitGone(client: KubeClient, path: string, timeoutMs = 60_000): Promise<true> {
  return until(
    `${path} to be deleted`,
    async () => ((await client.get(path)) === null ? true : undefined),
    timeoutMs,
  );
}

/** True when GET `path` is refused with 403. */
export async function forbidden(client: KubeClient, path: string): Promise<boolean> {
  try {
    await client.get(path);
    return false;
  } catch (err) {
    return isStatus(err, 403);
  }
}

/** A random suffix for cluster-scoped names. */
export function suffix(): string {
  return randomBytes(3).toString('hex');
}

/** A CRD with an open schema (group/plural/kind as given), for kinds tests only need to exist. */
export function openCrd(group: string, plural: string, kind: string): unknown {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${plural}.${group}`, labels: { 'wsgate.dev/test': 'true' } },
    spec: {
      group,
      names: { kind, listKind: `${kind}List`, plural, singular: kind.toLowerCase() },
      scope: 'Namespaced',
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          schema: {
            openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
          },
        },
      ],
    },
  };
}

/** Applies `crd` (see openCrd) and waits for it to be Established. */
export async function createCrd(cluster: TestCluster, crd: unknown): Promise<void> {
  const name = (crd as { metadata: { name: string } }).metadata.name;
  await applyDocs(cluster, [crd]);
  await kubectl(cluster, [
    'wait',
    '--for=condition=Established',
    '--timeout=30s',
    `customresourcedefinition/${name}`,
  ]);
}

/**
 * Makes sure a ServiceMonitor CRD exists (prometheus-operator is not part of the local
 * control plane). A real one is never replaced, and the minimal one stays for other tests,
 * as test/chart does it.
 */
export async function ensureServiceMonitorCrd(cluster: TestCluster): Promise<void> {
  const res = await runTool(cluster, 'kubectl', [
    'get',
    'customresourcedefinition/servicemonitors.monitoring.coreos.com',
    '--ignore-not-found',
    '-o',
    'name',
  ]);
  if (res.stdout.trim() !== '') return;
  await createCrd(cluster, openCrd('monitoring.coreos.com', 'servicemonitors', 'ServiceMonitor'));
}
