/**
 * Asks an HTTP service where a token goes: `GET <url>` with the token, expecting
 * `200 {"host": ..., "port": ..., "tls"?: bool}`. `404` means the service does not know
 * the token, so the next resolver may; every other outcome (timeout, connection
 * error, 5xx, redirect, bad JSON, bad target) is a refusal, so an outage locks
 * consoles rather than opening them.
 *
 * Answers are cached for a few seconds, keyed by a SHA-256 of the token so the cache
 * holds no usable tokens, and concurrent lookups of one token share a request.
 */
import { createHash } from 'node:crypto';
import { targetFrom } from './target-claims.js';
import type { Resolution, TokenResolver } from './types.js';
import { SettingError } from '../config/setting-error.js';

export interface HttpResolverOptions {
  /**
   * `--token-url`, http or https. The token replaces `{token}` if the URL has it,
   * percent-encoded; otherwise it is sent as the `token` query parameter.
   */
  url: string;
  /** Whole-request time limit in milliseconds. Default 2000. */
  timeoutMs?: number;
  /** How long an answer (target, 404, 401/403) is reused, in seconds. Default 5; 0 disables. */
  cacheTtlSeconds?: number;
  /** Most cached answers; the oldest go first. Default 10 000. */
  maxCacheEntries?: number;
  /** Largest response body read. Default 64 KiB. */
  maxResponseBytes?: number;
  /** Milliseconds since the epoch, for cache expiry. Default `Date.now`. */
  now?: () => number;
}

const DEFAULTS = {
  timeoutMs: 2000,
  cacheTtlSeconds: 5,
  maxCacheEntries: 10_000,
  maxResponseBytes: 64 * 1024,
};

const UNKNOWN: Resolution = Object.freeze({ kind: 'unknown' });
/** Stands in for `{token}` while the URL is parsed (braces would be percent-encoded). */
const PLACEHOLDER = '__wsgate_token__';

function refused(reason: string): Resolution {
  return { kind: 'refused', reason };
}

class TooLarge extends Error {}

async function readCapped(res: Response, max: number): Promise<string> {
  const reader = res.body?.getReader();
  if (!reader) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel();
      throw new TooLarge();
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

interface CacheEntry {
  until: number;
  resolution: Resolution;
}

/** Resolves tokens by HTTP lookup; see {@link createHttpResolver}. */
export class HttpResolver implements TokenResolver {
  readonly name = 'http';
  readonly #url: URL;
  readonly #templated: boolean;
  readonly #opts: typeof DEFAULTS;
  readonly #now: () => number;
  readonly #cache = new Map<string, CacheEntry>();
  readonly #inflight = new Map<string, Promise<Resolution>>();
  #closed = false;

  constructor(options: HttpResolverOptions) {
    const opts = { ...DEFAULTS };
    for (const k of Object.keys(DEFAULTS) as (keyof typeof DEFAULTS)[]) {
      const v = options[k];
      if (v === undefined) continue;
      if (!Number.isFinite(v) || v < 0) throw new RangeError(`tokenUrl ${k} must be >= 0`);
      opts[k] = v;
    }
    if (opts.timeoutMs === 0) throw new RangeError('tokenUrl timeoutMs must be > 0');
    let url: URL;
    try {
      url = new URL(options.url.replace('{token}', PLACEHOLDER));
    } catch {
      // Not echoed: the URL may carry credentials.
      throw new SettingError('tokenUrl', 'not a valid URL');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new SettingError('tokenUrl', 'must be an http or https URL');
    }
    this.#url = url;
    this.#templated = options.url.includes('{token}');
    this.#opts = opts;
    this.#now = options.now ?? Date.now;
  }

  resolve(token: string): Promise<Resolution> {
    if (this.#closed) return Promise.resolve(refused('resolver closed'));
    const key = createHash('sha256').update(token).digest('base64url');
    const now = this.#now();
    const hit = this.#cache.get(key);
    if (hit) {
      if (hit.until > now) return Promise.resolve(hit.resolution);
      this.#cache.delete(key);
    }
    let pending = this.#inflight.get(key);
    if (!pending) {
      pending = this.#lookup(token)
        .then(({ resolution, cache }) => {
          if (cache) this.#remember(key, resolution);
          return resolution;
        })
        .catch(() => refused('lookup failed'))
        .finally(() => this.#inflight.delete(key));
      this.#inflight.set(key, pending);
    }
    return pending;
  }

  #urlFor(token: string): string {
    if (this.#templated) {
      return this.#url.href.replace(PLACEHOLDER, encodeURIComponent(token));
    }
    const url = new URL(this.#url.href);
    url.searchParams.set('token', token);
    return url.href;
  }

  async #lookup(token: string): Promise<{ resolution: Resolution; cache: boolean }> {
    let res: Response;
    let body: string;
    try {
      // One signal covers headers and body, so a server that trickles is cut off too.
      const signal = AbortSignal.timeout(this.#opts.timeoutMs);
      res = await fetch(this.#urlFor(token), {
        headers: { accept: 'application/json' },
        // A redirect could carry the token to a host nobody configured.
        redirect: 'manual',
        signal,
      });
      if (res.status !== 200) {
        await res.body?.cancel().catch(() => undefined);
        if (res.status === 404) return { resolution: UNKNOWN, cache: true };
        if (res.status === 401 || res.status === 403) {
          return { resolution: refused('lookup denied the token'), cache: true };
        }
        return { resolution: refused(`lookup failed: HTTP ${res.status}`), cache: false };
      }
      body = await readCapped(res, this.#opts.maxResponseBytes);
    } catch (e) {
      if (e instanceof TooLarge)
        return { resolution: refused('lookup answer too large'), cache: false };
      const name = (e as Error).name;
      const timedOut = name === 'TimeoutError' || name === 'AbortError';
      return { resolution: refused(timedOut ? 'lookup timed out' : 'lookup failed'), cache: false };
    }
    let json: unknown;
    try {
      json = JSON.parse(body);
    } catch {
      return { resolution: refused('lookup answer is not JSON'), cache: false };
    }
    if (typeof json !== 'object' || json === null) {
      return { resolution: refused('lookup answer is not an object'), cache: false };
    }
    const { host, port, tls } = json as Record<string, unknown>;
    const target = targetFrom(host, port, tls);
    if (typeof target === 'string') return { resolution: refused(target), cache: false };
    return { resolution: { kind: 'target', target }, cache: true };
  }

  #remember(key: string, resolution: Resolution): void {
    if (this.#closed || this.#opts.cacheTtlSeconds === 0) return;
    while (this.#cache.size >= this.#opts.maxCacheEntries) {
      const oldest = this.#cache.keys().next();
      if (oldest.done) break;
      this.#cache.delete(oldest.value);
    }
    this.#cache.set(key, { until: this.#now() + this.#opts.cacheTtlSeconds * 1000, resolution });
  }

  /** Cached answers (for tests and metrics). */
  get cacheSize(): number {
    return this.#cache.size;
  }

  close(): void {
    this.#closed = true;
    this.#cache.clear();
  }
}

/**
 * Creates the `http` resolver. Throws a TypeError naming `tokenUrl` for a URL that is
 * not http(s), and a RangeError for negative limits.
 */
export function createHttpResolver(options: HttpResolverOptions): HttpResolver {
  return new HttpResolver(options);
}
