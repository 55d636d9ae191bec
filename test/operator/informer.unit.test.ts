/** Informer: list then watch, restart after errors, relist after 410, events to handlers. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { pino } from 'pino';
import { KubeError, type KubeClient, type WatchEvent } from '../../operator/src/kube/client.js';
import { Informer, type KubeObject } from '../../operator/src/kube/list-watch-cache.js';
import { Resources } from '../../operator/src/kube/resources.js';

const obj = (name: string, rv: string): KubeObject => ({
  metadata: { name, namespace: 'ns', resourceVersion: rv },
});

type Step =
  | { list: KubeObject[]; rv: string }
  | { events: WatchEvent<KubeObject>[]; then?: 'end' | 'fail' | 'hang' }
  | { listFails: true };

/** Resolves when `signal` aborts, at once if it already has (as fetch would). */
const aborted = (signal: AbortSignal) =>
  signal.aborted
    ? Promise.resolve()
    : new Promise((r) => signal.addEventListener('abort', r, { once: true }));

/**
 * A client that plays `steps` in order: each list or watch call takes the next one.
 * `reached(n)` resolves once `n` calls were made (failing after 5 s), so a test waits
 * for the informer's next move instead of sleeping.
 */
function scripted(steps: Step[]) {
  const calls: string[] = [];
  const waiters: { n: number; resolve: () => void }[] = [];
  const record = (call: string) => {
    calls.push(call);
    for (const w of waiters.filter((w) => calls.length >= w.n)) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve();
    }
  };
  const reached = (n: number) =>
    calls.length >= n
      ? Promise.resolve()
      : new Promise<void>((resolve, reject) => {
          const timer = setTimeout(
            () => reject(new Error(`${n} calls expected within 5 s, got ${calls.join(', ')}`)),
            5000,
          );
          waiters.push({ n, resolve: () => (clearTimeout(timer), resolve()) });
        });
  const client = {
    request: async (_method: string, path: string) => {
      const step = steps.shift();
      record(`list ${path}`);
      if (!step || 'listFails' in step) throw new KubeError(500, 'InternalError', 'list failed');
      if (!('list' in step)) throw new Error(`expected a list step, got ${JSON.stringify(step)}`);
      return { metadata: { resourceVersion: step.rv }, items: step.list };
    },
    watch: async (
      _path: string,
      query: Record<string, unknown>,
      onEvent: (e: WatchEvent<KubeObject>) => void,
      signal: AbortSignal,
    ) => {
      record(`watch rv=${String(query['resourceVersion'])}`);
      const step = steps.shift();
      if (!step || !('events' in step)) {
        // Nothing scripted: wait until stopped.
        await aborted(signal);
        return;
      }
      for (const e of step.events) onEvent(e);
      if (step.then === 'fail') throw new Error('connection reset');
      if (step.then === 'hang') await aborted(signal);
    },
  };
  return { client: client as unknown as KubeClient, calls, reached };
}

function recorder(informer: Informer<KubeObject>): string[] {
  const seen: string[] = [];
  informer.on({
    add: (o) => seen.push(`add ${o.metadata?.name}`),
    update: (p, o) =>
      seen.push(
        `update ${o.metadata?.name} ${p.metadata?.resourceVersion}->${o.metadata?.resourceVersion}`,
      ),
    delete: (o) => seen.push(`delete ${o.metadata?.name}`),
  });
  return seen;
}

const log = pino({ level: 'silent' });

describe('Informer', () => {
  test('lists, watches from the list version, and follows events', async () => {
    const { client, calls, reached } = scripted([
      { list: [obj('a', '1')], rv: '10' },
      {
        events: [
          { type: 'ADDED', object: obj('b', '11') },
          { type: 'MODIFIED', object: obj('a', '12') },
          { type: 'BOOKMARK', object: { metadata: { resourceVersion: '15' } } },
          { type: 'DELETED', object: obj('b', '16') },
        ],
        then: 'end',
      },
    ]);
    const informer = new Informer<KubeObject>(client, {
      resource: Resources.ConfigMap,
      namespace: 'ns',
      log,
    });
    const seen = recorder(informer);
    informer.start();
    await informer.waitForSync();
    await reached(3); // the watch after the scripted one: every event was handled
    await informer.stop();
    assert.deepEqual(seen, ['add a', 'add b', 'update a 1->12', 'delete b']);
    assert.deepEqual(calls, [
      'list /api/v1/namespaces/ns/configmaps',
      'watch rv=10',
      'watch rv=16',
    ]);
    assert.deepEqual(
      informer.list().map((o) => o.metadata?.name),
      ['a'],
    );
    assert.equal(informer.get('ns', 'a')?.metadata?.resourceVersion, '12');
  });

  test('restarts after a failed watch, resuming from the last version seen', async () => {
    const { client, calls, reached } = scripted([
      { list: [], rv: '1' },
      { events: [{ type: 'ADDED', object: obj('a', '2') }], then: 'fail' },
      { events: [{ type: 'ADDED', object: obj('b', '3') }], then: 'hang' },
    ]);
    const restarts: unknown[] = [];
    const informer = new Informer<KubeObject>(client, {
      resource: Resources.ConfigMap,
      log,
      onRestart: (err) => restarts.push(err),
    });
    informer.start();
    await reached(3); // after the first back-off (one second)
    await informer.stop();
    assert.equal(restarts.length, 1);
    assert.deepEqual(calls, ['list /api/v1/configmaps', 'watch rv=1', 'watch rv=2']);
    assert.deepEqual(
      informer
        .list()
        .map((o) => o.metadata?.name)
        .sort(),
      ['a', 'b'],
    );
  });

  test('410 Gone: lists afresh and reports the differences as events', async () => {
    const { client, calls, reached } = scripted([
      { list: [obj('a', '1'), obj('b', '1')], rv: '5' },
      {
        events: [{ type: 'ERROR', object: { code: 410, reason: 'Expired' } as KubeObject }],
      },
      { list: [obj('a', '7'), obj('c', '6')], rv: '8' },
      { events: [], then: 'hang' },
    ]);
    const informer = new Informer<KubeObject>(client, { resource: Resources.Service, log });
    const seen = recorder(informer);
    informer.start();
    await reached(4); // the watch from the fresh list's version
    await informer.stop();
    assert.deepEqual(calls, [
      'list /api/v1/services',
      'watch rv=5',
      'list /api/v1/services',
      'watch rv=8',
    ]);
    assert.deepEqual(seen, ['add a', 'add b', 'update a 1->7', 'add c', 'delete b']);
  });

  test('a failing list is retried; sync waits for the first good one', async () => {
    const { client, calls, reached } = scripted([
      { listFails: true },
      { list: [obj('a', '1')], rv: '2' },
    ]);
    const restarts: unknown[] = [];
    const informer = new Informer<KubeObject>(client, {
      resource: Resources.Deployment,
      log,
      onRestart: (err) => restarts.push(err),
    });
    informer.start();
    await reached(1);
    // A macrotask runs after the failed list's promise callbacks: it has been handled.
    await new Promise(setImmediate);
    assert.equal(restarts.length, 1, 'the failed list was not reported');
    assert.equal(informer.hasSynced(), false, 'synced on a failed list');
    await informer.waitForSync();
    assert.equal(informer.hasSynced(), true);
    assert.deepEqual(
      informer.list().map((o) => o.metadata?.name),
      ['a'],
    );
    await informer.stop();
    assert.deepEqual(calls.slice(0, 2), [
      'list /apis/apps/v1/deployments',
      'list /apis/apps/v1/deployments',
    ]);
  });

  test('a throwing handler does not stop the others or the watch', async () => {
    const { client, calls, reached } = scripted([
      { list: [obj('a', '1')], rv: '1' },
      // Had the throw at b escaped into the watch, c would never arrive.
      {
        events: [
          { type: 'ADDED', object: obj('b', '2') },
          { type: 'ADDED', object: obj('c', '3') },
        ],
        then: 'hang',
      },
    ]);
    const informer = new Informer<KubeObject>(client, { resource: Resources.ConfigMap, log });
    informer.on({
      add: () => {
        throw new Error('boom');
      },
    });
    const seen = recorder(informer);
    informer.start();
    await reached(2); // the watch, whose events are handled before the test resumes
    await informer.stop();
    assert.deepEqual(seen, ['add a', 'add b', 'add c']);
    assert.deepEqual(calls, ['list /api/v1/configmaps', 'watch rv=1'], 'the watch restarted');
  });

  test('metadataOnly asks for PartialObjectMetadata on both list and watch', async () => {
    const accepts: (string | undefined)[] = [];
    let watched!: () => void;
    const watching = new Promise<void>((r) => (watched = r));
    const client = {
      request: async (_m: string, _p: string, init: { accept?: string }) => {
        accepts.push(init.accept);
        return { metadata: { resourceVersion: '1' }, items: [obj('s', '1')] };
      },
      watch: async (...args: unknown[]) => {
        accepts.push(args[5] as string | undefined);
        watched();
        await aborted(args[3] as AbortSignal);
      },
    } as unknown as KubeClient;
    const informer = new Informer<KubeObject>(client, {
      resource: Resources.Secret,
      namespace: 'ns',
      metadataOnly: true,
      log,
    });
    informer.start();
    await watching;
    await informer.stop();
    assert.deepEqual(accepts, [
      'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1',
      'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1',
    ]);
    assert.deepEqual(
      informer.list().map((o) => o.metadata?.name),
      ['s'],
    );
  });
});
