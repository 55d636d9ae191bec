/** The cert-manager Certificate. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { renderCertificate } from '../../operator/src/render/certificate.js';
import { fixture } from './helpers.js';

describe('renderCertificate', () => {
  test('null without TLS and with a brought Secret', () => {
    assert.equal(renderCertificate(fixture()), null);
    assert.equal(renderCertificate(fixture({ tls: { secretName: 'mine' } })), null);
  });

  test('defaults: ECDSA key rotated at each renewal, cert-manager lifetimes', () => {
    const cert = renderCertificate(
      fixture({ tls: { issuerRef: { name: 'ca' }, dnsNames: ['a.example.com'] } }),
    );
    assert.deepEqual(cert?.spec, {
      secretName: 'console-tls',
      issuerRef: { name: 'ca', kind: 'Issuer', group: 'cert-manager.io' },
      privateKey: { algorithm: 'ECDSA', rotationPolicy: 'Always' },
      secretTemplate: {
        labels: {
          'app.kubernetes.io/name': 'wsgate',
          'app.kubernetes.io/instance': 'console',
          'app.kubernetes.io/component': 'proxy',
          'app.kubernetes.io/managed-by': 'wsgate-operator',
        },
      },
      dnsNames: ['a.example.com'],
    });
    assert.equal(cert?.apiVersion, 'cert-manager.io/v1');
    assert.equal(cert?.metadata.name, 'console');
  });

  test('every option passes through', () => {
    const cert = renderCertificate(
      fixture({
        tls: {
          issuerRef: { name: 'acme', kind: 'ClusterIssuer' },
          dnsNames: ['a.example.com', '*.example.com'],
          ipAddresses: ['192.0.2.1'],
          duration: '2160h',
          renewBefore: '360h',
          privateKey: { algorithm: 'RSA', size: 3072, rotationPolicy: 'Never' },
        },
      }),
    );
    assert.deepEqual(cert?.spec.issuerRef, {
      name: 'acme',
      kind: 'ClusterIssuer',
      group: 'cert-manager.io',
    });
    assert.deepEqual(cert?.spec.privateKey, {
      algorithm: 'RSA',
      size: 3072,
      rotationPolicy: 'Never',
    });
    assert.deepEqual(cert?.spec.ipAddresses, ['192.0.2.1']);
    assert.equal(cert?.spec.duration, '2160h');
    assert.equal(cert?.spec.renewBefore, '360h');
  });
});

describe('renderCertificate: optional names', () => {
  test('with IP addresses only, the Certificate has no dnsNames', () => {
    const cert = renderCertificate(
      fixture({ tls: { issuerRef: { name: 'ca' }, ipAddresses: ['192.0.2.1'] } }),
    );
    assert.deepEqual(cert?.spec.ipAddresses, ['192.0.2.1']);
    assert.equal(Object.hasOwn(cert!.spec, 'dnsNames'), false);
  });
});
