/** computeStatus end to end, Ready aggregation, and change detection. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { computeStatus, readyCondition, statusEqual } from '../../operator/src/status/index.js';
import type { Observed } from '../../operator/src/status/types.js';
import { validate } from '../../operator/src/api/validate.js';
import { example, fixture } from './helpers.js';

const t0 = new Date('2026-02-01T10:00:00Z');
const t1 = new Date('2026-02-01T10:01:00Z');

const healthy: Observed = {
  certManagerInstalled: true,
  serviceMonitorInstalled: true,
  issuer: { status: { conditions: [{ type: 'Ready', status: 'True' }] } },
  certificate: {
    apiVersion: 'cert-manager.io/v1',
    kind: 'Certificate',
    metadata: { name: 'console', namespace: 'consoles', generation: 1 },
    spec: { secretName: 'console-tls', issuerRef: { name: 'engine-ca' } },
    status: {
      conditions: [{ type: 'Ready', status: 'True', observedGeneration: 1 }],
      notAfter: '2026-05-01T00:00:00Z',
    },
  },
  secrets: {
    'console-tokens': { state: 'found', keys: ['tokens'] },
    'engine-cert': { state: 'found', keys: ['engine.cer'] },
  },
  deployment: {
    status: {
      replicas: 2,
      readyReplicas: 2,
      availableReplicas: 2,
      conditions: [{ type: 'Available', status: 'True' }],
    },
  },
};

describe('computeStatus', () => {
  test('a healthy example', () => {
    const wsp = example();
    const status = computeStatus(wsp, healthy, validate(wsp), t0);
    assert.deepEqual(
      {
        ...status,
        conditions: status.conditions?.map((c) => [c.type, c.status, c.reason, c.message]),
      },
      {
        observedGeneration: 1,
        replicas: 2,
        readyReplicas: 2,
        selector:
          'app.kubernetes.io/component=proxy,app.kubernetes.io/instance=console,app.kubernetes.io/name=wsgate',
        url: 'wss://console.example.com/',
        certificateSecretName: 'console-tls',
        conditions: [
          ['Ready', 'True', 'AllReady', 'serving at wss://console.example.com/'],
          ['ConfigValid', 'True', 'Valid', 'the spec is valid'],
          [
            'CertificateReady',
            'True',
            'CertificateIssued',
            'issued into Secret console-tls, valid until 2026-05-01T00:00:00Z',
          ],
          ['Available', 'True', 'MinimumReplicasAvailable', '2/2 replicas ready'],
        ],
      },
    );
    assert.ok(
      status.conditions?.every(
        (c) => c.observedGeneration === 1 && c.lastTransitionTime === '2026-02-01T10:00:00Z',
      ),
    );
  });

  test('recomputing an unchanged state gives an equal status (no write)', () => {
    const wsp = example();
    wsp.status = computeStatus(wsp, healthy, validate(wsp), t0);
    const again = computeStatus(wsp, healthy, validate(wsp), t1);
    assert.ok(statusEqual(wsp.status, again));
  });

  test('a failure flips Ready with the failing reason and moves only changed times', () => {
    const wsp = example();
    wsp.status = computeStatus(wsp, healthy, validate(wsp), t0);
    const broken = computeStatus(wsp, { ...healthy, issuer: null }, validate(wsp), t1);
    const by = Object.fromEntries(broken.conditions!.map((c) => [c.type, c]));
    assert.equal(by.Ready?.status, 'False');
    assert.equal(by.Ready?.reason, 'IssuerNotFound');
    assert.equal(
      by.Ready?.message,
      'CertificateReady: Issuer engine-ca in namespace consoles not found',
    );
    assert.equal(by.Ready?.lastTransitionTime, '2026-02-01T10:01:00Z');
    assert.equal(by.Available?.lastTransitionTime, '2026-02-01T10:00:00Z');
    assert.ok(!statusEqual(wsp.status, broken));
  });

  test('no TLS: no certificate Secret, ws:// URL', () => {
    const wsp = fixture();
    const status = computeStatus(
      wsp,
      { certManagerInstalled: false, serviceMonitorInstalled: false },
      validate(wsp),
      t0,
    );
    assert.equal(status.certificateSecretName, undefined);
    assert.equal(status.url, 'ws://console.consoles.svc/');
    assert.equal(status.replicas, 0);
    assert.equal(status.conditions?.[0]?.reason, 'DeploymentPending');
  });
});

describe('readyCondition', () => {
  const part = (type: string, status: 'True' | 'False' | 'Unknown', reason = 'R') => ({
    type,
    status,
    reason,
    message: 'm',
  });
  const cases: [string, ReturnType<typeof part>[], string, string][] = [
    ['all true', [part('A', 'True'), part('B', 'True')], 'True', 'AllReady'],
    [
      'first failure wins',
      [part('A', 'True'), part('B', 'False', 'X'), part('C', 'False', 'Y')],
      'False',
      'X',
    ],
    ['unknown stays unknown', [part('A', 'Unknown', 'U')], 'Unknown', 'U'],
  ];
  for (const [name, parts, status, reason] of cases) {
    test(name, () => {
      const c = readyCondition(parts, 'ws://x/');
      assert.equal(c.status, status);
      assert.equal(c.reason, reason);
    });
  }
});

describe('statusEqual', () => {
  test('ignores key order and undefined fields', () => {
    assert.ok(
      statusEqual({ url: 'a', replicas: 1 }, { replicas: 1, url: 'a', selector: undefined }),
    );
    assert.ok(!statusEqual({ url: 'a' }, { url: 'b' }));
    assert.ok(statusEqual(undefined, {}));
  });
});
