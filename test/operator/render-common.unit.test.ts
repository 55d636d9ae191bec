/** Identity, names, labels and owner references shared by the renderers. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  identity,
  labels,
  objectMeta,
  objectNames,
  ownerReference,
  selectorString,
} from '../../operator/src/objects/names.js';
import { secretMounts } from '../../operator/src/objects/mounts.js';
import { fixture } from './helpers.js';

describe('identity', () => {
  for (const field of ['name', 'namespace', 'uid'] as const) {
    test(`throws without metadata.${field}`, () => {
      const wsp = fixture();
      delete wsp.metadata![field];
      assert.throws(() => identity(wsp), {
        name: 'TypeError',
        message: new RegExp(`metadata.${field}`),
      });
    });
  }
});

describe('objectNames', () => {
  test('fixed per kind; TLS Secret from the Certificate or the spec', () => {
    assert.deepEqual(objectNames(fixture()), {
      configMap: 'console',
      certificate: 'console',
      deployment: 'console',
      service: 'console',
      metricsService: 'console-metrics',
      podDisruptionBudget: 'console',
      serviceMonitor: 'console',
      networkPolicy: 'console',
      horizontalPodAutoscaler: 'console',
      tlsSecret: undefined,
    });
    assert.equal(
      objectNames(fixture({ tls: { issuerRef: { name: 'ca' } } })).tlsSecret,
      'console-tls',
    );
    assert.equal(objectNames(fixture({ tls: { secretName: 'mine' } })).tlsSecret, 'mine');
  });
});

describe('labels and owner', () => {
  test('labels, selector string, owner reference', () => {
    const wsp = fixture();
    assert.equal(labels(wsp)['app.kubernetes.io/managed-by'], 'wsgate-operator');
    assert.equal(
      selectorString(wsp),
      'app.kubernetes.io/component=proxy,app.kubernetes.io/instance=console,app.kubernetes.io/name=wsgate',
    );
    assert.equal(ownerReference(wsp).controller, true);
  });

  test('objectMeta: our labels win over extra ones; empty annotations are left out', () => {
    const meta = objectMeta(fixture(), 'x', {
      labels: { 'app.kubernetes.io/name': 'other', a: 'b' },
      annotations: {},
    });
    assert.equal(meta.labels?.['app.kubernetes.io/name'], 'wsgate');
    assert.equal(meta.labels?.a, 'b');
    assert.equal(meta.annotations, undefined);
  });
});

describe('secretMounts', () => {
  test('names the spec field of each Secret', () => {
    const mounts = secretMounts(
      fixture({
        tls: { secretName: 'mine' },
        tokens: { ovirt: { certificateSecretRef: { name: 'e', key: 'e.cer' } } },
      }),
    );
    assert.deepEqual(
      mounts.map((m) => [m.volume, m.secretName, m.field]),
      [
        ['tls', 'mine', 'spec.tls.secretName'],
        ['ovirt-cert', 'e', 'spec.tokens.ovirt.certificateSecretRef'],
      ],
    );
  });
});
