/**
 * Everything a WebSocketProxy should own, computed in one pure call. The reconcile loop
 * applies `apply` in order (server-side apply, field manager wsgate-operator) and deletes
 * `delete`, which names the owned objects this resource no longer wants.
 */
import type { WebSocketProxy } from '../api/websocketproxy-types.js';
import type { OwnedObject } from '../api/external-types.js';
import { objectNames, refOf, type ObjectRef } from '../objects/names.js';
import { configHash, renderConfigMap } from './configmap.js';
import { renderCertificate } from './certificate.js';
import { renderDeployment } from './deployment.js';
import { renderMetricsService, renderService } from './service.js';
import { renderPodDisruptionBudget } from './pdb.js';
import { renderServiceMonitor } from './servicemonitor.js';
import { renderNetworkPolicy } from './networkpolicy.js';
import { renderHorizontalPodAutoscaler } from './hpa.js';

export * from '../objects/names.js';
export * from '../objects/mounts.js';
export * from './configmap.js';
export * from './certificate.js';
export * from './deployment.js';
export * from './service.js';
export * from './pdb.js';
export * from './servicemonitor.js';
export * from './networkpolicy.js';
export * from './hpa.js';

/** What renderAll needs to know beyond the resource. */
export interface RenderOptions {
  /** The operator's image, used when spec.image is unset. */
  operatorImage: string;
  /** Whether the ServiceMonitor CRD (monitoring.coreos.com) is installed. */
  serviceMonitorAvailable: boolean;
  /** Whether cert-manager's Certificate CRD is installed. Default true. */
  certManagerAvailable?: boolean;
}

/** The desired state of one WebSocketProxy. */
export interface RenderResult {
  /**
   * Objects to apply, in order: ConfigMap, Certificate, Services, NetworkPolicy,
   * Deployment, PodDisruptionBudget, HorizontalPodAutoscaler, ServiceMonitor (config,
   * certificate and isolation before the pods, the autoscaler after its target).
   */
  apply: OwnedObject[];
  /**
   * Owned objects to delete if they exist: those of an optional kind this resource no
   * longer wants. Kinds whose CRD is missing are left out, as nothing of them can exist.
   */
  delete: ObjectRef[];
  /** The config hash on the pod template. */
  configHash: string;
  /** The Secret the pods read their certificate from, if TLS is on. */
  tlsSecretName: string | undefined;
}

/** Renders every owned object of `wsp`; see {@link RenderResult}. */
export function renderAll(wsp: WebSocketProxy, options: RenderOptions): RenderResult {
  const certManager = options.certManagerAvailable ?? true;
  const names = objectNames(wsp);
  const configMap = renderConfigMap(wsp);
  const { namespace } = configMap.metadata;
  const apply: OwnedObject[] = [configMap];
  const remove: ObjectRef[] = [];

  const optional = (
    object: OwnedObject | null,
    available: boolean,
    absent: Omit<ObjectRef, 'namespace'>,
  ): void => {
    if (!available) return;
    if (object) apply.push(object);
    else remove.push({ ...absent, namespace });
  };

  const certificate = renderCertificate(wsp);
  optional(certificate, certManager, {
    apiVersion: 'cert-manager.io/v1',
    kind: 'Certificate',
    name: names.certificate,
  });
  apply.push(renderService(wsp), renderMetricsService(wsp));
  optional(renderNetworkPolicy(wsp), true, {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    name: names.networkPolicy,
  });
  apply.push(renderDeployment(wsp, { operatorImage: options.operatorImage }));
  optional(renderPodDisruptionBudget(wsp), true, {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    name: names.podDisruptionBudget,
  });
  optional(renderHorizontalPodAutoscaler(wsp), true, {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    name: names.horizontalPodAutoscaler,
  });
  optional(renderServiceMonitor(wsp), options.serviceMonitorAvailable, {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'ServiceMonitor',
    name: names.serviceMonitor,
  });
  return {
    apply,
    delete: remove,
    configHash: configHash(configMap.data),
    tlsSecretName: names.tlsSecret,
  };
}

/** Whether `object` is among `result.apply` (same kind, namespace and name). */
export function isDesired(result: RenderResult, object: ObjectRef): boolean {
  return result.apply.some((o) => {
    const ref = refOf(o);
    return (
      ref.kind === object.kind && ref.name === object.name && ref.namespace === object.namespace
    );
  });
}
