/** The CRD keeps the contract of DESIGN §3 (group, kind, scope, printer columns). */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parse } from 'yaml';
import * as api from '../../operator/src/api/index.js';
import { readRepoFile } from './helpers.js';

interface Crd {
  metadata: { name: string };
  spec: {
    group: string;
    scope: string;
    names: { kind: string; plural: string; shortNames: string[] };
    versions: {
      name: string;
      served: boolean;
      storage: boolean;
      subresources: { status?: object; scale?: object };
      additionalPrinterColumns: { name: string; jsonPath: string }[];
    }[];
  };
}

const crd = parse(readRepoFile('crds/wsgate.dev_websocketproxies.yaml')) as Crd;

describe('WebSocketProxy CRD', () => {
  test('group, kind, scope, short name', () => {
    assert.equal(crd.metadata.name, api.CRD_NAME);
    assert.equal(crd.spec.group, 'wsgate.dev');
    assert.equal(crd.spec.names.kind, 'WebSocketProxy');
    assert.equal(crd.spec.scope, 'Namespaced');
    assert.ok(crd.spec.names.shortNames.includes('wsp'));
    assert.equal(api.API_VERSION, 'wsgate.dev/v1alpha1');
  });

  test('one served, stored version with status (and scale)', () => {
    const [version, ...rest] = crd.spec.versions;
    assert.equal(rest.length, 0);
    assert.equal(version?.name, 'v1alpha1');
    assert.ok(version?.served && version.storage);
    assert.ok(version.subresources.status);
    assert.ok(version.subresources.scale);
  });

  test('printer columns Ready, Replicas, URL, Age', () => {
    const columns = crd.spec.versions[0]!.additionalPrinterColumns.map((c) => c.name);
    assert.deepEqual(columns.slice(0, 4), ['Ready', 'Replicas', 'URL', 'Age']);
  });

  test('the field manager', () => assert.equal(api.FIELD_MANAGER, 'wsgate-operator'));
});
