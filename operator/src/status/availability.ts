/**
 * The Available condition, from the proxy Deployment and its pods. The Deployment's own
 * Available condition decides (with maxUnavailable 0 it means every desired pod is
 * available); pods only add why they fail, which the Deployment does not say.
 */
import type { V1Deployment, V1Pod } from '@kubernetes/client-node';
import type { WebSocketProxy } from '../api/websocketproxy-types.js';
import { ConditionType, Reason, type ConditionUpdate } from '../conditions.js';
import { objectNames } from '../render/common.js';
import type { Observed } from './types.js';

/** Container waiting reasons that will not clear by themselves. */
const STUCK = new Set([
  'CrashLoopBackOff',
  'ImagePullBackOff',
  'ErrImagePull',
  'InvalidImageName',
  'CreateContainerConfigError',
  'CreateContainerError',
  'RunContainerError',
]);

/** The first stuck container among `pods`, as "pod NAME: REASON: message". */
export function podProblem(pods: readonly V1Pod[] | undefined): string | null {
  for (const pod of pods ?? []) {
    for (const status of [
      ...(pod.status?.initContainerStatuses ?? []),
      ...(pod.status?.containerStatuses ?? []),
    ]) {
      const waiting = status.state?.waiting;
      if (waiting?.reason && STUCK.has(waiting.reason)) {
        const detail = waiting.message ? `: ${waiting.message}` : '';
        return `pod ${pod.metadata?.name ?? '?'}: ${waiting.reason}${detail}`;
      }
    }
  }
  return null;
}

function deploymentCondition(deployment: V1Deployment, type: string) {
  return deployment.status?.conditions?.find((c) => c.type === type);
}

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
  const desired = wsp.spec.replicas;
  if (desired === 0) {
    return { type, status: 'False', reason: Reason.ScaledToZero, message: 'spec.replicas is 0' };
  }
  const ready = deployment.status?.readyReplicas ?? 0;
  const count = `${ready}/${desired} replicas ready`;
  const problem = podProblem(observed.pods);
  const available = deploymentCondition(deployment, 'Available');
  if (available?.status === 'True' && (deployment.status?.availableReplicas ?? 0) > 0) {
    const note = problem ? `; rollout blocked by ${problem}` : '';
    return { type, status: 'True', reason: Reason.MinimumReplicasAvailable, message: count + note };
  }
  const progressing = deploymentCondition(deployment, 'Progressing');
  if (progressing?.status === 'False' && progressing.reason === 'ProgressDeadlineExceeded') {
    return {
      type,
      status: 'False',
      reason: Reason.ProgressDeadlineExceeded,
      message: `${count}; ${problem ?? progressing.message ?? 'the rollout stopped making progress'}`,
    };
  }
  if (problem)
    return { type, status: 'False', reason: Reason.PodsFailing, message: `${count}; ${problem}` };
  return { type, status: 'False', reason: Reason.ReplicasUnavailable, message: count };
}
