/** The PodDisruptionBudget. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { renderPodDisruptionBudget } from '../../operator/src/render/pdb.js';
import { fixture } from './helpers.js';

describe('renderPodDisruptionBudget', () => {
  const cases: [string, Parameters<typeof fixture>[0], Record<string, unknown> | null][] = [
    ['none for one replica', { replicas: 1 }, null],
    ['none for zero replicas', { replicas: 0 }, null],
    ['maxUnavailable 1 by default', { replicas: 2 }, { maxUnavailable: 1 }],
    [
      'minAvailable as given',
      { replicas: 3, podDisruptionBudget: { minAvailable: '50%' } },
      { minAvailable: '50%' },
    ],
    [
      'maxUnavailable as given',
      { replicas: 3, podDisruptionBudget: { maxUnavailable: 2 } },
      { maxUnavailable: 2 },
    ],
  ];
  for (const [name, spec, budget] of cases) {
    test(name, () => {
      const pdb = renderPodDisruptionBudget(fixture(spec));
      if (budget === null) return assert.equal(pdb, null);
      assert.equal(pdb?.apiVersion, 'policy/v1');
      assert.deepEqual(pdb?.spec, {
        selector: {
          matchLabels: {
            'app.kubernetes.io/name': 'wsgate',
            'app.kubernetes.io/instance': 'console',
            'app.kubernetes.io/component': 'proxy',
          },
        },
        unhealthyPodEvictionPolicy: 'AlwaysAllow',
        ...budget,
      });
    });
  }
});
