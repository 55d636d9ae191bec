/** Identity, names, labels and owner references shared by the renderers. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  identity,
  labels,
  objectMeta,
  objectNames,
  ownerReference,
  refOf,
  selectorString,
} from '../../operator/src/objects/names.js';
import { secretMounts } from '../../operator/src/objects/mounts.js';
import { renderConfigMap } from '../../operator/src/render/configmap.js';
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
    test(`throws when metadata.${field} is the empty string`, () => {
      const wsp = fixture();
      wsp.metadata![field] = '';
      assert.throws(() => identity(wsp), {
        name: 'TypeError',
        message: `WebSocketProxy metadata.${field} is missing`,
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

  test('refOf names a rendered object by apiVersion, kind, name and namespace', () => {
    assert.deepEqual(refOf(renderConfigMap(fixture())), {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      name: 'console',
      namespace: 'consoles',
    });
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

  test('every Secret in the fixed order; the replay store URL last, as an environment variable with no directory', () => {
    const key = (name: string, k: string) => ({ name, key: k });
    const mounts = secretMounts(
      fixture({
        tls: { issuerRef: { name: 'ca' } },
        tokens: {
          file: { secretRef: key('t', 'tokens') },
          jwt: {
            keySecretRef: key('j', 'key.pem'),
            replayStore: {
              secretRef: key('r', 'url'),
              passwordSecretRef: key('p', 'password'),
              caSecretRef: key('c', 'ca.crt'),
            },
          },
          ovirt: { certificateSecretRef: key('o', 'o.cer') },
        },
        targets: { tls: { caSecretRef: key('a', 'ca.pem') } },
      }),
    );
    assert.deepEqual(mounts, [
      {
        volume: 'tls',
        secretName: 'console-tls',
        keys: ['tls.crt', 'tls.key'],
        dir: '/etc/wsgate/tls',
        field: 'spec.tls.issuerRef',
      },
      {
        volume: 'tokens',
        secretName: 't',
        keys: ['tokens'],
        dir: '/etc/wsgate/tokens',
        field: 'spec.tokens.file.secretRef',
      },
      {
        volume: 'jwt-key',
        secretName: 'j',
        keys: ['key.pem'],
        dir: '/etc/wsgate/jwt',
        field: 'spec.tokens.jwt.keySecretRef',
      },
      {
        volume: 'ovirt-cert',
        secretName: 'o',
        keys: ['o.cer'],
        dir: '/etc/wsgate/ovirt',
        field: 'spec.tokens.ovirt.certificateSecretRef',
      },
      {
        volume: 'target-ca',
        secretName: 'a',
        keys: ['ca.pem'],
        dir: '/etc/wsgate/target-ca',
        field: 'spec.targets.tls.caSecretRef',
      },
      {
        volume: 'replay-store-password',
        secretName: 'p',
        keys: ['password'],
        dir: '/etc/wsgate/replay-store-password',
        field: 'spec.tokens.jwt.replayStore.passwordSecretRef',
      },
      {
        volume: 'replay-store-ca',
        secretName: 'c',
        keys: ['ca.crt'],
        dir: '/etc/wsgate/replay-store-ca',
        field: 'spec.tokens.jwt.replayStore.caSecretRef',
      },
      {
        volume: 'replay-store',
        secretName: 'r',
        keys: ['url'],
        dir: '',
        field: 'spec.tokens.jwt.replayStore.secretRef',
        env: 'WSGATE_REPLAY_STORE',
      },
    ]);
  });
});
