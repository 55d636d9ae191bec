/**
 * Condition types and reasons of WebSocketProxy status, and the one way to set them.
 * Reasons are stable API: tools and alerts match on them, so add, never rename.
 */
import type { Condition } from '../api/websocketproxy-types.js';

/** The condition types, in the order status lists them. */
export const ConditionType = {
  /** All of ConfigValid, CertificateReady and Available are True. */
  Ready: 'Ready',
  /** The spec makes sense and every Secret it names exists with its key. */
  ConfigValid: 'ConfigValid',
  /** The TLS certificate is issued (or brought) and usable; True when TLS is off. */
  CertificateReady: 'CertificateReady',
  /** Enough proxy pods are ready to accept upgrades. */
  Available: 'Available',
} as const;

/** One of {@link ConditionType}. */
export type ConditionTypeName = (typeof ConditionType)[keyof typeof ConditionType];

/** Condition reasons, grouped by the condition that uses them. */
export const Reason = {
  // Ready
  AllReady: 'AllReady',
  // ConfigValid
  Valid: 'Valid',
  InvalidTarget: 'InvalidTarget',
  InvalidOrigin: 'InvalidOrigin',
  InvalidLabels: 'InvalidLabels',
  InvalidAnnotations: 'InvalidAnnotations',
  InvalidSpec: 'InvalidSpec',
  SecretNotFound: 'SecretNotFound',
  SecretKeyNotFound: 'SecretKeyNotFound',
  ServiceMonitorUnavailable: 'ServiceMonitorUnavailable',
  // CertificateReady
  TLSDisabled: 'TLSDisabled',
  CertificateIssued: 'CertificateIssued',
  SecretFound: 'SecretFound',
  SecretNotVerified: 'SecretNotVerified',
  CertManagerMissing: 'CertManagerMissing',
  IssuerNotFound: 'IssuerNotFound',
  IssuerNotReady: 'IssuerNotReady',
  CertificatePending: 'CertificatePending',
  CertificateNotReady: 'CertificateNotReady',
  TLSSecretNotFound: 'TLSSecretNotFound',
  TLSSecretInvalid: 'TLSSecretInvalid',
  // Available
  MinimumReplicasAvailable: 'MinimumReplicasAvailable',
  DeploymentPending: 'DeploymentPending',
  ScaledToZero: 'ScaledToZero',
  ReplicasUnavailable: 'ReplicasUnavailable',
  ProgressDeadlineExceeded: 'ProgressDeadlineExceeded',
} as const;

/** One of {@link Reason}. */
export type ReasonName = (typeof Reason)[keyof typeof Reason];

/** What a policy decides about one condition; setCondition adds the bookkeeping. */
export interface ConditionUpdate {
  type: string;
  status: Condition['status'];
  reason: string;
  message: string;
}

/** The condition of `type`, if present, in ours or any Kubernetes-style list (a CRD's, ...). */
export function getCondition<C extends { type: string }>(
  conditions: readonly C[] | undefined,
  type: string,
): C | undefined {
  return conditions?.find((c) => c.type === type);
}

/** Whether the condition of `type` is present and True. */
export function isTrue(
  conditions: readonly { type: string; status: string }[] | undefined,
  type: string,
): boolean {
  return getCondition(conditions, type)?.status === 'True';
}

/**
 * Returns a new list with `update` applied. observedGeneration is always stamped;
 * lastTransitionTime moves only when the status flips (or the condition is new), so it
 * tells how long the current state has held. Other conditions keep their place.
 * @param now - the time to record on a transition; pass it in to stay pure.
 */
export function setCondition(
  conditions: readonly Condition[] | undefined,
  update: ConditionUpdate,
  observedGeneration: number,
  now: Date,
): Condition[] {
  const list = [...(conditions ?? [])];
  const index = list.findIndex((c) => c.type === update.type);
  const previous = index >= 0 ? list[index] : undefined;
  const next: Condition = {
    type: update.type,
    status: update.status,
    observedGeneration,
    lastTransitionTime:
      previous && previous.status === update.status
        ? previous.lastTransitionTime
        : now.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    reason: update.reason,
    message: update.message,
  };
  if (index >= 0) list[index] = next;
  else list.push(next);
  return list;
}

/**
 * Conditions of `after` whose status or reason differs from `before` (or that are new):
 * the transitions worth a Kubernetes Event.
 */
export function transitions(
  before: readonly Condition[] | undefined,
  after: readonly Condition[],
): Condition[] {
  return after.filter((c) => {
    const old = getCondition(before, c.type);
    return !old || old.status !== c.status || old.reason !== c.reason;
  });
}
