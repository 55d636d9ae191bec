/**
 * Semantic checks the CRD schema cannot express (its patterns and CEL rules run first, on
 * admission). Target rules, origins and trusted proxies go through the proxy's own
 * parsers, so the operator refuses exactly what the proxy would refuse at startup instead
 * of rolling out pods that crash. Label and annotation syntax is checked here because it
 * would otherwise fail later, on apply. Settings that are valid but probably not meant
 * become warnings. Pure; the result feeds the ConfigValid condition.
 */
import {
  checkOriginPattern,
  checkTargetRule,
  checkTrustedProxy,
} from '../../../proxy/src/contract.js';
import type { WebSocketProxy } from './websocketproxy-types.js';
import { Reason, type ReasonName } from '../status/conditions.js';
import { CONFIG_HASH_ANNOTATION, scalesOut, selectorLabels } from '../objects/names.js';

/** One thing wrong with the spec. */
export interface Problem {
  reason: ReasonName;
  /** The offending field, e.g. `spec.targets.allow[2]`. */
  field: string;
  message: string;
}

/** The outcome of {@link validate}. */
export interface ValidationResult {
  valid: boolean;
  /** Reason.Valid, or the reason of the first problem. */
  reason: ReasonName;
  /** Human-readable summary for the ConfigValid condition. */
  message: string;
  problems: Problem[];
  /** Valid but suspicious settings, worth an Event. */
  warnings: string[];
}

const NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Whether `key` is a valid label or annotation key (`[prefix/]name`). */
export function isQualifiedName(key: string): boolean {
  const slash = key.indexOf('/');
  const name = slash < 0 ? key : key.slice(slash + 1);
  if (slash >= 0) {
    const prefix = key.slice(0, slash);
    if (prefix.length > 253 || !SUBDOMAIN.test(prefix)) return false;
  }
  return name.length <= 63 && NAME.test(name);
}

/** Whether `value` is a valid label value. */
export function isLabelValue(value: string): boolean {
  return value === '' || (value.length <= 63 && NAME.test(value));
}

function checkLabels(field: string, map: Record<string, string> | undefined, out: Problem[]): void {
  for (const [key, value] of Object.entries(map ?? {})) {
    if (!isQualifiedName(key)) {
      out.push({ reason: Reason.InvalidLabels, field, message: `label key "${key}" is invalid` });
    } else if (!isLabelValue(value)) {
      out.push({
        reason: Reason.InvalidLabels,
        field,
        message: `label ${key}: value "${value}" is invalid`,
      });
    }
  }
}

function checkAnnotations(
  field: string,
  map: Record<string, string> | undefined,
  out: Problem[],
): void {
  for (const key of Object.keys(map ?? {})) {
    if (!isQualifiedName(key)) {
      out.push({
        reason: Reason.InvalidAnnotations,
        field,
        message: `annotation key "${key}" is invalid`,
      });
    }
  }
}

/** Runs one of the proxy's checks on each entry of a list setting. */
function checkEach(
  list: readonly string[] | undefined,
  check: (text: string) => string | null,
  reason: ReasonName,
  field: string,
  out: Problem[],
): void {
  (list ?? []).forEach((text, i) => {
    const message = check(text);
    if (message !== null) out.push({ reason, field: `${field}[${i}]`, message });
  });
}

function warnings(wsp: WebSocketProxy): string[] {
  const { spec } = wsp;
  const out: string[] = [];
  if (spec.tokens.jwt?.singleUse && scalesOut(wsp) && !spec.tokens.jwt.replayStore) {
    out.push(
      'tokens.jwt.singleUse: each pod keeps its own replay cache, so a ticket works once per pod' +
        ' (tokens.jwt.replayStore shares one)',
    );
  }
  const budget = spec.podDisruptionBudget;
  // With an autoscaler, the fewest pods it may leave is what the budget must allow for.
  const pods = spec.autoscaling ? spec.autoscaling.minReplicas : spec.replicas;
  if (scalesOut(wsp) && budget) {
    const blocks =
      (typeof budget.minAvailable === 'number' && budget.minAvailable >= pods) ||
      budget.minAvailable === '100%' ||
      budget.maxUnavailable === 0 ||
      budget.maxUnavailable === '0%';
    if (blocks) out.push('podDisruptionBudget allows no eviction: node drains will wait forever');
  }
  const reserved = Object.keys(selectorLabels(wsp)).filter(
    (k) => spec.podLabels?.[k] !== undefined,
  );
  if (reserved.length) out.push(`podLabels ${reserved.join(', ')}: the operator's values are used`);
  if (spec.podAnnotations?.[CONFIG_HASH_ANNOTATION] !== undefined) {
    out.push(`podAnnotations ${CONFIG_HASH_ANNOTATION}: the operator's value is used`);
  }
  const limits = spec.limits;
  if (
    limits?.maxConnections !== undefined &&
    (limits.maxConnectionsPerIp ?? 0) > limits.maxConnections
  ) {
    out.push('limits.maxConnectionsPerIp is above limits.maxConnections and has no effect');
  }
  if (spec.autoscaling && spec.resources?.requests?.['cpu'] === undefined) {
    out.push(
      'autoscaling: without resources.requests.cpu the CPU utilization is unknown and the autoscaler does not scale on it',
    );
  }
  if (!spec.tls && spec.service.type !== 'ClusterIP' && !spec.publicURL) {
    out.push(
      `a ${spec.service.type} Service without spec.tls serves plain ws:// outside the cluster`,
    );
  }
  return out;
}

/** Validates what the schema cannot; see {@link ValidationResult}. */
export function validate(wsp: WebSocketProxy): ValidationResult {
  const { spec } = wsp;
  const problems: Problem[] = [];
  checkEach(
    spec.targets?.allow,
    checkTargetRule,
    Reason.InvalidTarget,
    'spec.targets.allow',
    problems,
  );
  checkEach(
    spec.allowedOrigins,
    checkOriginPattern,
    Reason.InvalidOrigin,
    'spec.allowedOrigins',
    problems,
  );
  checkEach(
    spec.trustedProxies,
    checkTrustedProxy,
    Reason.InvalidSpec,
    'spec.trustedProxies',
    problems,
  );
  checkLabels('spec.podLabels', spec.podLabels, problems);
  checkLabels('spec.metrics.serviceMonitor.labels', spec.metrics.serviceMonitor.labels, problems);
  checkAnnotations('spec.podAnnotations', spec.podAnnotations, problems);
  checkAnnotations('spec.service.annotations', spec.service.annotations, problems);
  const tokens = spec.tokens;
  if (!tokens.file && !tokens.jwt && !tokens.ovirt && !tokens.http) {
    // The CRD refuses this; repeated for objects that never met the schema (tests, files).
    problems.push({
      reason: Reason.InvalidSpec,
      field: 'spec.tokens',
      message: 'no token source is set',
    });
  }
  const first = problems[0];
  return {
    valid: first === undefined,
    reason: first?.reason ?? Reason.Valid,
    message:
      first === undefined
        ? 'the spec is valid'
        : problems
            .slice(0, 5)
            .map((p) => `${p.field}: ${p.message}`)
            .join('; ') + (problems.length > 5 ? `; and ${problems.length - 5} more` : ''),
    problems,
    warnings: warnings(wsp),
  };
}
