/** Which condition transitions become Events, and the Event time and name formats. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Condition } from '../../operator/src/api/websocketproxy-types.js';
import {
  eventName,
  transitionEvents,
  warningEvents,
} from '../../operator/src/controller/events.js';
import { microTime } from '../../operator/src/kube/time.js';

const c = (type: string, status: Condition['status'], reason: string): Condition => ({
  type,
  status,
  reason,
  message: `${type} is ${status}`,
  lastTransitionTime: '2026-01-01T00:00:00Z',
});

describe('transitionEvents', () => {
  const cases: [string, Condition[], [string, string][]][] = [
    ['Ready turning True', [c('Ready', 'True', 'AllReady')], [['Normal', 'Ready']]],
    ['Ready turning False says nothing itself', [c('Ready', 'False', 'SecretNotFound')], []],
    [
      'a missing Secret',
      [c('ConfigValid', 'False', 'SecretNotFound')],
      [['Warning', 'SecretNotFound']],
    ],
    [
      'cert-manager missing',
      [c('CertificateReady', 'False', 'CertManagerMissing')],
      [['Warning', 'CertManagerMissing']],
    ],
    ['pods starting', [c('Available', 'False', 'ReplicasUnavailable')], []],
    ['Deployment not made yet', [c('Available', 'False', 'DeploymentPending')], []],
    ['certificate being issued', [c('CertificateReady', 'False', 'CertificatePending')], []],
    ['a part turning True', [c('ConfigValid', 'True', 'Valid')], []],
    [
      'several at once',
      [c('Ready', 'True', 'AllReady'), c('Available', 'False', 'ProgressDeadlineExceeded')],
      [
        ['Normal', 'Ready'],
        ['Warning', 'ProgressDeadlineExceeded'],
      ],
    ],
  ];
  for (const [name, changed, expected] of cases) {
    test(name, () => {
      assert.deepEqual(
        transitionEvents(changed).map((e) => [e.type, e.reason]),
        expected,
      );
    });
  }

  test('a Warning note names the condition', () => {
    const [event] = transitionEvents([c('ConfigValid', 'False', 'InvalidTarget')]);
    assert.equal(event?.note, 'ConfigValid: ConfigValid is False');
  });

  test('validation warnings are ConfigWarning Events', () => {
    assert.deepEqual(
      warningEvents(['a', 'b']).map((e) => [e.type, e.reason, e.note]),
      [
        ['Warning', 'ConfigWarning', 'a'],
        ['Warning', 'ConfigWarning', 'b'],
      ],
    );
  });
});

describe('Event formats', () => {
  test('microTime has six fractional digits (the API refuses fewer)', () => {
    assert.equal(microTime(new Date('2026-03-04T05:06:07.089Z')), '2026-03-04T05:06:07.089000Z');
  });

  test('eventName: the object name and a unique hex suffix', () => {
    const now = new Date();
    const a = eventName('console', now);
    const b = eventName('console', now);
    assert.match(a, /^console\.[0-9a-f]+$/);
    assert.notEqual(a, b);
  });
});
