/** The HorizontalPodAutoscaler, and what autoscaling changes in the other objects. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  autoscalerMetrics,
  renderHorizontalPodAutoscaler,
  scaleDownPeriodSeconds,
} from '../../operator/src/render/hpa.js';
import { renderDeployment } from '../../operator/src/render/deployment.js';
import { renderPodDisruptionBudget } from '../../operator/src/render/pdb.js';
import { fixture } from './helpers.js';

const CPU_70 = {
  type: 'Resource',
  resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } },
};

describe('renderHorizontalPodAutoscaler', () => {
  test('null without spec.autoscaling', () => {
    assert.equal(renderHorizontalPodAutoscaler(fixture()), null);
  });

  test('autoscaling/v2 on the Deployment, CPU 70% and min 2 by default', () => {
    const hpa = renderHorizontalPodAutoscaler(fixture({ autoscaling: { maxReplicas: 10 } }));
    assert.ok(hpa);
    assert.equal(hpa.apiVersion, 'autoscaling/v2');
    assert.equal(hpa.metadata.name, 'console');
    assert.deepEqual(hpa.spec.scaleTargetRef, {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      name: 'console',
    });
    assert.equal(hpa.spec.minReplicas, 2);
    assert.equal(hpa.spec.maxReplicas, 10);
    assert.deepEqual(hpa.spec.metrics, [CPU_70]);
  });

  test('sessions per pod as a Pods metric, under the configured name', () => {
    const metrics = (autoscaling: Record<string, unknown>) =>
      renderHorizontalPodAutoscaler(
        fixture({ autoscaling: { maxReplicas: 10, targetSessionsPerPod: 200, ...autoscaling } }),
      )?.spec.metrics;
    const pods = (name: string) => ({
      type: 'Pods',
      pods: { metric: { name }, target: { type: 'AverageValue', averageValue: '200' } },
    });
    assert.deepEqual(metrics({}), [CPU_70, pods('wsgate_connections_active')]);
    assert.deepEqual(
      metrics({ sessionsMetric: 'wsgate_sessions', targetCPUUtilizationPercentage: 50 }),
      [
        {
          ...CPU_70,
          resource: { ...CPU_70.resource, target: { type: 'Utilization', averageUtilization: 50 } },
        },
        pods('wsgate_sessions'),
      ],
    );
  });

  test('scale-down: one pod per grace period after a 5 min stabilization', () => {
    const hpa = renderHorizontalPodAutoscaler(
      fixture({ autoscaling: { minReplicas: 1, maxReplicas: 4 }, drainTimeoutSeconds: 120 }),
    );
    assert.deepEqual(hpa?.spec.behavior, {
      scaleDown: {
        stabilizationWindowSeconds: 300,
        selectPolicy: 'Min',
        policies: [{ type: 'Pods', value: 1, periodSeconds: 130 }],
      },
    });
  });

  const periods: [number, number][] = [
    [0, 15], // grace 10 s, raised to the API's floor of 15
    [30, 40],
    [3600, 1800], // the API's ceiling
  ];
  for (const [drain, period] of periods) {
    test(`drainTimeoutSeconds ${drain}: scale-down period ${period} s`, () => {
      const wsp = fixture({ autoscaling: { maxReplicas: 3 }, drainTimeoutSeconds: drain });
      assert.equal(scaleDownPeriodSeconds(wsp), period);
    });
  }
});

describe('autoscaling and the other objects', () => {
  const options = { operatorImage: 'i' };

  test('the Deployment leaves replicas out while autoscaling, sets it otherwise', () => {
    const scaled = renderDeployment(
      fixture({ replicas: 3, autoscaling: { maxReplicas: 5 } }),
      options,
    );
    assert.equal('replicas' in scaled.spec, false);
    assert.equal(renderDeployment(fixture({ replicas: 3 }), options).spec.replicas, 3);
  });

  test('the grace period keeps covering preStop and the drain', () => {
    const wsp = fixture({ autoscaling: { maxReplicas: 5 }, drainTimeoutSeconds: 90 });
    assert.equal(
      renderDeployment(wsp, options).spec.template.spec?.terminationGracePeriodSeconds,
      100,
    );
  });

  const budgets: [string, Parameters<typeof fixture>[0], boolean][] = [
    [
      'max above 1: a budget, whatever spec.replicas says',
      { replicas: 1, autoscaling: { minReplicas: 1, maxReplicas: 3 } },
      true,
    ],
    ['max 1: none', { replicas: 3, autoscaling: { minReplicas: 1, maxReplicas: 1 } }, false],
  ];
  for (const [name, spec, wanted] of budgets) {
    test(`PodDisruptionBudget: ${name}`, () => {
      assert.equal(renderPodDisruptionBudget(fixture(spec)) !== null, wanted);
    });
    test(`spread: ${name.replace('a budget', 'spread')}`, () => {
      const pod = renderDeployment(fixture(spec), options).spec.template.spec!;
      assert.equal(pod.topologySpreadConstraints !== undefined, wanted);
    });
  }
});

describe('autoscalerMetrics', () => {
  test('no metrics without spec.autoscaling', () => {
    assert.deepEqual(autoscalerMetrics(fixture()), []);
  });
});
