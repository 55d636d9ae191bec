/** WorkQueue: de-duplication, one reconcile per key at a time, delays and back-off. */
import assert from 'node:assert/strict';
import { describe, mock, test } from 'node:test';
import { WorkQueue } from '../../operator/src/controller/queue.js';
import type { QueueMetrics } from '../../operator/src/serving/metrics.js';

function counting(): { metrics: QueueMetrics; depth: () => number; adds: () => number } {
  let depth = 0;
  let adds = 0;
  return {
    metrics: {
      depth: { inc: () => depth++, dec: () => depth-- },
      adds: { inc: () => adds++ },
      latency: { observe() {} },
      workDuration: { observe() {} },
      retries: { inc() {} },
    },
    depth: () => depth,
    adds: () => adds,
  };
}

describe('WorkQueue', () => {
  test('a key added twice is queued once', async () => {
    const m = counting();
    const q = new WorkQueue({ metrics: m.metrics });
    q.add('a');
    q.add('b');
    q.add('a');
    assert.equal(q.len(), 2);
    assert.equal(m.depth(), 2);
    assert.equal(m.adds(), 2);
    assert.equal(await q.get(), 'a');
    assert.equal(await q.get(), 'b');
    assert.equal(m.depth(), 0);
  });

  test('a key being processed is not handed out again until done, then once', async () => {
    const q = new WorkQueue();
    q.add('a');
    const key = await q.get();
    q.add('a');
    q.add('a');
    assert.equal(q.len(), 0, 'queued while processing');
    // A key added later is handed out first: 'a' was passed over, not merely slow.
    q.add('b');
    assert.equal(await q.get(), 'b');
    assert.equal(q.len(), 0, "'a' queued while processing");
    q.done('b');
    const second = q.get();
    q.done(key!);
    assert.equal(await second, 'a');
    assert.equal(q.len(), 0, "'a' queued twice");
    q.done('a');
    assert.equal(q.len(), 0);
  });

  test('get() waits for an add', async () => {
    const q = new WorkQueue();
    const got = q.get();
    q.add('x');
    assert.equal(await got, 'x');
  });

  test('addAfter keeps the earliest deadline: the key comes at it, and only then', async (t) => {
    t.after(() => mock.timers.reset());
    mock.timers.enable({ apis: ['setTimeout', 'Date'] });
    const q = new WorkQueue();
    q.addAfter('a', 200);
    q.addAfter('a', 10);
    q.addAfter('a', 500);
    mock.timers.tick(9);
    assert.equal(q.len(), 0, 'queued before its earliest deadline');
    mock.timers.tick(1);
    assert.equal(q.len(), 1, 'not queued at its earliest deadline');
    assert.equal(await q.get(), 'a');
    q.done('a');
    // The later deadlines were dropped, not kept as extra deliveries.
    mock.timers.tick(1000);
    assert.equal(q.len(), 0, 'queued again at a later deadline');
  });

  test('back-off doubles per failure up to the cap; forget() resets it', () => {
    const q = new WorkQueue({ baseDelayMs: 100, maxDelayMs: 1000 });
    assert.deepEqual(
      [0, 1, 2, 3, 4, 10].map((n) => q.backoff(n)),
      [100, 200, 400, 800, 1000, 1000],
    );
    q.addRateLimited('a');
    q.addRateLimited('a');
    assert.equal(q.retries('a'), 2);
    q.forget('a');
    assert.equal(q.retries('a'), 0);
    q.shutDown();
  });

  test('shutDown() ends waiting get() calls, ignores adds, and idle() waits for work', async () => {
    const q = new WorkQueue();
    q.add('busy');
    const key = await q.get();
    const waiting = q.get();
    q.shutDown();
    assert.equal(await waiting, undefined);
    q.add('late');
    assert.equal(q.len(), 0);
    const order: string[] = [];
    const idle = q.idle().then(() => order.push('idle'));
    // A macrotask runs after every settled promise's callbacks: idle() had its chance.
    await new Promise(setImmediate);
    order.push('done');
    q.done(key!);
    await idle;
    assert.deepEqual(order, ['done', 'idle'], 'idle() resolved while a key was processing');
  });
});
