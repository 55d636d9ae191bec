/** covers(): when a cached object already holds everything the operator would apply. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { covers, mustReplace, objectHash } from '../../operator/src/controller/apply.js';
import type { OwnedObject } from '../../operator/src/api/external-types.js';

describe('covers', () => {
  const cases: [string, unknown, unknown, boolean][] = [
    ['equal scalars', 'a', 'a', true],
    ['different scalars', 1, 2, false],
    ['number vs string', 1, '1', false],
    ['extra fields in the live object', { a: 1, b: 2, status: {} }, { a: 1 }, true],
    ['a missing field', { a: 1 }, { a: 1, b: 2 }, false],
    ['nested difference', { spec: { replicas: 3 } }, { spec: { replicas: 2 } }, false],
    ['undefined in desired is ignored', { a: 1 }, { a: 1, b: undefined }, true],
    ['arrays element by element', [{ a: 1, x: 0 }, { b: 2 }], [{ a: 1 }, { b: 2 }], true],
    ['arrays of another length', [1, 2, 3], [1, 2], false],
    ['array vs object', { 0: 1 }, [1], false],
    ['object vs array', [1], { 0: 1 }, false],
    ['null live', null, { a: 1 }, false],
    [
      'a normalized quantity does not match (so it is applied again)',
      { resources: { limits: { cpu: '500m' } } },
      { resources: { limits: { cpu: '0.5' } } },
      false,
    ],
  ];
  for (const [name, live, desired, expected] of cases) {
    test(name, () => assert.equal(covers(live, desired), expected));
  }
});

describe('objectHash', () => {
  test('equal objects, equal hashes; any change, another hash', () => {
    const a = { metadata: { name: 'x' }, data: { k: 'v' } };
    assert.equal(objectHash(a), objectHash(structuredClone(a)));
    assert.notEqual(objectHash(a), objectHash({ metadata: { name: 'x' }, data: { k: 'w' } }));
  });
});

describe('mustReplace', () => {
  const service = (clusterIP?: string): OwnedObject =>
    ({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'console-metrics', namespace: 'consoles' },
      spec: clusterIP === undefined ? {} : { clusterIP },
    }) as OwnedObject;
  const cases: [string, OwnedObject | undefined, OwnedObject, boolean][] = [
    [
      'a metrics Service with a cluster IP, now headless',
      service('10.96.0.7'),
      service('None'),
      true,
    ],
    ['already headless', service('None'), service('None'), false],
    ['not created yet', undefined, service('None'), false],
    ['the client Service (no clusterIP rendered)', service('10.96.0.8'), service(), false],
    [
      'another kind',
      { ...service('10.96.0.7'), kind: 'ConfigMap' },
      { ...service('None'), kind: 'ConfigMap' },
      false,
    ],
  ];
  for (const [name, live, desired, expected] of cases) {
    test(name, () => assert.equal(mustReplace(live, desired), expected));
  }
});
