import { request as httpRequest } from 'node:http';
import { request as httpsRequest, type RequestOptions } from 'node:https';

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
