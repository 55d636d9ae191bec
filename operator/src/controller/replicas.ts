/**
 * Who owns the Deployment's `replicas`. Without spec.autoscaling the operator applies it
 * (spec.replicas) and takes it back from anyone who changed it. With spec.autoscaling the
 * operator applies the Deployment without it, so the autoscaler's scale stays.
 *
 * Server-side apply removes a field its last owner stops applying: dropping `replicas`
 * from the operator's apply alone would reset the Deployment to the default of 1 pod.
 * So before the first apply without it, a second field manager
 * ({@link HANDOVER_MANAGER}) applies just `replicas` with the live value and stays its
 * co-owner; the autoscaler's scale updates then take it over. Turning autoscaling off
 * applies `replicas` again, with force, which takes it back from both.
 */
import { FIELD_MANAGER } from '../api/index.js';
import type { OwnedObject } from '../api/external-types.js';
import type { WebSocketProxy } from '../api/websocketproxy-types.js';
import type { KubeClient } from '../kube/client.js';
import type { KubeObject } from '../kube/list-watch-cache.js';
import { objectPath, Resources } from '../kube/resources.js';
import type { DeploymentObject } from '../render/deployment.js';
import type { ClusterView } from './watches.js';

/** The field manager that holds `replicas` while the operator hands it to an autoscaler. */
export const HANDOVER_MANAGER = 'wsgate-operator-handover';

interface ManagedField {
  manager?: string;
  operation?: string;
  subresource?: string;
  fieldsV1?: Record<string, unknown>;
}

function replicasEntry(entry: ManagedField): boolean {
  const spec = entry.fieldsV1?.['f:spec'] as Record<string, unknown> | undefined;
  return (
    entry.manager === FIELD_MANAGER &&
    entry.operation === 'Apply' &&
    !entry.subresource &&
    spec?.['f:replicas'] !== undefined
  );
}

/** Whether the operator's own apply owns spec.replicas of `deployment` (its managedFields). */
export function ownsReplicas(deployment: KubeObject): boolean {
  const fields = (deployment.metadata?.managedFields ?? []) as ManagedField[];
  return fields.some(replicasEntry);
}

/**
 * The cache keeps no managedFields (they are large) but for this one fact: an entry saying
 * the operator's apply owns spec.replicas, reduced to that field.
 */
export function slimDeployment<T extends KubeObject>(deployment: T): T {
  const meta = deployment.metadata;
  if (!meta?.managedFields) return deployment;
  const owns = ownsReplicas(deployment);
  delete meta.managedFields;
  if (owns) {
    meta.managedFields = [
      { manager: FIELD_MANAGER, operation: 'Apply', fieldsV1: { 'f:spec': { 'f:replicas': {} } } },
    ];
  }
  return deployment;
}

function isDeployment(object: OwnedObject): object is DeploymentObject {
  return object.kind === 'Deployment';
}

/**
 * Prepares `objects` (renderAll's apply list) for an autoscaled `wsp`. A Deployment not
 * created yet goes out with minReplicas (not the default 1 pod), owned by the operator for
 * now; once it exists and the operator still owns `replicas`, {@link HANDOVER_MANAGER}
 * applies the live value, so the operator's apply without it leaves it in place. Returns
 * the objects to apply. Does nothing without autoscaling or once handed over.
 */
export async function handOverReplicas(
  client: KubeClient,
  view: ClusterView,
  wsp: WebSocketProxy,
  objects: OwnedObject[],
): Promise<OwnedObject[]> {
  const autoscaling = wsp.spec.autoscaling;
  const desired = objects.find(isDeployment);
  if (!autoscaling || !desired) return objects;
  const { name, namespace } = desired.metadata;
  const live = view.owned('Deployment', namespace, name) as DeploymentObject | undefined;
  if (!live) {
    // Its add event brings the next reconcile, which hands replicas over.
    const first = { ...desired, spec: { ...desired.spec, replicas: autoscaling.minReplicas } };
    return objects.map((o) => (o === desired ? first : o));
  }
  if (ownsReplicas(live)) {
    const replicas = live.spec?.replicas ?? autoscaling.minReplicas;
    const share = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace } };
    const path = objectPath(Resources.Deployment, namespace, name);
    await client.apply(path, { ...share, spec: { replicas } }, HANDOVER_MANAGER);
  }
  return objects;
}
