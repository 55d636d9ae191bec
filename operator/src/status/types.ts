/**
 * What the reconcile loop observed in the cluster, handed to the pure status policies.
 * `undefined` means "not looked at" and `null` means "looked, not found", so a policy can
 * tell a missing object from one it was not told about.
 */
import type { V1Deployment, V1Service } from '@kubernetes/client-node';
import type { Certificate, Issuer } from '../api/external-types.js';
import type { ReasonName } from './conditions.js';

/** What a check of one Secret found. */
export type SecretObservation =
  | { state: 'found'; keys: readonly string[] }
  | { state: 'missing' }
  /** Not checked, e.g. the operator may not read Secrets in this namespace (403). */
  | { state: 'unknown'; why: string };

/** The cluster state a WebSocketProxy's status is computed from. */
export interface Observed {
  /** Whether cert-manager's Certificate CRD is installed. */
  certManagerInstalled: boolean;
  /** Whether prometheus-operator's ServiceMonitor CRD is installed. */
  serviceMonitorInstalled: boolean;
  /** The issuer named by spec.tls.issuerRef. */
  issuer?: Issuer | null;
  /** The Certificate the operator made. */
  certificate?: Certificate | null;
  /** Secrets by name; see secretsToCheck() for which ones to look at. */
  secrets?: Readonly<Record<string, SecretObservation>>;
  /** The proxy Deployment. */
  deployment?: V1Deployment | null;
  /** The client-facing Service, whose load-balancer address may become the URL's host. */
  service?: V1Service | null;
}

/** Why a condition is not True: a policy's verdict. */
export interface PolicyFailure {
  reason: ReasonName;
  message: string;
}

/** A readiness policy: null when it has nothing against, else the failure. */
export type Policy<I> = (input: I) => PolicyFailure | null;

/** Runs policies in order and returns the first failure (cert-manager's policy chains). */
export function firstFailure<I>(policies: readonly Policy<I>[], input: I): PolicyFailure | null {
  for (const policy of policies) {
    const failure = policy(input);
    if (failure) return failure;
  }
  return null;
}
