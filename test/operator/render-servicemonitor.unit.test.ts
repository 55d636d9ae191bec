/** The ServiceMonitor. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { renderServiceMonitor } from '../../operator/src/render/servicemonitor.js';
import { metricsServiceLabels, renderMetricsService } from '../../operator/src/render/service.js';
import { fixture } from './helpers.js';

describe('renderServiceMonitor', () => {
  test('null unless enabled', () => assert.equal(renderServiceMonitor(fixture()), null));

  test('selects the metrics Service only, with the user labels and interval', () => {
    const wsp = fixture({
      metrics: {
        serviceMonitor: {
          enabled: true,
          labels: { release: 'prometheus', 'app.kubernetes.io/managed-by': 'someone' },
          interval: '15s',
        },
      },
    });
    const sm = renderServiceMonitor(wsp)!;
    assert.equal(sm.apiVersion, 'monitoring.coreos.com/v1');
    assert.equal(sm.metadata.labels?.release, 'prometheus');
    assert.equal(sm.metadata.labels?.['app.kubernetes.io/managed-by'], 'wsgate-operator');
    assert.deepEqual(sm.spec.selector.matchLabels, metricsServiceLabels(wsp));
    assert.deepEqual(sm.spec.namespaceSelector, { matchNames: ['consoles'] });
    assert.deepEqual(sm.spec.endpoints, [
      { port: 'metrics', path: '/metrics', scheme: 'http', interval: '15s' },
    ]);
    const metrics = renderMetricsService(wsp);
    for (const [k, v] of Object.entries(sm.spec.selector.matchLabels)) {
      assert.equal(metrics.metadata.labels?.[k], v, `metrics Service lacks ${k}`);
    }
  });
});

describe('renderServiceMonitor: interval', () => {
  test('without spec.metrics.serviceMonitor.interval the endpoint has no interval', () => {
    const monitor = renderServiceMonitor(
      fixture({ metrics: { serviceMonitor: { enabled: true } } }),
    );
    assert.deepEqual(monitor?.spec.endpoints, [
      { port: 'metrics', path: '/metrics', scheme: 'http' },
    ]);
  });
});
