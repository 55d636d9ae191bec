/**
 * What the queue does with a key after a reconcile. Waiting on something no watch reports
 * (an issuer, a Secret outside the watched namespaces) is not a failure: it is looked at
 * again after a fixed poll interval and its back-off is forgotten. Only failures (the
 * reconcile threw, or the API server refused an object) back off exponentially, so a
 * resource that waits for hours is still noticed within one poll interval once its issuer
 * comes (controller-runtime deprecated Requeue-with-back-off for waiting for this reason).
 */
import type { ReconcileResultLabel } from '../serving/metrics.js';
import type { ReconcileResult } from './reconcile.js';

/** Default delay before a waiting resource is looked at again (`--poll-interval`). */
export const DEFAULT_POLL_MS = 5_000;

/** forget: done until the next event; poll: again after a fixed delay; backoff: retry with back-off. */
export type RequeueAction =
  | { kind: 'forget'; result: 'success' }
  | { kind: 'poll'; afterMs: number; result: 'requeue_after' }
  | { kind: 'backoff'; result: Extract<ReconcileResultLabel, 'requeue' | 'error'> };

/** The action for a reconcile's outcome; `outcome` undefined means the reconcile threw. Pure. */
export function requeueAction(outcome: ReconcileResult | undefined, pollMs: number): RequeueAction {
  if (outcome === undefined) return { kind: 'backoff', result: 'error' };
  if (outcome.requeue) return { kind: 'backoff', result: 'requeue' };
  if (outcome.poll) return { kind: 'poll', afterMs: pollMs, result: 'requeue_after' };
  return { kind: 'forget', result: 'success' };
}
