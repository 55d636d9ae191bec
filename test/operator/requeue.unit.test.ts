/** requeueAction: waiting is a fixed poll, only failures back off. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DEFAULT_POLL_MS, requeueAction } from '../../operator/src/controller/requeue.js';

describe('requeueAction', () => {
  test('a reconcile that waits on something unwatched polls after the fixed interval', () => {
    assert.deepEqual(requeueAction({ poll: true }, 30_000), {
      kind: 'poll',
      afterMs: 30_000,
      result: 'requeue_after',
    });
  });

  test('the poll delay is the interval given, whatever happened before (not a back-off)', () => {
    for (let i = 0; i < 5; i++) {
      const action = requeueAction({ poll: true, requeue: false }, DEFAULT_POLL_MS);
      assert.equal(action.kind === 'poll' && action.afterMs, DEFAULT_POLL_MS);
    }
  });

  test('a reconcile the API server refused backs off, even while it also waits', () => {
    assert.deepEqual(requeueAction({ requeue: true, poll: true }, DEFAULT_POLL_MS), {
      kind: 'backoff',
      result: 'requeue',
    });
  });

  test('a reconcile that threw backs off', () => {
    assert.deepEqual(requeueAction(undefined, DEFAULT_POLL_MS), {
      kind: 'backoff',
      result: 'error',
    });
  });

  test('a reconcile that neither failed nor waits is forgotten until the next event', () => {
    assert.deepEqual(requeueAction({}, DEFAULT_POLL_MS), { kind: 'forget', result: 'success' });
    assert.deepEqual(requeueAction({ requeue: false, poll: false }, DEFAULT_POLL_MS), {
      kind: 'forget',
      result: 'success',
    });
  });

  test('the default poll interval is 5 s (the --poll-interval default)', () => {
    assert.equal(DEFAULT_POLL_MS, 5_000);
  });
});
