import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { ensureAssets, type Assets } from './assets.js';
import { withLock } from './lock.js';
import { ADMIN_KUBECONFIG, CLUSTER_LOCK, LOG_DIR, STATE_DIR } from './paths.js';
import { createPki, type Pki } from './pki.js';
import { freePorts } from './ports.js';
import { waitFor } from '../helpers/wait.js';
import { isHealthy, type ProbeTls } from './probe.js';
import { isRunning, runOk, spawnDetached, terminate, type ProcRecord } from './proc.js';
import * as procs from './processes.js';
import {
  readPidFiles,
  readState,
  removeState,
  writePidFile,
  writeState,
  WATCHDOG,
  type ClusterState,
} from './state.js';
import { writeKubeconfig } from './kubeconfig.js';

/** Fake nodes kwok manages; one is enough for the tests, two would show spreading. */
const NODES = ['kwok-node-0'];
/** Bounded waits; the warm path takes about 5 s in all. */
const ETCD_TIMEOUT_MS = 30_000;
const APISERVER_TIMEOUT_MS = 90_000;
const READY_TIMEOUT_MS = 90_000;
/** `up` may include a cold build (held under the build lock), so waiting for it is long. */
const LOCK_TIMEOUT_MS = 60 * 60_000;

export interface UpOptions {
  /** Keep it running after the test run (what `npm run cluster:up` asks for). */
  readonly keep: boolean;
  /** A test runner that uses it; the watchdog stops a non-kept plane when all owners exit. */
  readonly owner?: ProcRecord;
  readonly log: (line: string) => void;
}

export interface UpResult {
  readonly state: ClusterState;
  /** True if an already running plane was reused. */
  readonly reused: boolean;
}

function tail(file: string, lines = 25): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

function logFile(name: string): string {
  return join(LOG_DIR, `${name}.log`);
}

/** Health of a plane from its state: every process alive and the API server ready. */
export async function isHealthyPlane(state: ClusterState): Promise<boolean> {
  const recs = readPidFiles().filter((r) => r.name !== 'watchdog');
  if (recs.length === 0 || !recs.every(isRunning)) return false;
  return isHealthy(`${state.server}/readyz`, adminTls());
}

function adminTls(): ProbeTls {
  const pki = join(STATE_DIR, 'pki');
  try {
    return {
      ca: readFileSync(join(pki, 'ca.crt')),
      cert: readFileSync(join(pki, 'admin.crt')),
      key: readFileSync(join(pki, 'admin.key')),
    };
  } catch {
    return {};
  }
}

/** Stops every recorded process except the caller: components in parallel, then the API server, then etcd. */
async function stopRecorded(): Promise<void> {
  const recs = readPidFiles().filter((r) => r.pid !== process.pid);
  const late = ['kube-apiserver', 'etcd'];
  await Promise.all(recs.filter((r) => !late.includes(r.name)).map((r) => terminate(r)));
  for (const name of late) {
    for (const r of recs.filter((x) => x.name === name)) await terminate(r);
  }
}

function startProcess(order: number, spec: procs.ProcessSpec): ProcRecord {
  const rec = spawnDetached(spec.name, spec.bin, spec.args, logFile(spec.name));
  writePidFile(order, rec);
  return rec;
}

/** Waits until `spec`'s health URL answers 200, failing early (with its log) if it exits. */
async function waitHealthy(
  spec: procs.ProcessSpec,
  rec: ProcRecord,
  timeoutMs: number,
  tls: ProbeTls = {},
): Promise<void> {
  const url = spec.health;
  if (url === undefined) return;
  await waitFor(
    `${spec.name} at ${url}`,
    async () => {
      if (!isRunning(rec)) {
        throw new Error(`${spec.name} exited; last log lines:\n${tail(logFile(spec.name))}`);
      }
      return (await isHealthy(url, tls)) ? true : undefined;
    },
    { timeoutMs, intervalMs: 200 },
  ).catch((err: Error) => {
    throw new Error(`${err.message}\n--- ${logFile(spec.name)} ---\n${tail(logFile(spec.name))}`);
  });
}

function kwokNodes(): string {
  return NODES.map((name) =>
    stringify({
      apiVersion: 'v1',
      kind: 'Node',
      metadata: {
        name,
        annotations: { [procs.KWOK_NODE_ANNOTATION]: 'fake' },
        labels: {
          'kubernetes.io/hostname': name,
          'kubernetes.io/os': 'linux',
          'kubernetes.io/arch': 'amd64',
          type: 'kwok',
        },
      },
      // No kwok NoSchedule taint (unlike kwok's sample): ordinary Deployments must land here.
      status: {
        capacity: { cpu: '32', memory: '256Gi', pods: '110' },
        allocatable: { cpu: '32', memory: '256Gi', pods: '110' },
      },
    }),
  ).join('---\n');
}

/** Waits for what only the API can tell: CRDs, nodes without the not-ready taint, the default ServiceAccount. */
async function waitApiReady(kubectl: string, kubeconfig: string, crds: string): Promise<void> {
  const k = (args: string[]): Promise<string> =>
    runOk(kubectl, [`--kubeconfig=${kubeconfig}`, ...args], { timeoutMs: 30_000 });
  const poll = (what: string, check: () => Promise<boolean>): Promise<true> =>
    waitFor(what, async () => ((await check()) ? true : undefined), {
      timeoutMs: READY_TIMEOUT_MS,
      intervalMs: 300,
    });
  await poll('cert-manager CRDs Established', async () => {
    await k(['wait', '--for=condition=Established', '-f', crds, '--timeout=5s']);
    return true;
  });
  // The API server taints every new node not-ready; only node-lifecycle lifts it.
  await poll('kwok nodes Ready and untainted', async () => {
    const nodes = (JSON.parse(await k(['get', 'nodes', '-o', 'json'])) as NodeList).items;
    return nodes.filter(isReadyUntainted).length >= NODES.length;
  });
  // Pods are refused until their namespace's default ServiceAccount exists.
  await poll('the default ServiceAccount', async () => {
    await k(['get', 'serviceaccount', 'default', '-n', 'default', '-o', 'name']);
    return true;
  });
}

interface NodeLike {
  spec?: { taints?: unknown[] };
  status?: { conditions?: Array<{ type: string; status: string }> };
}

interface NodeList {
  items: NodeLike[];
}

function isReadyUntainted(n: NodeLike): boolean {
  const ready = n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
  return ready === true && (n.spec?.taints ?? []).length === 0;
}

/** Starts a new control plane from nothing; on failure stops what it started. */
async function startFresh(assets: Assets, opts: UpOptions): Promise<ClusterState> {
  removeState();
  mkdirSync(STATE_DIR, { recursive: true });
  mkdirSync(LOG_DIR, { recursive: true });
  const started = Date.now();
  const pki: Pki = await createPki(join(STATE_DIR, 'pki'));
  const [etcdP, etcdPeer, apiP, kcmP, schedP, kwokP, cmP] = await freePorts(7);
  const ports: procs.Ports = {
    etcd: etcdP!,
    etcdPeer: etcdPeer!,
    apiserver: apiP!,
    controllerManager: kcmP!,
    scheduler: schedP!,
    kwok: kwokP!,
    certManager: cmP!,
  };
  const server = `https://127.0.0.1:${ports.apiserver}`;
  writeKubeconfig(ADMIN_KUBECONFIG, {
    server,
    caCert: pki.caCert,
    clientCert: pki.adminCert,
    clientKey: pki.adminKey,
  });
  const layout: procs.Layout = {
    assets,
    pki,
    ports,
    stateDir: STATE_DIR,
    kubeconfig: ADMIN_KUBECONFIG,
  };
  const tls = adminTls();
  const kubectl = (args: string[], input?: string): Promise<string> =>
    runOk(assets.kubectl, [`--kubeconfig=${ADMIN_KUBECONFIG}`, ...args], {
      timeoutMs: 60_000,
      ...(input === undefined ? {} : { input }),
    });
  try {
    const etcd = procs.etcd(layout);
    await waitHealthy(etcd, startProcess(1, etcd), ETCD_TIMEOUT_MS);
    const api = procs.apiserver(layout);
    await waitHealthy(api, startProcess(2, api), APISERVER_TIMEOUT_MS, tls);
    opts.log(`api server ready at ${server} (${Date.now() - started} ms)`);

    // CRDs and nodes first, so cert-manager's informers and kwok find them at once.
    await kubectl([
      'apply',
      '--server-side',
      '--field-manager=wsgate-test',
      '-f',
      assets.certManagerCrds,
    ]);
    await kubectl(
      ['apply', '--server-side', '--field-manager=wsgate-test', '-f', '-'],
      kwokNodes(),
    );
    const rest = [
      procs.controllerManager(layout),
      procs.scheduler(layout),
      procs.kwok(layout),
      procs.certManager(layout),
    ];
    const recs = rest.map((spec, i) => startProcess(3 + i, spec));
    await Promise.all([
      ...rest.map((spec, i) => waitHealthy(spec, recs[i]!, READY_TIMEOUT_MS)),
      waitApiReady(assets.kubectl, ADMIN_KUBECONFIG, assets.certManagerCrds),
    ]);
  } catch (err) {
    await stopRecorded();
    removeState();
    rmSync(ADMIN_KUBECONFIG, { force: true });
    throw err;
  }
  opts.log(`control plane healthy in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return {
    startedAt: new Date(started).toISOString(),
    server,
    kubeconfig: ADMIN_KUBECONFIG,
    assets,
    ports: { ...ports },
    keep: opts.keep,
    owners: opts.owner === undefined ? [] : [opts.owner],
  };
}

/** Adds an owner to a reused plane, dropping owners that have exited. */
function adopt(state: ClusterState, opts: UpOptions): ClusterState {
  const owners = state.owners.filter(isRunning);
  const o = opts.owner;
  if (o !== undefined && !owners.some((x) => x.pid === o.pid && x.start === o.start)) {
    owners.push(o);
  }
  return { ...state, keep: state.keep || opts.keep, owners };
}

/**
 * Starts the watchdog (`cli.js watch`) for a plane that a test run owns,
 * unless one is already running. Called under the cluster lock, so two test
 * files cannot both start one.
 */
function ensureWatchdog(state: ClusterState): void {
  if (state.keep || state.owners.length === 0) return;
  if (readPidFiles().some((r) => r.name === WATCHDOG && isRunning(r))) return;
  const cli = fileURLToPath(new URL('./cli.js', import.meta.url));
  const rec = spawnDetached(WATCHDOG, process.execPath, [cli, 'watch'], logFile(WATCHDOG));
  writePidFile(0, rec);
}

/**
 * Brings the control plane up, or reuses the running one if it is healthy and
 * built from the same binaries. Builds missing binaries first. Serialised by
 * a lock, so concurrent callers share one plane.
 */
export async function up(opts: UpOptions): Promise<UpResult> {
  return withLock(CLUSTER_LOCK, 'the control plane', LOCK_TIMEOUT_MS, async () => {
    const assets = await ensureAssets(opts.log);
    const old = readState();
    if (old !== null && JSON.stringify(old.assets) === JSON.stringify(assets)) {
      if (await isHealthyPlane(old)) {
        const state = adopt(old, opts);
        writeState(state);
        ensureWatchdog(state);
        return { state, reused: true };
      }
    }
    if (old !== null || readPidFiles().length > 0) {
      opts.log('a previous control plane is unhealthy or outdated; stopping it');
      await stopRecorded();
    }
    const state = await startFresh(assets, opts);
    writeState(state);
    ensureWatchdog(state);
    return { state, reused: false };
  });
}

/** Stops every process recorded in the PID files and removes the state. Safe to call when nothing runs. */
export async function down(): Promise<number> {
  return withLock(CLUSTER_LOCK, 'the control plane', 5 * 60_000, stopAndRemove);
}

/** down() for a caller that already holds the lock (the watchdog). */
export async function stopAndRemove(): Promise<number> {
  const n = readPidFiles().filter(isRunning).length;
  await stopRecorded();
  removeState();
  rmSync(ADMIN_KUBECONFIG, { force: true });
  return n;
}

/** A short description of what is running, for `cli.js status`. */
export async function status(): Promise<string[]> {
  const state = readState();
  const recs = readPidFiles();
  if (state === null && recs.length === 0) return ['no control plane'];
  const lines = recs.map((r) => `${r.name}: pid ${r.pid} ${isRunning(r) ? 'running' : 'gone'}`);
  if (state !== null) {
    const healthy = await isHealthyPlane(state);
    lines.unshift(
      `${state.server} ${healthy ? 'healthy' : 'UNHEALTHY'}, kubeconfig ${state.kubeconfig}`,
    );
    lines.push(`keep: ${state.keep}, owners: ${state.owners.map((o) => o.pid).join(' ') || '-'}`);
  }
  return lines;
}
