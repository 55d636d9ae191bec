/** LeaderElector against an in-memory Lease with optimistic concurrency. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { pino } from 'pino';
import { KubeError, type KubeClient } from '../../operator/src/kube/client.js';
import { LeaderElector, type LeaderElectionOptions } from '../../operator/src/kube/leader.js';
import { waitFor } from '../helpers/wait.js';

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

  test('one leader at a time; the other takes over only once the Lease has gone unrenewed for its duration, on its own clock', async () => {
    const api = fakeApi();
    // b's clock is stepped by hand: expiry is measured from when b saw the record change.
    let now = 10_000;
    const a = candidate(api, 'a');
    const b = candidate(api, 'b', { now: () => now });
    assert.equal(await a.tryAcquireOrRenew(), true);
    assert.equal(await b.tryAcquireOrRenew(), false, 'b took a fresh Lease');
    now += 999;
    assert.equal(await b.tryAcquireOrRenew(), false, 'b took the Lease 1 ms before it expired');
    // renewTime comes from Date (millisecond resolution): let the wall clock move, so the
    // renewal is a record change b can see (the same record twice would be no renewal).
    const acquiredAt = Date.now();
    await waitFor(
      'the wall clock to pass a millisecond',
      async () => (Date.now() > acquiredAt ? true : undefined),
      { timeoutMs: 1000, intervalMs: 1 },
    );
    assert.equal(await a.tryAcquireOrRenew(), true, 'a renews');
    now += 999;
    assert.equal(
      await b.tryAcquireOrRenew(),
      false,
      'a renewal restarts the expiry: b took it 1,998 ms after it first saw the Lease',
    );
    now += 999;
    assert.equal(await b.tryAcquireOrRenew(), false, 'expired 999 ms after b saw the renewal');
    now += 1;
    assert.equal(await b.tryAcquireOrRenew(), true, 'not expired 1,000 ms after b saw the renewal');
    assert.equal(api.lease()?.spec?.holderIdentity, 'b');
    assert.equal(api.lease()?.spec?.leaseTransitions, 1);
    assert.equal(await a.tryAcquireOrRenew(), false, 'a, holding no more, does not take it back');
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

  test('a leader that cannot renew steps down at its first failed renewal past the renew deadline, not before', async () => {
    const api = fakeApi();
    // Every Lease read (one per attempt) moves a's clock 100 ms; the deadline is 300 ms.
    let now = 0;
    const reads = api.client.get.bind(api.client);
    api.client.get = ((...args: Parameters<KubeClient['get']>) => {
      now += 100;
      return reads(...args);
    }) as KubeClient['get'];
    const a = candidate(api, 'a', { now: () => now });
    const signal = new AbortController().signal;
    assert.equal(await a.acquire(signal), true);
    // Someone else grabs the Lease behind a's back: every renewal now conflicts.
    const lease = api.lease()!;
    await api.client.request('PUT', '', {
      body: { ...lease, spec: { ...lease.spec, holderIdentity: 'intruder' } },
    });
    const renewedAt = now;
    assert.equal(await a.hold(signal), false);
    assert.equal(a.isLeader(), false);
    // Failed renewals at +100, +200, +300 ms keep leading; the one at +400 ms gives up.
    assert.equal(now - renewedAt, 400);
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
