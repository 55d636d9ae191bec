/**
 * The Available condition, from the proxy Deployment. Its own Available condition decides
 * (with maxUnavailable 0 it means every desired pod is available). The operator does not
 * read Pods (least privilege), so why a pod fails (an image pull, a crash loop) is for
 * `kubectl describe pod`; ProgressDeadlineExceeded says when a rollout stopped.
 */
import type { WebSocketProxy } from '../api/websocketproxy-types.js';
import { ConditionType, getCondition, Reason, type ConditionUpdate } from './conditions.js';
import { objectNames } from '../objects/names.js';
import type { Observed } from './types.js';

/** Computes Available for `wsp` from what was observed. */
export function availableCondition(wsp: WebSocketProxy, observed: Observed): ConditionUpdate {
  const type = ConditionType.Available;
  const deployment = observed.deployment;
  if (!deployment) {
    return {
      type,
      status: 'False',
      reason: Reason.DeploymentPending,
      message: `Deployment ${objectNames(wsp).deployment} is not created yet`,
    };
  }
  // An autoscaled Deployment's own replicas is the autoscaler's current choice.
  const autoscaling = wsp.spec.autoscaling;
  const desired = autoscaling
    ? (deployment.spec?.replicas ?? autoscaling.minReplicas)
    : wsp.spec.replicas;
  if (desired === 0 && !autoscaling) {
    return { type, status: 'False', reason: Reason.ScaledToZero, message: 'spec.replicas is 0' };
  }
  const ready = deployment.status?.readyReplicas ?? 0;
  const count = `${ready}/${desired} replicas ready`;
  const available = getCondition(deployment.status?.conditions, 'Available');
  if (available?.status === 'True' && (deployment.status?.availableReplicas ?? 0) > 0) {
    return { type, status: 'True', reason: Reason.MinimumReplicasAvailable, message: count };
  }
  const progressing = getCondition(deployment.status?.conditions, 'Progressing');
  if (progressing?.status === 'False' && progressing.reason === 'ProgressDeadlineExceeded') {
    return {
      type,
      status: 'False',
      reason: Reason.ProgressDeadlineExceeded,
      message: `${count}; ${progressing.message ?? 'the rollout stopped making progress'}`,
    };
  }
  return { type, status: 'False', reason: Reason.ReplicasUnavailable, message: count };
}
