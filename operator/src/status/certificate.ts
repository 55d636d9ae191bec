/**
 * The CertificateReady condition. With issuerRef it follows cert-manager: installed, the
 * issuer found and ready, the Certificate made, observed and Ready. With secretName it
 * checks the brought Secret. Without TLS it is True (nothing to wait for).
 */
import type { WebSocketProxy } from '../api/websocketproxy-types.js';
import { CERT_MANAGER_GROUP, type ExternalCondition } from '../api/external-types.js';
import { ConditionType, getCondition, Reason, type ConditionUpdate } from './conditions.js';
import { objectNames } from '../objects/names.js';
import { findMount } from '../objects/mounts.js';
import { checkSecret } from './secrets.js';
import { firstFailure, type Observed, type Policy } from './types.js';

/** What the certificate policies look at. */
export interface CertificateInput {
  wsp: WebSocketProxy;
  observed: Observed;
}

const ready = (conditions?: ExternalCondition[]) => getCondition(conditions, 'Ready');

function issuerLabel({ wsp }: CertificateInput): string {
  const ref = wsp.spec.tls!.issuerRef!;
  const where = ref.kind === 'ClusterIssuer' ? '' : ` in namespace ${wsp.metadata?.namespace}`;
  return `${ref.kind} ${ref.name}${where}`;
}

/** The issuerRef policies, in the order they are decided. */
export const issuerPolicies: readonly Policy<CertificateInput>[] = [
  ({ observed }) =>
    observed.certManagerInstalled
      ? null
      : {
          reason: Reason.CertManagerMissing,
          message:
            'cert-manager is not installed (no certificates.cert-manager.io CRD): install it, or use spec.tls.secretName',
        },
  (input) =>
    input.observed.issuer === null
      ? { reason: Reason.IssuerNotFound, message: `${issuerLabel(input)} not found` }
      : null,
  (input) => {
    const condition = ready(input.observed.issuer?.status?.conditions);
    return condition && condition.status !== 'True'
      ? {
          reason: Reason.IssuerNotReady,
          message: `${issuerLabel(input)} is not ready: ${condition.message ?? condition.reason ?? 'no message'}`,
        }
      : null;
  },
  ({ wsp, observed }) =>
    observed.certificate
      ? null
      : {
          reason: Reason.CertificatePending,
          message: `Certificate ${objectNames(wsp).certificate} is not created yet`,
        },
  ({ observed }) => {
    const cert = observed.certificate!;
    const condition = ready(cert.status?.conditions);
    const generation = cert.metadata.generation;
    if (
      !condition ||
      (generation !== undefined && (condition.observedGeneration ?? generation) < generation)
    ) {
      return {
        reason: Reason.CertificatePending,
        message: 'waiting for cert-manager to issue the certificate',
      };
    }
    if (condition.status === 'True') return null;
    // Ready is False while cert-manager issues (DoesNotExist, then InProgress): that is
    // progress, not failure, as long as the Issuing condition says it is working on it.
    const issuing = getCondition(cert.status?.conditions, 'Issuing');
    if (issuing?.status === 'True') {
      return {
        reason: Reason.CertificatePending,
        message:
          `cert-manager is issuing the certificate: ${issuing.message ?? issuing.reason ?? ''}`.trim(),
      };
    }
    return {
      reason: Reason.CertificateNotReady,
      message: `cert-manager: ${condition.reason ?? 'NotReady'}: ${condition.message ?? ''}`.trim(),
    };
  },
];

/** The issuer to GET for {@link Observed.issuer}: cert-manager's own kinds only. */
export interface IssuerLookup {
  group: string;
  /** Resource name: issuers or clusterissuers. */
  plural: 'issuers' | 'clusterissuers';
  name: string;
  /** Undefined for a ClusterIssuer (cluster-scoped). */
  namespace: string | undefined;
}

/**
 * What to look up for spec.tls.issuerRef, or null when there is nothing the operator may
 * read: no issuerRef, or an external issuer group (the RBAC grants only cert-manager.io
 * issuers; cert-manager's Certificate status still reports on those).
 */
export function issuerToCheck(wsp: WebSocketProxy): IssuerLookup | null {
  const ref = wsp.spec.tls?.issuerRef;
  if (!ref || ref.group !== CERT_MANAGER_GROUP) return null;
  const cluster = ref.kind === 'ClusterIssuer';
  return {
    group: ref.group,
    plural: cluster ? 'clusterissuers' : 'issuers',
    name: ref.name,
    namespace: cluster ? undefined : wsp.metadata?.namespace,
  };
}

/** Computes CertificateReady for `wsp` from what was observed. */
export function certificateReadyCondition(
  wsp: WebSocketProxy,
  observed: Observed,
): ConditionUpdate {
  const type = ConditionType.CertificateReady;
  const tls = wsp.spec.tls;
  if (!tls) {
    return {
      type,
      status: 'True',
      reason: Reason.TLSDisabled,
      message: 'spec.tls is not set: the proxy serves ws://',
    };
  }
  const secret = objectNames(wsp).tlsSecret!;
  if (tls.issuerRef) {
    const failure = firstFailure(issuerPolicies, { wsp, observed });
    if (failure) return { type, status: 'False', ...failure };
    const notAfter = observed.certificate?.status?.notAfter;
    const until = notAfter ? `, valid until ${notAfter}` : '';
    return {
      type,
      status: 'True',
      reason: Reason.CertificateIssued,
      message: `issued into Secret ${secret}${until}`,
    };
  }
  const mount = findMount(wsp, 'tls')!;
  const seen = observed.secrets?.[secret];
  const failure = checkSecret(mount, seen, {
    missing: Reason.TLSSecretNotFound,
    badKey: Reason.TLSSecretInvalid,
  });
  if (failure) return { type, status: 'False', ...failure };
  if (seen?.state !== 'found') {
    return {
      type,
      status: 'True',
      reason: Reason.SecretNotVerified,
      message: `Secret ${secret} not verified (${seen?.state === 'unknown' ? seen.why : 'not checked'}); pod readiness will tell`,
    };
  }
  return { type, status: 'True', reason: Reason.SecretFound, message: `using Secret ${secret}` };
}
