/**
 * What render/ (which makes the objects) and status/ (which reads them back) share: the
 * resource's identity, object names, labels, ports and the controller owner reference. Names are fixed per kind, so the reconcile loop can find
 * (and delete) an object it no longer wants without listing.
 */
import type { V1ObjectMeta, V1OwnerReference } from '@kubernetes/client-node';
import { API_VERSION, KIND, type WebSocketProxy } from '../api/websocketproxy-types.js';
import type { OwnedObject } from '../api/external-types.js';

/** Value of app.kubernetes.io/managed-by on every owned object. */
export const MANAGED_BY = 'wsgate-operator';
/** Pod template annotation holding {@link configHash}: a change rolls the pods. */
export const CONFIG_HASH_ANNOTATION = 'wsgate.dev/config-hash';
/** The proxy's metrics listener (/metrics, /healthz, /readyz), fixed in every pod. */
export const METRICS_PORT = 9090;

/** The fields of metadata the renderers cannot do without. */
export interface Identity {
  name: string;
  namespace: string;
  uid: string;
}

/** Returns name, namespace and uid, or throws a TypeError naming the one missing. */
export function identity(wsp: WebSocketProxy): Identity {
  const { name, namespace, uid } = wsp.metadata ?? {};
  for (const [field, value] of Object.entries({ name, namespace, uid })) {
    if (typeof value !== 'string' || value === '') {
      throw new TypeError(`WebSocketProxy metadata.${field} is missing`);
    }
  }
  return { name: name!, namespace: namespace!, uid: uid! };
}

/** Names of the owned objects (and of the TLS Secret, which cert-manager or the user owns). */
export interface ObjectNames {
  configMap: string;
  certificate: string;
  deployment: string;
  service: string;
  metricsService: string;
  podDisruptionBudget: string;
  serviceMonitor: string;
  networkPolicy: string;
  horizontalPodAutoscaler: string;
  /** The Secret with tls.crt and tls.key; undefined without spec.tls. */
  tlsSecret: string | undefined;
}

/** The names of everything made for `wsp` (the CRD keeps metadata.name short enough). */
export function objectNames(wsp: WebSocketProxy): ObjectNames {
  const { name } = identity(wsp);
  const tls = wsp.spec.tls;
  return {
    configMap: name,
    certificate: name,
    deployment: name,
    service: name,
    metricsService: `${name}-metrics`,
    podDisruptionBudget: name,
    serviceMonitor: name,
    networkPolicy: name,
    horizontalPodAutoscaler: name,
    tlsSecret: tls === undefined ? undefined : (tls.secretName ?? `${name}-tls`),
  };
}

/** spec.service.port, else 443 with TLS and 80 without. */
export function servicePort(wsp: WebSocketProxy): number {
  return wsp.spec.service.port ?? (wsp.spec.tls ? 443 : 80);
}

/**
 * Whether the proxy may run more than one pod: spec.replicas above 1, or with
 * spec.autoscaling a maxReplicas above 1. Decides the PodDisruptionBudget and the spread.
 */
export function scalesOut(wsp: WebSocketProxy): boolean {
  const { replicas, autoscaling } = wsp.spec;
  return autoscaling ? autoscaling.maxReplicas > 1 : replicas > 1;
}

/** The labels that select this resource's pods; never overridden by spec.podLabels. */
export function selectorLabels(wsp: WebSocketProxy): Record<string, string> {
  return {
    'app.kubernetes.io/name': 'wsgate',
    'app.kubernetes.io/instance': identity(wsp).name,
    'app.kubernetes.io/component': 'proxy',
  };
}

/** The labels on every owned object: the selector labels plus managed-by. */
export function labels(wsp: WebSocketProxy): Record<string, string> {
  return { ...selectorLabels(wsp), 'app.kubernetes.io/managed-by': MANAGED_BY };
}

/** The selector as a string, for status.selector (the scale subresource reads it). */
export function selectorString(wsp: WebSocketProxy): string {
  return Object.entries(selectorLabels(wsp))
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

/**
 * The controller reference that makes owned objects go with the resource.
 * blockOwnerDeletion needs `update` on websocketproxies/finalizers (see operator/rbac).
 */
export function ownerReference(wsp: WebSocketProxy): V1OwnerReference {
  const { name, uid } = identity(wsp);
  return {
    apiVersion: API_VERSION,
    kind: KIND,
    name,
    uid,
    controller: true,
    blockOwnerDeletion: true,
  };
}

/** Metadata for an owned object: name, namespace, labels, owner and optional annotations. */
export function objectMeta(
  wsp: WebSocketProxy,
  name: string,
  extra: { labels?: Record<string, string>; annotations?: Record<string, string> } = {},
): V1ObjectMeta & { name: string; namespace: string } {
  const meta: V1ObjectMeta & { name: string; namespace: string } = {
    name,
    namespace: identity(wsp).namespace,
    labels: { ...extra.labels, ...labels(wsp) },
    ownerReferences: [ownerReference(wsp)],
  };
  if (extra.annotations && Object.keys(extra.annotations).length > 0) {
    meta.annotations = { ...extra.annotations };
  }
  return meta;
}

/** Names one object to delete: enough for a DELETE request. */
export interface ObjectRef {
  apiVersion: string;
  kind: string;
  name: string;
  namespace: string;
}

/** The {@link ObjectRef} of an owned object. */
export function refOf(object: OwnedObject): ObjectRef {
  const { apiVersion, kind, metadata } = object;
  return { apiVersion, kind, name: metadata.name, namespace: metadata.namespace };
}
