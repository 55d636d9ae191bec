/**
 * One reconcile of one WebSocketProxy: read it from the cache, validate, render, apply
 * (server-side), delete what is no longer wanted, observe, compute status, and write
 * status only when it changed. Level-triggered: everything is recomputed from the
 * resource and the cluster each time, so running it again changes nothing.
 */
import type { Logger } from 'pino';
import { API_VERSION, KIND, FIELD_MANAGER, toWebSocketProxy } from '../api/index.js';
import type { OwnedObject } from '../api/external-types.js';
import type { WebSocketProxy, WebSocketProxyStatus } from '../api/websocketproxy-types.js';
import { Reason, transitions } from '../status/conditions.js';
import { isStatus, type KubeClient } from '../kube/client.js';
import { objectPath, Resources } from '../kube/resources.js';
import { renderAll } from '../render/index.js';
import { computeStatus, statusEqual } from '../status/index.js';
import { validate, type ValidationResult } from '../api/validate.js';
import { ApplyRejected, applyAll, deleteUnwanted, type AppliedMemo } from './apply.js';
import { transitionEvents, warningEvents, type EventRecorder } from './events.js';
import type { ClusterView } from './watches.js';
import { observe } from './observe.js';
import { handOverReplicas } from './replicas.js';

/** What reconcile works with. */
export interface ReconcileContext {
  client: KubeClient;
  view: ClusterView;
  events: EventRecorder;
  log: Logger;
  /** Image for proxies whose spec.image is unset. */
  operatorImage: string;
  now(): Date;
  /** The generation whose validation warnings were last reported, by key. */
  warned: Map<string, number>;
  /** The last status written, by key, until the cache has caught up with it. */
  written: Map<string, WrittenStatus>;
  /** What was last applied for each resource (by key), to skip unchanged objects. */
  applied: Map<string, AppliedMemo>;
}

/** A status this process wrote, with the resourceVersion the write produced. */
export interface WrittenStatus {
  resourceVersion: string;
  status: WebSocketProxyStatus;
}

/**
 * Whether resourceVersion `a` is older than `b`. Kubernetes guarantees comparable
 * resourceVersions (decimal integers) since 1.34; anything else counts as not older.
 */
function olderVersion(a: string | undefined, b: string): boolean {
  if (!a || !/^\d+$/.test(a) || !/^\d+$/.test(b)) return false;
  return BigInt(a) < BigInt(b);
}

/**
 * The cached resource, with the status this process last wrote if the cache has not
 * seen that write yet: a reconcile right after a status write must not compare against
 * the old status (it would rewrite it and repeat its Events).
 */
function withLatestStatus(
  written: Map<string, WrittenStatus>,
  key: string,
  cached: WebSocketProxy,
): WebSocketProxy {
  const mine = written.get(key);
  if (!mine) return cached;
  if (!olderVersion(cached.metadata?.resourceVersion, mine.resourceVersion)) {
    written.delete(key);
    return cached;
  }
  return { ...cached, status: mine.status };
}

/**
 * requeue: retry with back-off (the API server refused an object); poll: look again after
 * the fixed poll interval, because Ready waits on something no watch reports.
 */
export interface ReconcileResult {
  requeue?: boolean;
  poll?: boolean;
}

/** Reasons that clear when a Secret comes or changes: watched where secretsWatched(). */
const SECRET_REASONS: ReadonlySet<string> = new Set([
  Reason.SecretNotFound,
  Reason.SecretKeyNotFound,
  Reason.TLSSecretNotFound,
  Reason.TLSSecretInvalid,
]);
/** Reasons that clear when an issuer comes or gets ready, which is never watched. */
const ISSUER_REASONS: ReadonlySet<string> = new Set([Reason.IssuerNotFound, Reason.IssuerNotReady]);

/**
 * Whether a status waits on something only polling notices: an issuer, or a Secret in a
 * namespace whose Secrets are not watched.
 */
export function needsPoll(
  conditions: readonly { status: string; reason: string }[],
  secretsWatched: boolean,
): boolean {
  return conditions.some(
    (c) =>
      c.status !== 'True' &&
      (ISSUER_REASONS.has(c.reason) || (!secretsWatched && SECRET_REASONS.has(c.reason))),
  );
}

/** The validation result for an object the API server refused (ConfigValid False). */
function rejected(validation: ValidationResult, err: ApplyRejected): ValidationResult {
  const problem = { reason: Reason.InvalidSpec, field: err.object, message: err.message };
  return {
    ...validation,
    valid: false,
    reason: Reason.InvalidSpec,
    message: err.message,
    problems: [problem],
  };
}

/**
 * Writes status with server-side apply on the status subresource. Returns the new
 * resourceVersion, or undefined when the resource is gone (404).
 */
async function writeStatus(
  client: KubeClient,
  wsp: WebSocketProxy,
  status: WebSocketProxyStatus,
): Promise<string | undefined> {
  const { name, namespace, uid } = wsp.metadata!;
  const path = objectPath(Resources.WebSocketProxy, namespace, name!, 'status');
  const body = { apiVersion: API_VERSION, kind: KIND, metadata: { name, namespace, uid }, status };
  try {
    const answer = await client.apply<WebSocketProxy>(path, body, FIELD_MANAGER);
    return answer.metadata?.resourceVersion;
  } catch (err) {
    if (isStatus(err, 404)) return undefined;
    throw err;
  }
}

function memo(all: Map<string, AppliedMemo>, key: string): AppliedMemo {
  let found = all.get(key);
  if (!found) all.set(key, (found = new Map()));
  return found;
}

/** Reconciles the resource `key` (`namespace/name`); throws on API errors (the caller backs off). */
export async function reconcile(ctx: ReconcileContext, key: string): Promise<ReconcileResult> {
  const [namespace = '', name = ''] = key.split('/');
  const cached = ctx.view.proxy(namespace, name);
  if (!cached || cached.metadata?.deletionTimestamp) {
    // Owner references let the garbage collector remove what it owned.
    ctx.warned.delete(key);
    ctx.written.delete(key);
    ctx.applied.delete(key);
    return {};
  }
  const wsp = toWebSocketProxy(withLatestStatus(ctx.written, key, cached));
  const env = {
    certManager: ctx.view.certManagerInstalled(),
    serviceMonitor: ctx.view.serviceMonitorInstalled(),
  };
  let validation = validate(wsp);
  let applied = new Map<string, OwnedObject>();
  let refused = false;
  if (validation.valid) {
    // An invalid spec leaves the last good objects running; status says why.
    const desired = renderAll(wsp, {
      operatorImage: ctx.operatorImage,
      serviceMonitorAvailable: env.serviceMonitor,
      certManagerAvailable: env.certManager,
    });
    try {
      const objects = await handOverReplicas(ctx.client, ctx.view, wsp, desired.apply);
      [applied] = await Promise.all([
        applyAll(ctx.client, objects, ctx.view, memo(ctx.applied, key)),
        deleteUnwanted(ctx.client, ctx.view, desired.delete, wsp.metadata!.uid!),
      ]);
    } catch (err) {
      if (!(err instanceof ApplyRejected)) throw err;
      // Retried with back-off: an admission webhook may refuse only for a while.
      validation = rejected(validation, err);
      refused = true;
    }
  }
  const observed = await observe(ctx.client, ctx.view, wsp, env, applied);
  const status = computeStatus(wsp, observed, validation, ctx.now());
  if (!statusEqual(wsp.status, status)) {
    const resourceVersion = await writeStatus(ctx.client, wsp, status);
    if (resourceVersion) ctx.written.set(key, { resourceVersion, status });
  }

  const events = transitionEvents(transitions(wsp.status?.conditions, status.conditions ?? []));
  const generation = wsp.metadata?.generation ?? 0;
  if (validation.warnings.length && ctx.warned.get(key) !== generation) {
    events.push(...warningEvents(validation.warnings));
  }
  ctx.warned.set(key, generation);
  for (const event of events) ctx.events.record(wsp, event);
  const poll = needsPoll(status.conditions ?? [], ctx.view.secretsWatched(namespace));
  return { requeue: refused, poll };
}
