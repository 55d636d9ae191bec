/** Available, from the Deployment. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { V1Deployment } from '@kubernetes/client-node';
import { availableCondition } from '../../operator/src/status/availability.js';
import type { Observed } from '../../operator/src/status/types.js';
import { fixture } from './helpers.js';

const deployment = (status: NonNullable<V1Deployment['status']>): V1Deployment => ({ status });
const available = { type: 'Available', status: 'True' };

describe('availableCondition', () => {
  const cases: [
    string,
    Parameters<typeof fixture>[0],
    Partial<Observed>,
    string,
    string,
    RegExp,
  ][] = [
    [
      'no Deployment yet',
      {},
      { deployment: null },
      'False',
      'DeploymentPending',
      /console is not created/,
    ],
    ['not looked at', {}, {}, 'False', 'DeploymentPending', /not created/],
    [
      'scaled to zero',
      { replicas: 0 },
      { deployment: deployment({}) },
      'False',
      'ScaledToZero',
      /spec.replicas is 0/,
    ],
    [
      'available',
      {},
      {
        deployment: deployment({ readyReplicas: 2, availableReplicas: 2, conditions: [available] }),
      },
      'True',
      'MinimumReplicasAvailable',
      /^2\/2 replicas ready$/,
    ],
    [
      'deadline exceeded',
      {},
      {
        deployment: deployment({
          readyReplicas: 1,
          conditions: [
            {
              type: 'Progressing',
              status: 'False',
              reason: 'ProgressDeadlineExceeded',
              message: 'RS timed out',
            },
          ],
        }),
      },
      'False',
      'ProgressDeadlineExceeded',
      /1\/2 replicas ready; RS timed out/,
    ],
    [
      'autoscaled: counted against the scale the autoscaler chose, not spec.replicas',
      { replicas: 0, autoscaling: { maxReplicas: 8 } },
      {
        deployment: {
          spec: { replicas: 5, selector: {}, template: {} },
          status: { readyReplicas: 5, availableReplicas: 5, conditions: [available] },
        },
      },
      'True',
      'MinimumReplicasAvailable',
      /^5\/5 replicas ready$/,
    ],
    [
      'Deployment says Available but no replica is available (mutant: `> 0` dropped)',
      {},
      {
        deployment: deployment({ readyReplicas: 0, availableReplicas: 0, conditions: [available] }),
      },
      'False',
      'ReplicasUnavailable',
      /^0\/2 replicas ready$/,
    ],
    [
      'Deployment says Available without an availableReplicas count',
      {},
      { deployment: deployment({ readyReplicas: 2, conditions: [available] }) },
      'False',
      'ReplicasUnavailable',
      /^2\/2 replicas ready$/,
    ],
    [
      'a Deployment without status yet (its fields are read optionally)',
      {},
      { deployment: {} },
      'False',
      'ReplicasUnavailable',
      /^0\/2 replicas ready$/,
    ],
    [
      'autoscaled Deployment without spec yet: counted against minReplicas',
      { autoscaling: { minReplicas: 3, maxReplicas: 8 } },
      { deployment: {} },
      'False',
      'ReplicasUnavailable',
      /^0\/3 replicas ready$/,
    ],
    [
      'replicas available but the Deployment says Available=False',
      {},
      {
        deployment: deployment({
          readyReplicas: 2,
          availableReplicas: 2,
          conditions: [{ type: 'Available', status: 'False' }],
        }),
      },
      'False',
      'ReplicasUnavailable',
      /^2\/2 replicas ready$/,
    ],
    [
      'Progressing=False for another reason is not a deadline',
      {},
      {
        deployment: deployment({
          readyReplicas: 1,
          conditions: [{ type: 'Progressing', status: 'False', reason: 'Other' }],
        }),
      },
      'False',
      'ReplicasUnavailable',
      /^1\/2 replicas ready$/,
    ],
    [
      'deadline exceeded without a message',
      {},
      {
        deployment: deployment({
          conditions: [
            { type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded' },
          ],
        }),
      },
      'False',
      'ProgressDeadlineExceeded',
      /^0\/2 replicas ready; the rollout stopped making progress$/,
    ],
    [
      'starting',
      {},
      { deployment: deployment({ readyReplicas: 1 }) },
      'False',
      'ReplicasUnavailable',
      /^1\/2 replicas ready$/,
    ],
  ];
  for (const [name, spec, observed, status, reason, message] of cases) {
    test(name, () => {
      const c = availableCondition(fixture(spec), {
        certManagerInstalled: true,
        serviceMonitorInstalled: true,
        ...observed,
      });
      assert.equal(c.status, status, c.message);
      assert.equal(c.reason, reason);
      assert.match(c.message, message);
    });
  }
});
