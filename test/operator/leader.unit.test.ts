/** LeaderElector against an in-memory Lease with optimistic concurrency. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { KubeError, type KubeClient } from '../../operator/src/kube/client.js';
import { LeaderElector, type LeaderElectionOptions } from '../../operator/src/kube/leader.js';

interface Lease {
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec?: {
    holderIdentity?: string | null;
    leaseTransitions?: number;
    leaseDurationSeconds?: number;
  };
}

/** Just enough of KubeClient for the Lease: GET, POST (409 if present), PUT (409 on a stale version). */
function fakeApi() {
  let lease: Lease | null = null;
  let version = 0;
  const api = {
    get: async () => (lease ? structuredClone(lease) : null),
    request: async (method: string, _path: string, init: { body: Lease }) => {
      if (method === 'POST') {
        if (lease) throw new KubeError(409, 'AlreadyExists', 'exists');
      } else if (method === 'PUT') {
        if (init.body.metadata.resourceVersion !== lease?.metadata.resourceVersion) {
          throw new KubeError(409, 'Conflict', 'stale');
        }
      }
      lease = structuredClone(init.body);
      lease.metadata.resourceVersion = String(++version);
      return structuredClone(lease);
    },
  };
  return { client: api as unknown as KubeClient, lease: () => lease };
}

/**
 * `api`'s client, counting the Lease reads (one per attempt) made through it; `attempts(n)`
 * resolves once `n` were made, failing after 5 s.
 */
function counted(api: ReturnType<typeof fakeApi>) {
  let reads = 0;
  const waiters: { n: number; resolve: () => void }[] = [];
  const client = {
    get: (...args: Parameters<KubeClient['get']>) => {
      reads++;
      for (const w of waiters.filter((w) => reads >= w.n)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
      return api.client.get(...args);
    },
    request: (...args: Parameters<KubeClient['request']>) => api.client.request(...args),
  } as unknown as KubeClient;
  const attempts = (n: number) =>
    reads >= n
      ? Promise.resolve()
      : new Promise<void>((resolve, reject) => {
          const timer = setTimeout(
            () => reject(new Error(`${n} attempts expected within 5 s, got ${reads}`)),
            5000,
          );
          waiters.push({ n, resolve: () => (clearTimeout(timer), resolve()) });
        });
  return { ...api, client, attempts };
}

const log = pino({ level: 'silent' });
// Leases count whole seconds, so one second is the shortest lease.
const timings = { leaseDurationMs: 1000, renewDeadlineMs: 300, retryPeriodMs: 50 };

/** Candidate `identity` on `api` in namespace ns; the short timings unless `extra` overrides. */
function candidate(
  api: ReturnType<typeof fakeApi>,
  identity: string,
  extra: Partial<LeaderElectionOptions> = {},
): LeaderElector {
  return new LeaderElector({
    client: api.client,
    log,
    namespace: 'ns',
    identity,
    ...timings,
    ...extra,
  });
}

describe('LeaderElector', () => {
  test('creates the Lease when there is none', async () => {
    const api = fakeApi();
    const a = candidate(api, 'a');
    assert.equal(await a.tryAcquireOrRenew(), true);
    assert.equal(api.lease()?.spec?.holderIdentity, 'a');
    assert.equal(api.lease()?.metadata.name, 'wsgate-operator');
  });

  test('one leader at a time; the other takes over only after the Lease expires', async () => {
    const api = fakeApi();
    const a = candidate(api, 'a');
    const b = candidate(api, 'b');
    assert.equal(await a.tryAcquireOrRenew(), true);
    assert.equal(await b.tryAcquireOrRenew(), false, 'b took a fresh Lease');
    assert.equal(await a.tryAcquireOrRenew(), true, 'a renews');
    await sleep(300);
    assert.equal(await b.tryAcquireOrRenew(), false, 'not expired yet (as b saw it change)');
    await sleep(1000);
    assert.equal(await b.tryAcquireOrRenew(), true, 'expired: b takes over');
    assert.equal(api.lease()?.spec?.holderIdentity, 'b');
    assert.equal(api.lease()?.spec?.leaseTransitions, 1);
  });

  test('acquire/hold/release: the standby leads at once after a release', async () => {
    const api = fakeApi();
    const changes: string[] = [];
    const elector = (id: string) =>
      candidate(api, id, { onChange: (leading) => changes.push(`${id}:${leading}`) });
    const a = elector('a');
    const bApi = counted(api);
    const b = candidate(bApi, 'b', { onChange: (leading) => changes.push(`b:${leading}`) });
    const stopA = new AbortController();
    const stopB = new AbortController();
    assert.equal(await a.acquire(stopA.signal), true);
    const holding = a.hold(stopA.signal);
    const bLeads = b.acquire(stopB.signal);
    // b's third read of the Lease: two attempts ended, each finding it held.
    await bApi.attempts(3);
    assert.equal(b.isLeader(), false);
    stopA.abort();
    assert.equal(await holding, true, 'hold ends normally on abort');
    await a.release();
    assert.equal(api.lease()?.spec?.holderIdentity, null);
    const started = Date.now();
    assert.equal(await bLeads, true);
    assert.ok(Date.now() - started < 200, 'took over without waiting out the Lease');
    assert.deepEqual(changes, ['a:true', 'a:false', 'b:true']);
    stopB.abort();
  });

  test('a leader that cannot renew within the deadline steps down', async () => {
    const api = fakeApi();
    const a = candidate(api, 'a');
    const signal = new AbortController().signal;
    assert.equal(await a.acquire(signal), true);
    // Someone else grabs the Lease behind a's back: every renewal now conflicts.
    const lease = api.lease()!;
    await api.client.request('PUT', '', {
      body: { ...lease, spec: { ...lease.spec, holderIdentity: 'intruder' } },
    });
    const started = performance.now();
    assert.equal(await a.hold(signal), false);
    const took = performance.now() - started;
    assert.equal(a.isLeader(), false);
    // Not before the renew deadline (300 ms), and well before the Lease (1 s) runs out.
    assert.ok(took >= 300 && took < 800, `stepped down after ${took} ms`);
  });

  test('timings must be ordered', () => {
    assert.throws(
      () =>
        candidate(fakeApi(), 'a', {
          leaseDurationMs: 100,
          renewDeadlineMs: 100,
          retryPeriodMs: 50,
        }),
      RangeError,
    );
  });
});
