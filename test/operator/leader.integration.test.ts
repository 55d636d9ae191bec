/**
 * Leader election between `wsgate operator` processes (each authorized as the operator's
 * ServiceAccount): one leads and reconciles, the other waits and reports ready; killing
 * the leader hands the Lease over once it expires, and a graceful stop releases it at
 * once. Short lease timings keep this quick.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  createNamespace,
  runTool,
  skipCluster,
  startCluster,
  type TestCluster,
} from '../cluster/harness.js';
import { get } from '../cluster/probe.js';
import type { KubeClient } from '../../operator/src/kube/client.js';
import {
  TEST_IMAGE,
  adminClient,
  applyDocs,
  installCrd,
  operatorAccount,
  type OperatorAccount,
} from './kube.js';
import { spawnOperator, type OperatorProcess } from './operator-process.js';
import { proxy, tokenSecret } from './resources.js';
import { until, waitCondition } from './waits.js';

interface Lease {
  spec?: { holderIdentity?: string; leaseTransitions?: number };
}

describe('leader election', { skip: skipCluster, timeout: 240_000 }, () => {
  let cluster: TestCluster;
  let admin: KubeClient;
  let account: OperatorAccount;
  let ns: string;
  const processes: OperatorProcess[] = [];
  const cleanups: (() => Promise<void>)[] = [];

  before(async () => {
    cluster = await startCluster();
    await installCrd(cluster);
    admin = await adminClient(cluster);
    account = await operatorAccount(cluster, (fn) => cleanups.push(fn));
    ns = await createNamespace(cluster, undefined, 'wsp-leader');
    cleanups.push(async () => {
      await runTool(cluster, 'kubectl', ['delete', 'namespace', ns, '--wait=false']);
    });
    await account.grantSecrets(ns);
    await applyDocs(cluster, [tokenSecret(ns)]);
  });

  after(async () => {
    for (const p of processes) await p.stop('SIGKILL');
    for (const fn of cleanups.reverse()) await fn().catch(() => undefined);
    admin?.close();
  });

  const start = async (name: string) => {
    const p = await spawnOperator(
      [
        '--kubeconfig',
        account.kubeconfig,
        '--namespace',
        ns,
        '--image',
        TEST_IMAGE,
        '--leader-elect',
        '--leader-election-namespace',
        account.namespace,
        '--lease-duration',
        '4s',
        '--renew-deadline',
        '3s',
        '--retry-period',
        '500ms',
      ],
      { POD_NAME: name },
    );
    processes.push(p);
    return p;
  };
  const leading = async (p: OperatorProcess) =>
    (await p.metric('leader_election_master_status', { name: 'wsgate-operator' })) === 1;
  const lease = () =>
    admin.get<Lease>(
      `/apis/coordination.k8s.io/v1/namespaces/${account.namespace}/leases/wsgate-operator`,
    );
  const holder = async () => (await lease())?.spec?.holderIdentity;
  /** Successful GETs: a standby's only requests are its reads of the Lease, one per attempt. */
  const reads = async (p: OperatorProcess) =>
    (await p.metric('rest_client_requests_total', { method: 'GET', code: '200' })) ?? 0;
  /** Waits until `p` made `n` more attempts than `since`. */
  const attempts = (p: OperatorProcess, since: number, n: number) =>
    until(
      `${n} more Lease reads by a standby`,
      async () => ((await reads(p)) >= since + n ? true : undefined),
      15_000,
      100,
    );

  let a: OperatorProcess;
  let b: OperatorProcess;

  it('elects one leader; the standby waits, ready, and does not reconcile', async () => {
    a = await start('op-a');
    await until('op-a to lead', async () => ((await leading(a)) ? true : undefined));
    b = await start('op-b');
    // Several attempts (retry period 0.5 s): op-b must keep waiting.
    await attempts(b, await reads(b), 4);
    assert.equal(await leading(b), false, 'two leaders');
    assert.equal(await holder(), 'op-a');
    for (const p of [a, b]) {
      assert.equal((await get(`${p.url}/healthz`)).status, 200);
      assert.equal((await get(`${p.url}/readyz`)).status, 200, 'a standby is ready');
    }
    await applyDocs(cluster, [proxy(ns, 'one', { replicas: 1 })]);
    await waitCondition(admin, ns, 'one', 'Ready', 'True');
    assert.ok(((await a.metric('controller_runtime_reconcile_total')) ?? 0) > 0);
    assert.equal(await b.metric('controller_runtime_reconcile_total'), undefined);
  });

  it('hands over when the leader is killed', async () => {
    const transitions = (await lease())?.spec?.leaseTransitions ?? 0;
    const killed = Date.now();
    await a.stop('SIGKILL');
    await until('op-b to lead', async () => ((await leading(b)) ? true : undefined), 15_000, 100);
    const took = Date.now() - killed;
    // The Lease has to expire first (4 s, as seen by op-b), then one retry.
    assert.ok(took >= 2_000 && took < 10_000, `took over after ${took} ms`);
    const after = await lease();
    assert.equal(after?.spec?.holderIdentity, 'op-b');
    assert.equal(after?.spec?.leaseTransitions, transitions + 1);
    await applyDocs(cluster, [proxy(ns, 'two', { replicas: 1 })]);
    await waitCondition(admin, ns, 'two', 'Ready', 'True');
  });

  it('releases the Lease on SIGTERM, so the next leader need not wait', async () => {
    const c = await start('op-c');
    await attempts(c, await reads(c), 2);
    assert.equal(await leading(c), false);
    const stopped = Date.now();
    assert.equal(await b.stop('SIGTERM'), 0, b.logs().slice(-2000));
    await until('op-c to lead', async () => ((await leading(c)) ? true : undefined), 10_000, 100);
    const took = Date.now() - stopped;
    assert.ok(took < 3_000, `took over ${took} ms after a graceful stop (lease is 4 s)`);
    assert.equal(await holder(), 'op-c');
    assert.ok(
      b.records().some((r) => r['msg'] === 'operator stopped'),
      'op-b logged its orderly stop',
    );
  });
});
