/** The PodDisruptionBudget, made only when there is more than one pod to keep. */
import type { V1PodDisruptionBudget, V1PodDisruptionBudgetSpec } from '@kubernetes/client-node';
import type { WebSocketProxy } from '../api/websocketproxy-types.js';
import type { OwnedObject } from '../api/external-types.js';
import { objectMeta, objectNames, scalesOut, selectorLabels } from '../objects/names.js';

/** A rendered PodDisruptionBudget. */
export type PodDisruptionBudgetObject = V1PodDisruptionBudget &
  OwnedObject & { spec: V1PodDisruptionBudgetSpec };

/**
 * Returns the budget when there may be more than one pod ({@link scalesOut}: spec.replicas
 * above 1, or an autoscaler's maxReplicas above 1), else null (a budget for one pod would
 * block node drains outright). maxUnavailable 1 unless spec.podDisruptionBudget says otherwise.
 * Unhealthy pods may always be evicted, so a crash-looping pod cannot hold a drain.
 */
export function renderPodDisruptionBudget(wsp: WebSocketProxy): PodDisruptionBudgetObject | null {
  if (!scalesOut(wsp)) return null;
  const budget = wsp.spec.podDisruptionBudget ?? {};
  const spec: V1PodDisruptionBudgetSpec = {
    selector: { matchLabels: selectorLabels(wsp) },
    unhealthyPodEvictionPolicy: 'AlwaysAllow',
  };
  if (budget.minAvailable !== undefined) spec.minAvailable = budget.minAvailable;
  else spec.maxUnavailable = budget.maxUnavailable ?? 1;
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: objectMeta(wsp, objectNames(wsp).podDisruptionBudget),
    spec,
  };
}
