/**
 * Which Secrets the operator should look at, and what it makes of them. The TLS Secret
 * of a cert-manager Certificate is left out: the Certificate's status speaks for it.
 */
import type { WebSocketProxy } from '../api/websocketproxy-types.js';
import { Reason } from './conditions.js';
import { secretMounts, type SecretMount } from '../objects/mounts.js';
import type { PolicyFailure, SecretObservation } from './types.js';

/**
 * The Secrets (with the keys each must hold) to GET in the resource's namespace: token
 * sources, the target CA, and a brought TLS Secret (spec.tls.secretName).
 */
export function secretsToCheck(wsp: WebSocketProxy): SecretMount[] {
  return secretMounts(wsp).filter((m) => m.field !== 'spec.tls.issuerRef');
}

/** Checks one mount against what was observed; null when fine or not known. */
export function checkSecret(
  mount: SecretMount,
  observed: SecretObservation | undefined,
  reasons: { missing: PolicyFailure['reason']; badKey: PolicyFailure['reason'] } = {
    missing: Reason.SecretNotFound,
    badKey: Reason.SecretKeyNotFound,
  },
): PolicyFailure | null {
  if (observed?.state === 'missing') {
    return {
      reason: reasons.missing,
      message: `Secret ${mount.secretName} (${mount.field}) not found`,
    };
  }
  if (observed?.state === 'found') {
    const absent = mount.keys.filter((k) => !observed.keys.includes(k));
    if (absent.length) {
      return {
        reason: reasons.badKey,
        message: `Secret ${mount.secretName} (${mount.field}) has no key ${absent.join(', ')}`,
      };
    }
  }
  return null;
}

/** Names of Secrets among `mounts` that could not be checked, for condition messages. */
export function unverified(
  mounts: readonly SecretMount[],
  secrets: Readonly<Record<string, SecretObservation>> | undefined,
): string[] {
  const names = mounts.filter((m) => {
    const state = secrets?.[m.secretName]?.state;
    return state === undefined || state === 'unknown';
  });
  return [...new Set(names.map((m) => m.secretName))];
}
