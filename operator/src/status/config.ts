/** The ConfigValid condition: the spec's own validity, then the Secrets it names. */
import type { WebSocketProxy } from '../api/websocketproxy-types.js';
import { ConditionType, Reason, type ConditionUpdate } from './conditions.js';
import type { ValidationResult } from '../api/validate.js';
import { checkSecret, secretsToCheck, unverified } from './secrets.js';
import type { Observed } from './types.js';

/**
 * False with the validation's reason when the spec is invalid, else False with
 * SecretNotFound / SecretKeyNotFound when a token or CA Secret is missing, else True.
 * True says ServiceMonitorUnavailable when a ServiceMonitor was asked for but its CRD is
 * missing (the proxy works; only scraping setup is skipped), and names Secrets the
 * operator could not check.
 */
export function configValidCondition(
  wsp: WebSocketProxy,
  validation: ValidationResult,
  observed: Observed,
): ConditionUpdate {
  const type = ConditionType.ConfigValid;
  if (!validation.valid) {
    return { type, status: 'False', reason: validation.reason, message: validation.message };
  }
  // A brought TLS Secret is CertificateReady's business.
  const mounts = secretsToCheck(wsp).filter((m) => m.field !== 'spec.tls.secretName');
  for (const mount of mounts) {
    const failure = checkSecret(mount, observed.secrets?.[mount.secretName]);
    if (failure) return { type, status: 'False', ...failure };
  }
  const notes: string[] = [];
  const unchecked = unverified(mounts, observed.secrets);
  if (unchecked.length) notes.push(`Secrets not verified: ${unchecked.join(', ')}`);
  if (wsp.spec.metrics.serviceMonitor.enabled && !observed.serviceMonitorInstalled) {
    return {
      type,
      status: 'True',
      reason: Reason.ServiceMonitorUnavailable,
      message: [
        'ServiceMonitor skipped: the monitoring.coreos.com CRD is not installed',
        ...notes,
      ].join('; '),
    };
  }
  return {
    type,
    status: 'True',
    reason: Reason.Valid,
    message: ['the spec is valid', ...notes].join('; '),
  };
}
