/**
 * Operator scale benchmark (`npm run bench:operator`): on the local control plane, start
 * `wsgate operator` (as its ServiceAccount, watching one namespace), create N
 * WebSocketProxies (default 500) as fast as the API server takes them, and measure the
 * time until every one is Ready, plus the operator's memory (peak VmHWM and settled
 * VmRSS) and CPU, reconcile and request counts. Extra kwok nodes are added for the run so
 * every proxy pod has room (the harness' node holds 110 pods), and removed after.
 *
 *   npm run bench:operator
 *   npm run bench:operator -- --count 100 --workers 8 --replicas 2 --tls
 *   npm run bench:operator -- --baseline    # the same objects without the operator
 *
 * Writes .cache/bench/operator-latest.json and prints a Markdown table.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { execFileSync } from 'node:child_process';
import { createNamespace, runTool, startCluster } from '../../test/cluster/harness.js';
import { KWOK_NODE_ANNOTATION } from '../../test/cluster/processes.js';
import {
  TEST_IMAGE,
  adminClient,
  applyDocs,
  installCrd,
  operatorAccount,
} from '../../test/operator/kube.js';
import { spawnOperator } from '../../test/operator/operator-process.js';
import { proxy, selfSignedIssuer, tokenSecret } from '../../test/operator/resources.js';
import { until } from '../../test/operator/waits.js';
import { ROOT } from '../../test/operator/helpers.js';
import type { V1Deployment } from '@kubernetes/client-node';
import type { OwnedObject } from '../../operator/src/api/external-types.js';
import { withDefaults } from '../../operator/src/api/defaults.js';
import type { WebSocketProxy } from '../../operator/src/api/websocketproxy-types.js';
import type { KubeClient } from '../../operator/src/kube/client.js';
import { objectPath, resourceFor } from '../../operator/src/kube/resources.js';
import { renderAll } from '../../operator/src/render/index.js';

const { values } = parseArgs({
  options: {
    count: { type: 'string', default: '500' },
    workers: { type: 'string', default: '4' },
    replicas: { type: 'string', default: '1' },
    tls: { type: 'boolean', default: false },
    'create-concurrency': { type: 'string', default: '16' },
    baseline: { type: 'boolean', default: false },
    timeout: { type: 'string', default: '600' },
  },
});
const COUNT = Number(values.count);
const REPLICAS = Number(values.replicas);
const PODS_PER_NODE = 250;
const BENCH_DIR = join(ROOT, '.cache', 'bench');

function log(line: string): void {
  process.stderr.write(`[bench:operator] ${line}\n`);
}

/** VmRSS and VmHWM (peak) of `pid`, in MiB. */
function memory(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string) =>
    Number(new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0);
  return { rss: kib('VmRSS') / 1024, peak: kib('VmHWM') / 1024 };
}

/** User+system CPU seconds of `pid`. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Seconds since `t0` (a `performance.now()`). */
const secondsSince = (t0: number) => (performance.now() - t0) / 1000;

/** Runs `fn(0)` … `fn(n - 1)`, `--create-concurrency` at a time. */
async function inParallel(n: number, fn: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Number(values['create-concurrency']) }, async () => {
      while (next < n) await fn(next++);
    }),
  );
}

/** Applies `objects` server-side, `--create-concurrency` at a time. */
function applyMany(client: KubeClient, objects: OwnedObject[]): Promise<void> {
  return inParallel(objects.length, (i) => {
    const o = objects[i]!;
    const path = objectPath(
      resourceFor(o.apiVersion, o.kind),
      o.metadata.namespace,
      o.metadata.name,
    );
    return client.apply(path, o, 'wsgate-bench');
  });
}

/**
 * The control plane alone: the objects the operator would make for N resources (no
 * owner), applied directly, and the time until every Deployment is available. What the
 * operator adds on top of this is its own cost.
 */
async function baseline(admin: KubeClient, ns: string): Promise<void> {
  const objects: OwnedObject[] = [];
  for (let i = 0; i < COUNT; i++) {
    const wsp = withDefaults({
      metadata: { name: `bench-${String(i).padStart(4, '0')}`, namespace: ns, uid: 'none' },
      spec: {
        replicas: REPLICAS,
        tokens: { file: { secretRef: { name: 'console-tokens', key: 'tokens' } } },
      },
    });
    for (const o of renderAll(wsp, { operatorImage: TEST_IMAGE, serviceMonitorAvailable: false })
      .apply) {
      delete o.metadata.ownerReferences;
      objects.push(o);
    }
  }
  const t0 = performance.now();
  await applyMany(admin, objects);
  log(`applied ${objects.length} objects in ${secondsSince(t0).toFixed(1)} s`);
  let last = -1;
  await until(
    `all ${COUNT} Deployments available`,
    async () => {
      const list = await admin.request<{ items: V1Deployment[] }>(
        'GET',
        `/apis/apps/v1/namespaces/${ns}/deployments`,
      );
      const available = list.items.filter((d) => d.status?.availableReplicas === REPLICAS).length;
      if (available !== last) {
        log(`${available}/${COUNT} available after ${secondsSince(t0).toFixed(1)} s`);
        last = available;
      }
      return available === COUNT ? true : undefined;
    },
    Number(values.timeout) * 1000,
    1000,
  );
  process.stdout.write(
    `baseline: ${COUNT} Deployments (+ ConfigMaps, Services) available ${secondsSince(t0).toFixed(1)} s after the first apply\n`,
  );
}

async function main(): Promise<void> {
  const cluster = await startCluster();
  await installCrd(cluster);
  mkdirSync(BENCH_DIR, { recursive: true });
  const admin = await adminClient(cluster);
  const cleanups: (() => Promise<unknown>)[] = [];
  const cleanup = async () => {
    for (const fn of cleanups.reverse())
      await fn().catch((e: unknown) => log(`cleanup: ${String(e)}`));
  };
  process.once('SIGINT', () => void cleanup().then(() => process.exit(130)));
  try {
    const nodes = Math.ceil((COUNT * REPLICAS) / PODS_PER_NODE);
    const nodeNames = Array.from({ length: nodes }, (_, i) => `wsgate-bench-${i}`);
    cleanups.push(() =>
      runTool(cluster, 'kubectl', ['delete', 'node', ...nodeNames, '--ignore-not-found']),
    );
    // The harness' Service range is a /24 (about 250 Services) and each proxy has two:
    // a second ServiceCIDR for the run (networking.k8s.io/v1, GA since 1.33).
    cleanups.push(() =>
      runTool(cluster, 'kubectl', ['delete', 'servicecidr', 'wsgate-bench', '--wait=false']),
    );
    await applyDocs(cluster, [
      {
        apiVersion: 'networking.k8s.io/v1',
        kind: 'ServiceCIDR',
        metadata: { name: 'wsgate-bench' },
        spec: { cidrs: ['10.96.0.0/20'] },
      },
    ]);
    await applyDocs(
      cluster,
      nodeNames.map((name) => ({
        apiVersion: 'v1',
        kind: 'Node',
        metadata: {
          name,
          annotations: { [KWOK_NODE_ANNOTATION]: 'fake' },
          labels: { 'kubernetes.io/hostname': name, type: 'kwok' },
        },
        status: {
          capacity: { cpu: '64', memory: '512Gi', pods: String(PODS_PER_NODE) },
          allocatable: { cpu: '64', memory: '512Gi', pods: String(PODS_PER_NODE) },
        },
      })),
    );
    await until(
      `${nodes} bench nodes Ready and untainted`,
      async () => {
        const list = await admin.request<{
          items: {
            metadata: { name: string };
            spec?: { taints?: unknown[] };
            status?: { conditions?: { type: string; status: string }[] };
          }[];
        }>('GET', '/api/v1/nodes');
        const ready = list.items.filter(
          (n) =>
            nodeNames.includes(n.metadata.name) &&
            !n.spec?.taints?.length &&
            n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
        );
        return ready.length === nodes ? true : undefined;
      },
      60_000,
      500,
    );

    const account = await operatorAccount(cluster, (fn) => cleanups.push(fn));
    const ns = await createNamespace(cluster, undefined, 'wsgate-bench');
    cleanups.push(async () => {
      // Before the nodes go: pods on a node nobody manages would never finish terminating
      // (the harness runs no pod garbage collector), and the namespace with them.
      await runTool(cluster, 'kubectl', ['delete', 'namespace', ns, '--wait=false']);
      await runTool(cluster, 'kubectl', [
        '-n',
        ns,
        'delete',
        'pods',
        '--all',
        '--force',
        '--grace-period=0',
      ]);
      await runTool(cluster, 'kubectl', [
        'wait',
        '--for=delete',
        `namespace/${ns}`,
        '--timeout=120s',
      ]);
    });
    await account.grantSecrets(ns);
    await applyDocs(cluster, [tokenSecret(ns), selfSignedIssuer(ns)]);
    if (values.baseline) {
      await baseline(admin, ns);
      return;
    }

    const op = await spawnOperator([
      '--kubeconfig',
      account.kubeconfig,
      '--namespace',
      ns,
      '--image',
      TEST_IMAGE,
      '--workers',
      values.workers,
      '--log-level',
      'warn',
    ]);
    cleanups.push(async () => {
      await op.stop('SIGTERM');
      writeFileSync(join(BENCH_DIR, 'operator.log'), op.logs());
    });
    const pid = op.child.pid!;
    await until(
      'the operator to be ready',
      async () => (await fetch(`${op.url}/readyz`)).ok || undefined,
    );
    const idle = memory(pid);
    const cpu0 = cpuSeconds(pid);
    log(
      `operator pid ${pid}, idle RSS ${idle.rss.toFixed(1)} MiB; creating ${COUNT} WebSocketProxies`,
    );

    const spec = (i: number) =>
      proxy(ns, `bench-${String(i).padStart(4, '0')}`, {
        replicas: REPLICAS,
        ...(values.tls
          ? { tls: { issuerRef: { name: 'selfsigned' }, dnsNames: [`bench-${i}.example.com`] } }
          : {}),
      });
    const t0 = performance.now();
    await inParallel(COUNT, (i) =>
      admin.request('POST', `/apis/wsgate.dev/v1alpha1/namespaces/${ns}/websocketproxies`, {
        body: spec(i),
      }),
    );
    const created = secondsSince(t0);
    log(`created ${COUNT} in ${created.toFixed(1)} s`);

    let peakSampled = 0;
    const sampler = setInterval(() => {
      if (op.child.exitCode === null) peakSampled = Math.max(peakSampled, memory(pid).rss);
    }, 250);
    cleanups.push(async () => clearInterval(sampler));
    let lastReady = -1;
    // When every resource has its objects applied and a status for its generation: the
    // operator's own share. Ready then waits for the cluster to start the pods.
    let reconciled: { seconds: number; cpu: number } | undefined;
    await until(
      `all ${COUNT} Ready`,
      async () => {
        const list = await admin.request<{ items: WebSocketProxy[] }>(
          'GET',
          `/apis/wsgate.dev/v1alpha1/namespaces/${ns}/websocketproxies`,
        );
        const ready = list.items.filter((w) =>
          w.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
        ).length;
        if (
          !reconciled &&
          list.items.length === COUNT &&
          list.items.every((w) => w.status?.observedGeneration === w.metadata?.generation)
        ) {
          reconciled = { seconds: secondsSince(t0), cpu: cpuSeconds(pid) - cpu0 };
          log(
            `all ${COUNT} reconciled (objects applied, status written) after ${reconciled.seconds.toFixed(1)} s`,
          );
        }
        if (op.child.exitCode !== null) {
          throw new Error(`the operator exited ${op.child.exitCode}:\n${op.logs().slice(-3000)}`);
        }
        if (ready !== lastReady) {
          const reasons = new Map<string, number>();
          for (const w of list.items) {
            const c = w.status?.conditions?.find((c) => c.type === 'Ready');
            const reason = c ? `${c.status}/${c.reason}` : 'no status';
            reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
          }
          const summary = [...reasons].map(([r, n]) => `${r}: ${n}`).join(', ');
          log(`${ready}/${COUNT} Ready after ${secondsSince(t0).toFixed(1)} s (${summary})`);
          lastReady = ready;
        }
        return ready === COUNT ? true : undefined;
      },
      Number(values.timeout) * 1000,
      1000,
    );
    const allReady = secondsSince(t0);
    const cpuBusy = cpuSeconds(pid) - cpu0;
    // Settled: a few seconds for the last events, then one more sample.
    await new Promise((r) => setTimeout(r, 5000));
    clearInterval(sampler);
    const settled = memory(pid);
    const metric = async (name: string, labels: Record<string, string> = {}) =>
      (await op.metric(name, labels)) ?? 0;
    const result = {
      date: new Date().toISOString(),
      commit: execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT })
        .toString()
        .trim(),
      cpus: cpus().length,
      loadavg: loadavg(),
      count: COUNT,
      replicas: REPLICAS,
      tls: values.tls,
      workers: Number(values.workers),
      createSeconds: created,
      allReconciledSeconds: reconciled?.seconds,
      cpuUntilReconciled: reconciled?.cpu,
      allReadySeconds: allReady,
      operatorCpuSeconds: cpuBusy,
      memoryMiB: {
        heapUsed: (await metric('nodejs_heap_size_used_bytes')) / 1048576,
        heapTotal: (await metric('nodejs_heap_size_total_bytes')) / 1048576,
        idle: idle.rss,
        peakRss: Math.max(peakSampled, settled.peak),
        settled: settled.rss,
      },
      reconciles: {
        success: await metric('controller_runtime_reconcile_total', { result: 'success' }),
        requeue: await metric('controller_runtime_reconcile_total', { result: 'requeue' }),
        error: await metric('controller_runtime_reconcile_total', { result: 'error' }),
      },
      requests: {
        apply:
          (await metric('rest_client_requests_total', { method: 'PATCH', code: '200' })) +
          (await metric('rest_client_requests_total', { method: 'PATCH', code: '201' })),
        get: await metric('rest_client_requests_total', { method: 'GET', code: '200' }),
        post: await metric('rest_client_requests_total', { method: 'POST', code: '201' }),
      },
    };
    writeFileSync(join(BENCH_DIR, 'operator-latest.json'), JSON.stringify(result, null, 2));
    const fmt = (n: number) => n.toFixed(1);
    process.stdout.write(
      [
        `| resources | replicas | TLS | workers | created in | all reconciled after | all Ready after | operator CPU | RSS idle | RSS peak | RSS settled | reconciles | applies (incl. status) |`,
        `| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |`,
        `| ${COUNT} | ${REPLICAS} | ${values.tls ? 'yes' : 'no'} | ${values.workers} | ${fmt(created)} s | ${fmt(reconciled?.seconds ?? NaN)} s | ${fmt(allReady)} s | ${fmt(cpuBusy)} s | ${fmt(idle.rss)} MiB | ${fmt(result.memoryMiB.peakRss)} MiB | ${fmt(settled.rss)} MiB | ${result.reconciles.success + result.reconciles.requeue} | ${result.requests.apply} |`,
        '',
      ].join('\n'),
    );
  } finally {
    await cleanup();
    admin.close();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench:operator failed: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(1);
  },
);
