/**
 * The HorizontalPodAutoscaler (autoscaling/v2) on the proxy Deployment, made while
 * spec.autoscaling is set. It scales on CPU, and optionally on open sessions per pod (a
 * Pods metric a metrics adapter serves). Scale-down is paced by the drain: at most one pod
 * per termination grace period, so each console a scale-down cuts gets its
 * drainTimeoutSeconds before the next pod starts draining.
 */
import type {
  V2HorizontalPodAutoscaler,
  V2HorizontalPodAutoscalerSpec,
  V2MetricSpec,
} from '@kubernetes/client-node';
import type { WebSocketProxy } from '../api/websocketproxy-types.js';
import type { OwnedObject } from '../api/external-types.js';
import { objectMeta, objectNames } from '../objects/names.js';
import { terminationGracePeriodSeconds } from './deployment.js';

/** A rendered HorizontalPodAutoscaler. */
export type HorizontalPodAutoscalerObject = V2HorizontalPodAutoscaler &
  OwnedObject & { spec: V2HorizontalPodAutoscalerSpec };

/** Seconds the autoscaler waits for a lower recommendation to hold before scaling down. */
export const SCALE_DOWN_STABILIZATION_SECONDS = 300;

/**
 * The period of the one-pod-at-a-time scale-down policy: the pods' grace period (preStop,
 * drain, exit margin), within the 15-1800 s the API allows.
 */
export function scaleDownPeriodSeconds(wsp: WebSocketProxy): number {
  return Math.min(1800, Math.max(15, terminationGracePeriodSeconds(wsp)));
}

/** The metrics the autoscaler follows: CPU, then sessions per pod if a target is set. */
export function autoscalerMetrics(wsp: WebSocketProxy): V2MetricSpec[] {
  const autoscaling = wsp.spec.autoscaling;
  if (!autoscaling) return [];
  const metrics: V2MetricSpec[] = [
    {
      type: 'Resource',
      resource: {
        name: 'cpu',
        target: {
          type: 'Utilization',
          averageUtilization: autoscaling.targetCPUUtilizationPercentage,
        },
      },
    },
  ];
  if (autoscaling.targetSessionsPerPod !== undefined) {
    metrics.push({
      type: 'Pods',
      pods: {
        metric: { name: autoscaling.sessionsMetric },
        target: { type: 'AverageValue', averageValue: String(autoscaling.targetSessionsPerPod) },
      },
    });
  }
  return metrics;
}

/** Returns the autoscaler when spec.autoscaling is set, else null. */
export function renderHorizontalPodAutoscaler(
  wsp: WebSocketProxy,
): HorizontalPodAutoscalerObject | null {
  const autoscaling = wsp.spec.autoscaling;
  if (!autoscaling) return null;
  const names = objectNames(wsp);
  return {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: objectMeta(wsp, names.horizontalPodAutoscaler),
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: names.deployment },
      minReplicas: autoscaling.minReplicas,
      maxReplicas: autoscaling.maxReplicas,
      metrics: autoscalerMetrics(wsp),
      behavior: {
        scaleDown: {
          stabilizationWindowSeconds: SCALE_DOWN_STABILIZATION_SECONDS,
          selectPolicy: 'Min',
          policies: [{ type: 'Pods', value: 1, periodSeconds: scaleDownPeriodSeconds(wsp) }],
        },
      },
    },
  };
}
