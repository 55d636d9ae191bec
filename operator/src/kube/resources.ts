/**
 * The API resources the operator reads or writes, and their URL paths. A fixed table
 * instead of discovery: every kind is known in advance, and an optional kind whose CRD
 * is missing is simply never asked for (the CRD watch says when it appears).
 */
import { GROUP, KIND, PLURAL, VERSION } from '../api/websocketproxy-types.js';
import { CERT_MANAGER_GROUP, MONITORING_GROUP } from '../api/external-types.js';

/** One API resource: group/version, kind, plural and scope. */
export interface ResourceType {
  /** '' for the core group. */
  group: string;
  version: string;
  kind: string;
  plural: string;
  namespaced: boolean;
}

function resource(
  group: string,
  version: string,
  kind: string,
  plural: string,
  namespaced = true,
): ResourceType {
  return Object.freeze({ group, version, kind, plural, namespaced });
}

/** Every resource the operator uses. */
export const Resources = {
  WebSocketProxy: resource(GROUP, VERSION, KIND, PLURAL),
  ConfigMap: resource('', 'v1', 'ConfigMap', 'configmaps'),
  Service: resource('', 'v1', 'Service', 'services'),
  Secret: resource('', 'v1', 'Secret', 'secrets'),
  Deployment: resource('apps', 'v1', 'Deployment', 'deployments'),
  PodDisruptionBudget: resource('policy', 'v1', 'PodDisruptionBudget', 'poddisruptionbudgets'),
  NetworkPolicy: resource('networking.k8s.io', 'v1', 'NetworkPolicy', 'networkpolicies'),
  HorizontalPodAutoscaler: resource(
    'autoscaling',
    'v2',
    'HorizontalPodAutoscaler',
    'horizontalpodautoscalers',
  ),
  Certificate: resource(CERT_MANAGER_GROUP, 'v1', 'Certificate', 'certificates'),
  Issuer: resource(CERT_MANAGER_GROUP, 'v1', 'Issuer', 'issuers'),
  ClusterIssuer: resource(CERT_MANAGER_GROUP, 'v1', 'ClusterIssuer', 'clusterissuers', false),
  ServiceMonitor: resource(MONITORING_GROUP, 'v1', 'ServiceMonitor', 'servicemonitors'),
  CustomResourceDefinition: resource(
    'apiextensions.k8s.io',
    'v1',
    'CustomResourceDefinition',
    'customresourcedefinitions',
    false,
  ),
  Lease: resource('coordination.k8s.io', 'v1', 'Lease', 'leases'),
  Event: resource('events.k8s.io', 'v1', 'Event', 'events'),
} as const;

/** `apiVersion` of a resource: `v1` or `group/version`. */
function apiVersionOf(r: ResourceType): string {
  return r.group === '' ? r.version : `${r.group}/${r.version}`;
}

/** The resource for an object's apiVersion and kind; throws for a kind not in the table. */
export function resourceFor(apiVersion: string, kind: string): ResourceType {
  for (const r of Object.values(Resources)) {
    if (r.kind === kind && apiVersionOf(r) === apiVersion) return r;
  }
  throw new TypeError(`no resource known for ${apiVersion} ${kind}`);
}

/**
 * The collection path: `/api/v1/namespaces/NS/configmaps`, or every namespace's
 * (`/api/v1/configmaps`) when `namespace` is undefined.
 */
export function collectionPath(r: ResourceType, namespace?: string): string {
  const root = r.group === '' ? `/api/${r.version}` : `/apis/${r.group}/${r.version}`;
  if (r.namespaced && namespace !== undefined) {
    return `${root}/namespaces/${encodeURIComponent(namespace)}/${r.plural}`;
  }
  return `${root}/${r.plural}`;
}

/** The path of one object (and optionally a subresource such as `status`). */
export function objectPath(
  r: ResourceType,
  namespace: string | undefined,
  name: string,
  subresource?: string,
): string {
  if (r.namespaced && namespace === undefined) {
    throw new TypeError(`${r.kind} ${name}: a namespace is required`);
  }
  const path = `${collectionPath(r, r.namespaced ? namespace : undefined)}/${encodeURIComponent(name)}`;
  return subresource ? `${path}/${subresource}` : path;
}
