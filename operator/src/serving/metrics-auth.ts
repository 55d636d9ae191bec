/**
 * Who may read the operator's /metrics, decided by the API server as kubebuilder v4's
 * filters.WithAuthenticationAndAuthorization does: the bearer token is checked with a
 * TokenReview, and the user it names must be allowed `get` on the non-resource URL
 * /metrics by a SubjectAccessReview (the `metrics-reader` ClusterRole grants it). The
 * decision is cached per token (by its hash; tokens are never kept or logged) so a
 * scrape every few seconds does not cost two API calls each.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Logger } from 'pino';
import type { KubeClient } from '../kube/client.js';

/** Why a request was refused; `status` is the HTTP answer. */
export interface Refusal {
  status: 401 | 403 | 503;
  message: string;
}

/** Decides one request: null to serve it, or a refusal. */
export type MetricsGuard = (req: IncomingMessage) => Promise<Refusal | null>;

/** Options of {@link metricsGuard}. */
export interface MetricsGuardOptions {
  /** The non-resource path SubjectAccessReviews ask about. Default `/metrics`. */
  path?: string;
  /** How long an allowed token is trusted without asking again. Default 60 000 ms. */
  allowTtlMs?: number;
  /** How long a refused token stays refused without asking again. Default 10 000 ms. */
  denyTtlMs?: number;
  /** Cached decisions at most; the oldest go first. Default 1024. */
  maxEntries?: number;
  /** The clock, for tests. */
  now?: () => number;
}

interface TokenReview {
  status?: {
    authenticated?: boolean;
    error?: string;
    user?: { username?: string; uid?: string; groups?: string[]; extra?: Record<string, string[]> };
  };
}

interface SubjectAccessReview {
  status?: { allowed?: boolean; denied?: boolean; reason?: string };
}

/** The bearer token of an Authorization header, or null. */
export function bearerToken(header: string | undefined): string | null {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return m ? m[1]! : null;
}

/** Short, non-reversible name of a token for logs and cache keys. */
function tokenKey(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/**
 * A guard that asks the API server (through `client`, as the operator's own identity,
 * which needs `create` on tokenreviews and subjectaccessreviews). API errors refuse with
 * 503 and are not cached.
 */
export function metricsGuard(
  client: KubeClient,
  log: Logger,
  options: MetricsGuardOptions = {},
): MetricsGuard {
  const path = options.path ?? '/metrics';
  const allowTtl = options.allowTtlMs ?? 60_000;
  const denyTtl = options.denyTtlMs ?? 10_000;
  const max = options.maxEntries ?? 1024;
  const now = options.now ?? Date.now;
  const cache = new Map<string, { refusal: Refusal | null; until: number }>();

  const decide = async (token: string): Promise<Refusal | null> => {
    const review = await client.request<TokenReview>(
      'POST',
      '/apis/authentication.k8s.io/v1/tokenreviews',
      {
        body: {
          apiVersion: 'authentication.k8s.io/v1',
          kind: 'TokenReview',
          spec: { token },
        },
      },
    );
    const user = review.status?.user;
    if (!review.status?.authenticated || !user?.username) {
      return { status: 401, message: 'Unauthorized' };
    }
    const access = await client.request<SubjectAccessReview>(
      'POST',
      '/apis/authorization.k8s.io/v1/subjectaccessreviews',
      {
        body: {
          apiVersion: 'authorization.k8s.io/v1',
          kind: 'SubjectAccessReview',
          spec: {
            user: user.username,
            uid: user.uid,
            groups: user.groups,
            extra: user.extra,
            nonResourceAttributes: { path, verb: 'get' },
          },
        },
      },
    );
    if (access.status?.allowed) return null;
    return {
      status: 403,
      message: `Forbidden: ${user.username} may not get ${path}`,
    };
  };

  return async (req) => {
    const token = bearerToken(req.headers.authorization);
    if (token === null) return { status: 401, message: 'Unauthorized: no bearer token' };
    const key = tokenKey(token);
    const t = now();
    const hit = cache.get(key);
    if (hit && hit.until > t) return hit.refusal;
    let refusal: Refusal | null;
    try {
      refusal = await decide(token);
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'metrics authentication unavailable');
      return { status: 503, message: 'authentication unavailable' };
    }
    if (refusal)
      log.debug(
        { token: `sha256:${key.slice(0, 12)}`, status: refusal.status },
        'metrics request refused',
      );
    cache.delete(key);
    cache.set(key, { refusal, until: t + (refusal ? denyTtl : allowTtl) });
    if (cache.size > max) cache.delete(cache.keys().next().value!);
    return refusal;
  };
}
