/**
 * The parts of other projects' APIs the operator writes or reads: cert-manager's
 * Certificate and issuers (cert-manager.io/v1) and prometheus-operator's ServiceMonitor
 * (monitoring.coreos.com/v1). Their fields come from the maintained models generated from
 * those projects' APIs (@kubernetes-models/cert-manager, @kubernetes-models/prometheus-operator).
 * Only their types are imported: the packages are dev dependencies, so nothing of them is
 * in the image or loaded at start-up (eslint.config.js refuses a value import). Declared
 * here is only what no package knows: the metadata of an object the operator owns.
 */
import type { V1ObjectMeta } from '@kubernetes/client-node';
import type { ICertificate } from '@kubernetes-models/cert-manager/cert-manager.io/v1/Certificate';
import type { ICertificateCondition } from '@kubernetes-models/cert-manager/cert-manager.io/v1/CertificateCondition';
import type { IClusterIssuer } from '@kubernetes-models/cert-manager/cert-manager.io/v1/ClusterIssuer';
import type { IIssuer } from '@kubernetes-models/cert-manager/cert-manager.io/v1/Issuer';
import type { IIssuerCondition } from '@kubernetes-models/cert-manager/cert-manager.io/v1/IssuerCondition';
import type { IServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor';

/** An object the operator owns: what server-side apply and deletion need to name it. */
export interface OwnedObject {
  apiVersion: string;
  kind: string;
  metadata: V1ObjectMeta & { name: string; namespace: string };
}

/**
 * A package model as the operator writes it: the package's fields with the metadata of
 * every owned object (client-node's, as for the core kinds) and the spec the operator
 * always sets (the models leave it optional where the CRD does).
 */
type Owned<T extends { metadata?: unknown; spec?: unknown }> = Omit<T, 'metadata' | 'spec'> &
  OwnedObject & { spec: NonNullable<T['spec']> };

/** The API group of a model's `apiVersion` (`group/version`). */
type GroupOf<T extends { apiVersion: string }> = T['apiVersion'] extends `${infer G}/${string}`
  ? G
  : never;

/** A condition as cert-manager reports it on Certificates and issuers. */
export type ExternalCondition = ICertificateCondition | IIssuerCondition;

/** cert-manager API group. */
export const CERT_MANAGER_GROUP: GroupOf<ICertificate> = 'cert-manager.io';
/** The CRD whose presence means cert-manager is installed. */
export const CERTIFICATE_CRD = 'certificates.cert-manager.io';

/** cert-manager.io/v1 Certificate. */
export type Certificate = Owned<ICertificate>;

/** An Issuer or ClusterIssuer (any issuer kind): only its readiness (status) matters here. */
export type Issuer = Pick<IIssuer | IClusterIssuer, 'status'>;

/** prometheus-operator API group. */
export const MONITORING_GROUP: GroupOf<IServiceMonitor> = 'monitoring.coreos.com';
/** The CRD whose presence means ServiceMonitors can be made. */
export const SERVICE_MONITOR_CRD = 'servicemonitors.monitoring.coreos.com';

/** monitoring.coreos.com/v1 ServiceMonitor. */
export type ServiceMonitor = Owned<IServiceMonitor>;
