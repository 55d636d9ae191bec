/**
 * The parts of other projects' APIs the operator writes or reads: cert-manager's
 * Certificate (and the Ready condition of issuers) and prometheus-operator's
 * ServiceMonitor. Only the fields used here are declared; both projects' CRDs are the
 * reference (cert-manager.io/v1, monitoring.coreos.com/v1).
 */
import type { V1ObjectMeta } from '@kubernetes/client-node';

/** An object the operator owns: what server-side apply and deletion need to name it. */
export interface OwnedObject {
  apiVersion: string;
  kind: string;
  metadata: V1ObjectMeta & { name: string; namespace: string };
}

/** A condition as cert-manager reports it on Certificates and issuers. */
export interface ExternalCondition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
  observedGeneration?: number;
}

/** cert-manager API group. */
export const CERT_MANAGER_GROUP = 'cert-manager.io';
/** The CRD whose presence means cert-manager is installed. */
export const CERTIFICATE_CRD = 'certificates.cert-manager.io';

/** cert-manager.io/v1 Certificate, as far as the operator uses it. */
export interface Certificate extends OwnedObject {
  spec: {
    secretName: string;
    issuerRef: { name: string; kind?: string; group?: string };
    dnsNames?: string[];
    ipAddresses?: string[];
    duration?: string;
    renewBefore?: string;
    privateKey?: { algorithm?: string; size?: number; rotationPolicy?: string };
    secretTemplate?: { labels?: Record<string, string>; annotations?: Record<string, string> };
  };
  status?: {
    conditions?: ExternalCondition[];
    notBefore?: string;
    notAfter?: string;
    renewalTime?: string;
    revision?: number;
  };
}

/** An Issuer or ClusterIssuer (any issuer kind): only its readiness matters here. */
export interface Issuer {
  apiVersion?: string;
  kind?: string;
  metadata?: V1ObjectMeta;
  status?: { conditions?: ExternalCondition[] };
}

/** prometheus-operator API group. */
export const MONITORING_GROUP = 'monitoring.coreos.com';
/** The CRD whose presence means ServiceMonitors can be made. */
export const SERVICE_MONITOR_CRD = 'servicemonitors.monitoring.coreos.com';

/** monitoring.coreos.com/v1 ServiceMonitor, as far as the operator uses it. */
export interface ServiceMonitor extends OwnedObject {
  spec: {
    selector: { matchLabels: Record<string, string> };
    namespaceSelector?: { matchNames: string[] };
    endpoints: {
      port: string;
      path?: string;
      scheme?: 'http' | 'https';
      interval?: string;
    }[];
  };
}
