/**
 * The whole status of a WebSocketProxy, computed from the resource, the validation
 * result and what the reconcile loop observed. Pure: the time comes in as an argument,
 * so computing twice from the same state gives an equal status and no write.
 */
import type {
  Condition,
  WebSocketProxy,
  WebSocketProxyStatus,
} from '../api/websocketproxy-types.js';
import { ConditionType, Reason, setCondition, type ConditionUpdate } from './conditions.js';
import { objectNames, selectorString } from '../objects/names.js';
import type { ValidationResult } from '../api/validate.js';
import { availableCondition } from './availability.js';
import { certificateReadyCondition } from './certificate.js';
import { configValidCondition } from './config.js';
import type { Observed } from './types.js';
import { proxyURL } from './url.js';

export * from './types.js';
export * from './secrets.js';
export * from './config.js';
export * from './certificate.js';
export * from './availability.js';
export * from './url.js';

/**
 * Ready from the other three: True when all are True, else False with the first
 * failing one's reason and its message prefixed by its type.
 */
export function readyCondition(parts: readonly ConditionUpdate[], url: string): ConditionUpdate {
  const type = ConditionType.Ready;
  const failing = parts.find((c) => c.status !== 'True');
  if (failing) {
    const status = failing.status === 'Unknown' ? 'Unknown' : 'False';
    return { type, status, reason: failing.reason, message: `${failing.type}: ${failing.message}` };
  }
  return { type, status: 'True', reason: Reason.AllReady, message: `serving at ${url}` };
}

/**
 * Computes status: conditions Ready, ConfigValid, CertificateReady and Available (each
 * stamped with metadata.generation; lastTransitionTime kept unless the status flips),
 * replica counts from the Deployment, the selector, the URL and the certificate Secret.
 */
export function computeStatus(
  wsp: WebSocketProxy,
  observed: Observed,
  validation: ValidationResult,
  now: Date,
): WebSocketProxyStatus {
  const generation = wsp.metadata?.generation ?? 0;
  const url = proxyURL(wsp, observed.service);
  const parts = [
    configValidCondition(wsp, validation, observed),
    certificateReadyCondition(wsp, observed),
    availableCondition(wsp, observed),
  ];
  let conditions: Condition[] | undefined = wsp.status?.conditions;
  for (const update of [readyCondition(parts, url), ...parts]) {
    conditions = setCondition(conditions, update, generation, now);
  }
  const status: WebSocketProxyStatus = {
    observedGeneration: generation,
    replicas: observed.deployment?.status?.replicas ?? 0,
    readyReplicas: observed.deployment?.status?.readyReplicas ?? 0,
    selector: selectorString(wsp),
    url,
    conditions,
  };
  const secret = objectNames(wsp).tlsSecret;
  if (secret) status.certificateSecretName = secret;
  return status;
}

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([k, v]) => [k, canonical(v)]),
  );
}

/** Whether two statuses are equal (key order and undefined fields aside): skip the write if so. */
export function statusEqual(
  a: WebSocketProxyStatus | undefined,
  b: WebSocketProxyStatus | undefined,
): boolean {
  return JSON.stringify(canonical(a ?? {})) === JSON.stringify(canonical(b ?? {}));
}
