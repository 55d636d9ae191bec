/** Ownership of a Deployment's replicas, as the cache keeps it for the autoscaler hand-over. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ownsReplicas, slimDeployment } from '../../operator/src/controller/replicas.js';

const entry = (
  manager: string,
  operation: string,
  spec: Record<string, unknown>,
  subresource?: string,
) => ({
  manager,
  operation,
  ...(subresource ? { subresource } : {}),
  fieldsV1: { 'f:metadata': { 'f:labels': {} }, 'f:spec': spec },
});
const deployment = (...managedFields: ReturnType<typeof entry>[]) => ({
  metadata: { name: 'console', namespace: 'consoles', managedFields },
  spec: { replicas: 4 },
});

describe('ownsReplicas', () => {
  const cases: [string, ReturnType<typeof deployment>, boolean][] = [
    [
      'the operator applied replicas',
      deployment(entry('wsgate-operator', 'Apply', { 'f:replicas': {} })),
      true,
    ],
    [
      'the operator applies without replicas; the autoscaler scaled',
      deployment(
        entry('wsgate-operator', 'Apply', { 'f:template': {} }),
        entry('kube-controller-manager', 'Update', { 'f:replicas': {} }, 'scale'),
      ),
      false,
    ],
    [
      'only the hand-over manager holds it',
      deployment(entry('wsgate-operator-handover', 'Apply', { 'f:replicas': {} })),
      false,
    ],
    [
      'an Update by the same name is not the apply',
      deployment(entry('wsgate-operator', 'Update', { 'f:replicas': {} })),
      false,
    ],
    [
      'no managedFields',
      { metadata: { name: 'x', namespace: 'y', managedFields: [] }, spec: { replicas: 1 } },
      false,
    ],
  ];
  for (const [name, object, expected] of cases)
    test(name, () => assert.equal(ownsReplicas(object), expected));
});

describe('slimDeployment', () => {
  test('keeps only the fact that the operator owns replicas', () => {
    const slim = slimDeployment(
      deployment(
        entry('wsgate-operator', 'Apply', { 'f:replicas': {}, 'f:template': {} }),
        entry('kube-controller-manager', 'Update', { 'f:replicas': {} }, 'scale'),
      ),
    );
    assert.deepEqual(slim.metadata.managedFields, [
      {
        manager: 'wsgate-operator',
        operation: 'Apply',
        fieldsV1: { 'f:spec': { 'f:replicas': {} } },
      },
    ]);
    assert.equal(ownsReplicas(slim), true);
  });

  test('drops managedFields entirely otherwise', () => {
    const slim = slimDeployment(
      deployment(entry('wsgate-operator', 'Apply', { 'f:template': {} })),
    );
    assert.equal(slim.metadata.managedFields, undefined);
    assert.equal(ownsReplicas(slim), false);
  });
});
