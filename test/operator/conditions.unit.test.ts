/** setCondition's bookkeeping and the transition list. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  ConditionType,
  Reason,
  getCondition,
  isTrue,
  setCondition,
  transitions,
  type ConditionUpdate,
} from '../../operator/src/status/conditions.js';

const t0 = new Date('2026-01-01T00:00:00.123Z');
const t1 = new Date('2026-01-01T00:05:00Z');
const ready = (
  status: ConditionUpdate['status'],
  reason = 'R',
  message = 'm',
): ConditionUpdate => ({
  type: ConditionType.Ready,
  status,
  reason,
  message,
});

describe('setCondition', () => {
  test('adds a new condition with the time (no fraction) and generation', () => {
    const list = setCondition(undefined, ready('True'), 4, t0);
    assert.deepEqual(list, [
      {
        type: 'Ready',
        status: 'True',
        observedGeneration: 4,
        lastTransitionTime: '2026-01-01T00:00:00Z',
        reason: 'R',
        message: 'm',
      },
    ]);
  });

  const cases: [string, ConditionUpdate, string][] = [
    [
      'same status keeps the time, even with a new reason and message',
      ready('True', 'Other', 'new'),
      '2026-01-01T00:00:00Z',
    ],
    ['a flip moves the time', ready('False'), '2026-01-01T00:05:00Z'],
    ['True to Unknown is a flip', ready('Unknown'), '2026-01-01T00:05:00Z'],
  ];
  for (const [name, update, time] of cases) {
    test(name, () => {
      const first = setCondition(undefined, ready('True'), 1, t0);
      const [next] = setCondition(first, update, 2, t1);
      assert.equal(next?.lastTransitionTime, time);
      assert.equal(next?.observedGeneration, 2);
      assert.equal(next?.reason, update.reason);
      assert.equal(next?.message, update.message);
    });
  }

  test('keeps other conditions and their order; does not mutate', () => {
    const other = {
      type: 'Available',
      status: 'True' as const,
      reason: 'x',
      message: '',
      lastTransitionTime: 'T',
    };
    const before = [other, ...setCondition(undefined, ready('True'), 1, t0)];
    const frozen = structuredClone(before);
    const after = setCondition(before, ready('False'), 2, t1);
    assert.deepEqual(before, frozen);
    assert.deepEqual(
      after.map((c) => c.type),
      ['Available', 'Ready'],
    );
    assert.equal(after[0], other);
  });
});

describe('getCondition / isTrue / transitions', () => {
  test('lookups', () => {
    const list = setCondition(undefined, ready('True'), 1, t0);
    assert.equal(getCondition(list, 'Ready')?.status, 'True');
    assert.equal(getCondition(undefined, 'Ready'), undefined);
    assert.equal(isTrue(list, 'Ready'), true);
    assert.equal(isTrue(list, 'Available'), false);
  });

  test('transitions report new conditions and changed status or reason only', () => {
    const before = setCondition(undefined, ready('True', Reason.AllReady), 1, t0);
    let after = setCondition(before, ready('True', Reason.AllReady, 'other message'), 2, t1);
    assert.deepEqual(transitions(before, after), []);
    after = setCondition(
      after,
      { type: 'Available', status: 'True', reason: 'x', message: '' },
      2,
      t1,
    );
    assert.deepEqual(
      transitions(before, after).map((c) => c.type),
      ['Available'],
    );
    after = setCondition(after, ready('False', Reason.ReplicasUnavailable), 2, t1);
    assert.deepEqual(
      transitions(before, after).map((c) => c.type),
      ['Ready', 'Available'],
    );
  });
});
