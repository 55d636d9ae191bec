/** Available, from the Deployment and its pods. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { V1Deployment, V1Pod } from '@kubernetes/client-node';
import { availableCondition, podProblem } from '../../operator/src/status/availability.js';
import type { Observed } from '../../operator/src/status/types.js';
import { fixture } from './helpers.js';

const deployment = (status: NonNullable<V1Deployment['status']>): V1Deployment => ({ status });
const waiting = (reason: string, message?: string, init = false): V1Pod => {
  const statuses = [
    {
      name: 'proxy',
      image: 'i',
      imageID: '',
      ready: false,
      restartCount: 0,
      state: { waiting: { reason, message } },
    },
  ];
  return {
    metadata: { name: 'console-abc' },
    status: init ? { initContainerStatuses: statuses } : { containerStatuses: statuses },
  };
};
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
      'available while a new pod fails',
      {},
      {
        deployment: deployment({ readyReplicas: 2, availableReplicas: 2, conditions: [available] }),
        pods: [waiting('ImagePullBackOff', 'not found')],
      },
      'True',
      'MinimumReplicasAvailable',
      /rollout blocked by pod console-abc: ImagePullBackOff: not found/,
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
      'crash loop',
      {},
      { deployment: deployment({ readyReplicas: 0 }), pods: [waiting('CrashLoopBackOff')] },
      'False',
      'PodsFailing',
      /0\/2 replicas ready; pod console-abc: CrashLoopBackOff$/,
    ],
    [
      'starting',
      {},
      { deployment: deployment({ readyReplicas: 1 }), pods: [waiting('ContainerCreating')] },
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

describe('podProblem', () => {
  test('init containers count; transient waits do not', () => {
    assert.match(
      podProblem([waiting('CreateContainerConfigError', 'x', true)])!,
      /CreateContainerConfigError: x/,
    );
    assert.equal(podProblem([waiting('PodInitializing')]), null);
    assert.equal(podProblem(undefined), null);
  });
});
