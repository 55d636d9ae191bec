/**
 * The frame every proxy end-to-end test (tls, security) repeats around its checks: start
 * a proxy, use it, always close it; the connection counter those tests read back; and the
 * check of a refused handshake.
 * Kept here so that a test body holds only what it checks.
 */
import assert from 'node:assert/strict';
import { metricValue, startTestProxy, type TestProxy } from './proxy.js';

/** Starts a proxy with `flags`, runs `use` with it and closes it however `use` ends. */
export async function withProxy<T>(
  flags: string[],
  use: (proxy: TestProxy) => Promise<T>,
): Promise<T> {
  const proxy = await startTestProxy(flags);
  try {
    return await use(proxy);
  } finally {
    await proxy.close();
  }
}

/** The `wsgate_connections_total` sample for one `result` label, as the proxy exposes it. */
export const connections = (proxy: TestProxy, result: string) =>
  metricValue(proxy.metricsUrl('/metrics'), 'wsgate_connections_total', `result="${result}"`);

/** What `openClient` rejects with: the HTTP refusal, or an error code below HTTP. */
export type Refused = {
  status?: number;
  body?: string;
  headers?: Record<string, string>;
  code?: string;
};

/** For `assert.rejects`: refused with `status` and, when given, `x-wsgate-error: code`. */
export const refusedWith = (status: number, code?: string) => (e: Refused) => {
  assert.equal(e.status, status, e.body);
  if (code) assert.equal(e.headers?.['x-wsgate-error'], code);
  return true;
};
