/** The client Service and the metrics Service. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { servicePort } from '../../operator/src/objects/names.js';
import { renderMetricsService, renderService } from '../../operator/src/render/service.js';
import { fixture } from './helpers.js';

describe('servicePort', () => {
  const cases: [string, Parameters<typeof fixture>[0], number][] = [
    ['80 without TLS', {}, 80],
    ['443 with TLS', { tls: { secretName: 's' } }, 443],
    ['explicit wins', { tls: { secretName: 's' }, service: { port: 8443 } }, 8443],
  ];
  for (const [name, spec, port] of cases)
    test(name, () => assert.equal(servicePort(fixture(spec)), port));
});

describe('renderService', () => {
  test('ClusterIP by default, targeting the websocket port', () => {
    const svc = renderService(fixture());
    assert.equal(svc.spec.type, 'ClusterIP');
    assert.deepEqual(svc.spec.ports, [
      { name: 'websocket', port: 80, targetPort: 'websocket', protocol: 'TCP' },
    ]);
    assert.deepEqual(svc.spec.selector, {
      'app.kubernetes.io/name': 'wsgate',
      'app.kubernetes.io/instance': 'console',
      'app.kubernetes.io/component': 'proxy',
    });
    assert.equal(svc.metadata.annotations, undefined);
    assert.equal(svc.spec.loadBalancerSourceRanges, undefined);
    assert.equal(svc.spec.externalTrafficPolicy, undefined);
  });

  test('LoadBalancer with annotations, source ranges and Local policy', () => {
    const svc = renderService(
      fixture({
        service: {
          type: 'LoadBalancer',
          annotations: { 'a.example.com/x': 'y' },
          loadBalancerSourceRanges: ['203.0.113.0/24'],
          externalTrafficPolicy: 'Local',
        },
      }),
    );
    assert.deepEqual(svc.metadata.annotations, { 'a.example.com/x': 'y' });
    assert.deepEqual(svc.spec.loadBalancerSourceRanges, ['203.0.113.0/24']);
    assert.equal(svc.spec.externalTrafficPolicy, 'Local');
  });

  test('source ranges are dropped unless LoadBalancer (the CRD refuses them too)', () => {
    const svc = renderService(
      fixture({ service: { type: 'NodePort', loadBalancerSourceRanges: ['10.0.0.0/8'] } }),
    );
    assert.equal(svc.spec.loadBalancerSourceRanges, undefined);
  });
});

describe('renderMetricsService', () => {
  test('headless on 9090, labelled for the ServiceMonitor', () => {
    const svc = renderMetricsService(fixture({ service: { type: 'LoadBalancer' } }));
    assert.equal(svc.metadata.name, 'console-metrics');
    assert.equal(svc.spec.type, 'ClusterIP');
    assert.equal(svc.spec.clusterIP, 'None');
    assert.deepEqual(svc.spec.ports, [
      { name: 'metrics', port: 9090, targetPort: 'metrics', protocol: 'TCP' },
    ]);
    assert.equal(svc.metadata.labels?.['wsgate.dev/service'], 'metrics');
  });
});

describe('renderService: optional fields', () => {
  test('a LoadBalancer without source ranges has no loadBalancerSourceRanges', () => {
    const service = renderService(fixture({ service: { type: 'LoadBalancer' } }));
    assert.equal(service.spec.type, 'LoadBalancer');
    assert.equal(Object.hasOwn(service.spec, 'loadBalancerSourceRanges'), false);
  });

  test('a ClusterIP Service leaves externalTrafficPolicy out even when the spec sets it', () => {
    const service = renderService(
      fixture({ service: { type: 'ClusterIP', externalTrafficPolicy: 'Local' } }),
    );
    assert.equal(Object.hasOwn(service.spec, 'externalTrafficPolicy'), false);
  });

  test('without spec.service.externalTrafficPolicy a NodePort Service has none', () => {
    const service = renderService(fixture({ service: { type: 'NodePort' } }));
    assert.equal(Object.hasOwn(service.spec, 'externalTrafficPolicy'), false);
  });
});
