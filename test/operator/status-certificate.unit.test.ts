/** CertificateReady policies, as a table of observations. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type {
  Certificate,
  ExternalCondition,
  Issuer,
} from '../../operator/src/api/external-types.js';
import { certificateReadyCondition, issuerToCheck } from '../../operator/src/status/certificate.js';
import type { Observed } from '../../operator/src/status/types.js';
import { fixture } from './helpers.js';

const issued = { tls: { issuerRef: { name: 'ca' }, dnsNames: ['a.example.com'] } };
const base: Observed = { certManagerInstalled: true, serviceMonitorInstalled: true };

const cert = (ready?: Partial<ExternalCondition>, generation = 1): Certificate => ({
  apiVersion: 'cert-manager.io/v1',
  kind: 'Certificate',
  metadata: { name: 'console', namespace: 'consoles', generation },
  spec: { secretName: 'console-tls', issuerRef: { name: 'ca' } },
  status: {
    notAfter: '2026-04-01T00:00:00Z',
    conditions: ready ? [{ type: 'Ready', status: 'True', ...ready }] : [],
  },
});
const issuer = (status: 'True' | 'False', message = ''): Issuer => ({
  status: { conditions: [{ type: 'Ready', status, message }] },
});

describe('certificateReadyCondition', () => {
  const cases: [
    string,
    Parameters<typeof fixture>[0],
    Partial<Observed>,
    string,
    string,
    RegExp,
  ][] = [
    ['no TLS', {}, {}, 'True', 'TLSDisabled', /ws:\/\//],
    [
      'cert-manager missing',
      issued,
      { certManagerInstalled: false },
      'False',
      'CertManagerMissing',
      /not installed.*secretName/,
    ],
    [
      'issuer missing',
      issued,
      { issuer: null },
      'False',
      'IssuerNotFound',
      /Issuer ca in namespace consoles not found/,
    ],
    [
      'cluster issuer missing',
      { tls: { issuerRef: { name: 'le', kind: 'ClusterIssuer' }, dnsNames: ['a.example.com'] } },
      { issuer: null },
      'False',
      'IssuerNotFound',
      /^ClusterIssuer le not found$/,
    ],
    [
      'issuer not ready',
      issued,
      { issuer: issuer('False', 'bad key') },
      'False',
      'IssuerNotReady',
      /not ready: bad key/,
    ],
    [
      'Certificate not made yet',
      issued,
      { issuer: issuer('True'), certificate: null },
      'False',
      'CertificatePending',
      /not created yet/,
    ],
    [
      'Certificate without a Ready condition',
      issued,
      { certificate: cert() },
      'False',
      'CertificatePending',
      /waiting/,
    ],
    [
      'Ready from an older generation',
      issued,
      { certificate: cert({ observedGeneration: 1 }, 2) },
      'False',
      'CertificatePending',
      /waiting/,
    ],
    [
      'Certificate failing',
      issued,
      {
        certificate: cert({
          status: 'False',
          reason: 'DoesNotExist',
          message: 'Issuing certificate as Secret does not exist',
        }),
      },
      'False',
      'CertificateNotReady',
      /^cert-manager: DoesNotExist: Issuing certificate/,
    ],
    [
      'first issuance in progress (Ready False, Issuing True)',
      issued,
      {
        certificate: {
          ...cert({ status: 'False', reason: 'DoesNotExist', message: 'Secret does not exist' }),
          status: {
            conditions: [
              { type: 'Ready', status: 'False', reason: 'DoesNotExist' },
              {
                type: 'Issuing',
                status: 'True',
                message: 'Issuing certificate as Secret does not exist',
              },
            ],
          },
        },
      },
      'False',
      'CertificatePending',
      /^cert-manager is issuing the certificate: Issuing certificate as Secret/,
    ],
    [
      'issued',
      issued,
      { issuer: issuer('True'), certificate: cert({ observedGeneration: 1 }) },
      'True',
      'CertificateIssued',
      /Secret console-tls, valid until 2026-04-01/,
    ],
    [
      'brought Secret found',
      { tls: { secretName: 'mine' } },
      { secrets: { mine: { state: 'found', keys: ['tls.crt', 'tls.key', 'ca.crt'] } } },
      'True',
      'SecretFound',
      /mine/,
    ],
    [
      'brought Secret missing',
      { tls: { secretName: 'mine' } },
      { secrets: { mine: { state: 'missing' } } },
      'False',
      'TLSSecretNotFound',
      /Secret mine \(spec.tls.secretName\) not found/,
    ],
    [
      'brought Secret without a key',
      { tls: { secretName: 'mine' } },
      { secrets: { mine: { state: 'found', keys: ['tls.crt'] } } },
      'False',
      'TLSSecretInvalid',
      /no key tls.key/,
    ],
    [
      'brought Secret unreadable',
      { tls: { secretName: 'mine' } },
      { secrets: { mine: { state: 'unknown', why: 'forbidden' } } },
      'True',
      'SecretNotVerified',
      /forbidden/,
    ],
    [
      'brought Secret not looked at',
      { tls: { secretName: 'mine' } },
      {},
      'True',
      'SecretNotVerified',
      /not checked/,
    ],
  ];
  for (const [name, spec, observed, status, reason, message] of cases) {
    test(name, () => {
      const c = certificateReadyCondition(fixture(spec), { ...base, ...observed });
      assert.equal(c.type, 'CertificateReady');
      assert.equal(c.status, status, c.message);
      assert.equal(c.reason, reason);
      assert.match(c.message, message);
    });
  }
});

describe('issuerToCheck', () => {
  test('namespaced Issuer, ClusterIssuer, external or none', () => {
    assert.deepEqual(issuerToCheck(fixture(issued)), {
      group: 'cert-manager.io',
      plural: 'issuers',
      name: 'ca',
      namespace: 'consoles',
    });
    const cluster = fixture({
      tls: { issuerRef: { name: 'le', kind: 'ClusterIssuer' }, dnsNames: ['a.example.com'] },
    });
    assert.deepEqual(issuerToCheck(cluster), {
      group: 'cert-manager.io',
      plural: 'clusterissuers',
      name: 'le',
      namespace: undefined,
    });
    const external = fixture({
      tls: { issuerRef: { name: 'x', kind: 'AWSPCAIssuer', group: 'awspca.cert-manager.io' } },
    });
    assert.equal(issuerToCheck(external), null);
    assert.equal(issuerToCheck(fixture()), null);
  });
});
