/** renderAll: snapshots of everything made for the example and a minimal resource. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { renderAll, isDesired, CONFIG_HASH_ANNOTATION } from '../../operator/src/render/index.js';
import type { DeploymentObject } from '../../operator/src/render/deployment.js';
import { example, fixture, matchSnapshot } from './helpers.js';

const options = { operatorImage: 'ghcr.io/wsgate/wsgate:0.1.0', serviceMonitorAvailable: true };

describe('renderAll', () => {
  test('example snapshot', () => {
    const result = renderAll(example(), options);
    matchSnapshot('example', result.apply);
    // The example sets spec.replicas, not spec.autoscaling.
    assert.deepEqual(
      result.delete.map((r) => r.kind),
      ['HorizontalPodAutoscaler'],
    );
  });

  test('minimal snapshot', () => {
    const result = renderAll(fixture(), options);
    matchSnapshot('minimal', result.apply);
  });

  test('apply order puts config and certificate before the pods', () => {
    const kinds = renderAll(example(), options).apply.map((o) => `${o.kind}/${o.metadata.name}`);
    assert.deepEqual(kinds, [
      'ConfigMap/console',
      'Certificate/console',
      'Service/console',
      'Service/console-metrics',
      'NetworkPolicy/console',
      'Deployment/console',
      'PodDisruptionBudget/console',
      'ServiceMonitor/console',
    ]);
    const scaled = fixture({ autoscaling: { maxReplicas: 4 } });
    const autoscaled = renderAll(scaled, options).apply.map((o) => o.kind);
    assert.deepEqual(autoscaled.slice(-3), [
      'Deployment',
      'PodDisruptionBudget',
      'HorizontalPodAutoscaler',
    ]);
  });

  const cases: [
    string,
    Parameters<typeof fixture>[0],
    typeof options & { certManagerAvailable?: boolean },
    string[],
  ][] = [
    [
      'minimal resource deletes the optional kinds',
      {},
      options,
      ['Certificate', 'HorizontalPodAutoscaler', 'ServiceMonitor'],
    ],
    [
      'NetworkPolicy disabled: deleted; autoscaling: kept',
      { networkPolicy: { enabled: false }, autoscaling: { maxReplicas: 3 } },
      options,
      ['Certificate', 'NetworkPolicy', 'ServiceMonitor'],
    ],
    [
      'no ServiceMonitor CRD: nothing of it to delete',
      { replicas: 1 },
      { ...options, serviceMonitorAvailable: false },
      ['Certificate', 'HorizontalPodAutoscaler', 'PodDisruptionBudget'],
    ],
    [
      'no cert-manager: no Certificate applied or deleted',
      { replicas: 3, tls: { issuerRef: { name: 'ca' }, dnsNames: ['a.example.com'] } },
      { ...options, certManagerAvailable: false },
      ['HorizontalPodAutoscaler', 'ServiceMonitor'],
    ],
    [
      'brought TLS Secret deletes a former Certificate',
      { replicas: 3, tls: { secretName: 'mine' } },
      options,
      ['Certificate', 'HorizontalPodAutoscaler', 'ServiceMonitor'],
    ],
  ];
  for (const [name, spec, opts, deleted] of cases) {
    test(name, () => {
      const result = renderAll(fixture(spec), opts);
      assert.deepEqual(result.delete.map((r) => r.kind).sort(), deleted);
      for (const ref of result.delete) {
        assert.equal(ref.namespace, 'consoles');
        assert.equal(isDesired(result, ref), false);
      }
    });
  }

  test('configHash is on the pod template and changes with the config only', () => {
    const a = renderAll(fixture(), options);
    const deployment = a.apply.find((o) => o.kind === 'Deployment') as DeploymentObject;
    assert.equal(
      deployment.spec.template.metadata?.annotations?.[CONFIG_HASH_ANNOTATION],
      a.configHash,
    );
    assert.match(a.configHash, /^[0-9a-f]{64}$/);
    assert.equal(renderAll(fixture({ replicas: 5 }), options).configHash, a.configHash);
    assert.equal(
      renderAll(fixture({ podLabels: { team: 'x' } }), options).configHash,
      a.configHash,
    );
    assert.notEqual(renderAll(fixture({ logLevel: 'debug' }), options).configHash, a.configHash);
  });

  test('every object carries the controller owner reference and labels', () => {
    for (const object of renderAll(example(), options).apply) {
      const [owner, ...rest] = object.metadata.ownerReferences ?? [];
      assert.equal(rest.length, 0);
      assert.deepEqual(owner, {
        apiVersion: 'wsgate.dev/v1alpha1',
        kind: 'WebSocketProxy',
        name: 'console',
        uid: 'uid-1',
        controller: true,
        blockOwnerDeletion: true,
      });
      assert.equal(object.metadata.namespace, 'consoles');
      assert.equal(object.metadata.labels?.['app.kubernetes.io/instance'], 'console');
      assert.equal(object.metadata.labels?.['app.kubernetes.io/managed-by'], 'wsgate-operator');
    }
  });

  test('pure: same input, same output, input untouched', () => {
    const wsp = example();
    const before = structuredClone(wsp);
    assert.deepEqual(renderAll(wsp, options), renderAll(wsp, options));
    assert.deepEqual(wsp, before);
  });
});

describe('renderAll: what to delete, and isDesired', () => {
  test('each object no longer wanted is named by apiVersion, kind, name and namespace', () => {
    const result = renderAll(fixture({ replicas: 1, networkPolicy: { enabled: false } }), options);
    const ref = (apiVersion: string, kind: string) => ({
      apiVersion,
      kind,
      name: 'console',
      namespace: 'consoles',
    });
    assert.deepEqual(result.delete, [
      ref('cert-manager.io/v1', 'Certificate'),
      ref('networking.k8s.io/v1', 'NetworkPolicy'),
      ref('policy/v1', 'PodDisruptionBudget'),
      ref('autoscaling/v2', 'HorizontalPodAutoscaler'),
      ref('monitoring.coreos.com/v1', 'ServiceMonitor'),
    ]);
  });

  test('isDesired is true for every applied object and false for another name, namespace or kind', () => {
    const result = renderAll(example(), options);
    for (const o of result.apply) {
      const { apiVersion, kind, metadata } = o;
      const ref = { apiVersion, kind, name: metadata.name, namespace: metadata.namespace };
      assert.equal(isDesired(result, ref), true, `${kind}/${metadata.name}`);
      assert.equal(isDesired(result, { ...ref, name: 'other' }), false, `${kind} other name`);
      assert.equal(isDesired(result, { ...ref, namespace: 'other' }), false, `${kind} other ns`);
    }
    const service = { apiVersion: 'v1', kind: 'Service', name: 'console', namespace: 'consoles' };
    assert.equal(isDesired(result, { ...service, kind: 'Secret' }), false);
  });
});
