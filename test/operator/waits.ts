/** Bounded waits on the local control plane's objects. */
import type { KubeClient } from '../../operator/src/kube/client.js';
import type { WebSocketProxy } from '../../operator/src/api/websocketproxy-types.js';
import { waitFor } from '../helpers/wait.js';
import { condition, paths } from './resources.js';

/**
 * `waitFor` (test/cluster/probe.ts) with positional bounds: polls `check` every
 * `intervalMs` until it returns a value (not undefined), for at most `timeoutMs`; on
 * timeout fails with `what` and the last error `check` threw.
 */
export function until<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 30_000,
  intervalMs = 200,
): Promise<T> {
  return waitFor(what, check, { timeoutMs, intervalMs });
}

/** Waits for the resource's condition `type` to have `status` (and `reason`, if given). */
export function waitCondition(
  client: KubeClient,
  namespace: string,
  name: string,
  type: string,
  status: string,
  reason?: string,
  timeoutMs = 60_000,
): Promise<WebSocketProxy> {
  return until(
    `${namespace}/${name} ${type}=${status}${reason ? ` (${reason})` : ''}`,
    async () => {
      const wsp = await client.get<WebSocketProxy>(paths(namespace, name).proxy);
      const c = condition(wsp, type);
      if (!wsp || !c) return undefined;
      if (c.status === status && (reason === undefined || c.reason === reason)) return wsp;
      throw new Error(`now ${c.status} ${c.reason}: ${c.message}`);
    },
    timeoutMs,
  );
}

/** Waits until GET `path` answers 404. */
export function waitGone(client: KubeClient, path: string, timeoutMs = 60_000): Promise<true> {
  return until(
    `${path} to be deleted`,
    async () => ((await client.get(path)) === null ? true : undefined),
    timeoutMs,
  );
}
