import { request as httpRequest } from 'node:http';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';

export interface ProbeResult {
  readonly status: number;
  readonly body: string;
}

/** TLS material for a probe; without `ca`, the server certificate is not checked. */
export interface ProbeTls {
  readonly ca?: string | Buffer;
  readonly cert?: string | Buffer;
  readonly key?: string | Buffer;
}

/**
 * One GET with a hard timeout. Health endpoints of kcm and the scheduler serve
 * a self-signed certificate generated at start, so those probes pass no CA;
 * they carry no secrets and only ever go to 127.0.0.1.
 */
export function get(url: string, tls: ProbeTls = {}, timeoutMs = 2_000): Promise<ProbeResult> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const opts: RequestOptions = { method: 'GET', timeout: timeoutMs };
    if (u.protocol === 'https:') {
      Object.assign(opts, tls, { rejectUnauthorized: tls.ca !== undefined });
    }
    const req = (u.protocol === 'https:' ? httpsRequest : httpRequest)(u, opts, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
      );
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`timeout after ${timeoutMs} ms: ${url}`)));
    req.on('error', reject);
    req.end();
  });
}

/** True if GET `url` answers 200 (any error counts as not healthy). */
export async function isHealthy(url: string, tls: ProbeTls = {}): Promise<boolean> {
  try {
    return (await get(url, tls)).status === 200;
  } catch {
    return false;
  }
}

/**
 * Polls `check` until it returns a non-undefined value, for at most
 * `timeoutMs`. `check` may throw; the last error is reported on timeout, with
 * `what` saying what was awaited.
 */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined>,
  { timeoutMs = 30_000, intervalMs = 200 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  const maxTries = Math.ceil(timeoutMs / intervalMs) + 1;
  for (let i = 0; i < maxTries; i++) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() >= deadline) break;
    await sleep(intervalMs);
  }
  const why = last instanceof Error ? `: ${last.message}` : '';
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${why}`);
}
