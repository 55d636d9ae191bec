/**
 * The Origin allow-list. Browsers send `Origin` on every WebSocket upgrade, so checking
 * it stops other web pages from opening consoles with a user's cookie token
 * (cross-site WebSocket hijacking). Entries are exact origins (`https://manager.example`),
 * wildcard subdomains (`https://*.example.com`, which does not match the bare domain),
 * or `*` for any. With no entries, only same-origin pages are accepted: the Origin's
 * host must equal the request's Host.
 */
export interface OriginDecision {
  allowed: boolean;
  reason?: string;
}

/** One allow-list entry other than `*`. */
export interface OriginPattern {
  scheme: string;
  /** Host with port, lowercase; for wildcards the suffix after "*". */
  host: string;
  wildcard: boolean;
}

/** Parses one `--allow-origin` entry; throws a RangeError naming what is wrong. */
export function parseOriginPattern(text: string): OriginPattern | 'any' {
  if (text === '*') return 'any';
  const m = /^(https?):\/\/(\*\.)?([a-z0-9.-]+(?::\d{1,5})?|\[[0-9a-f:.]+\](?::\d{1,5})?)$/i.exec(
    text,
  );
  if (!m)
    throw new RangeError(
      `"${text}" is not an origin (scheme://host[:port], https://*.domain, or *)`,
    );
  return { scheme: m[1]!.toLowerCase(), host: m[3]!.toLowerCase(), wildcard: m[2] !== undefined };
}

export class OriginPolicy {
  private readonly any: boolean;
  private readonly patterns: OriginPattern[];

  constructor(
    entries: readonly string[],
    private readonly allowMissing: boolean,
  ) {
    const parsed = entries.map(parseOriginPattern);
    this.any = parsed.includes('any');
    this.patterns = parsed.filter((p): p is OriginPattern => p !== 'any');
  }

  check(origin: string | undefined, host: string | undefined): OriginDecision {
    if (origin === undefined || origin === '') {
      return this.allowMissing
        ? { allowed: true }
        : {
            allowed: false,
            reason: 'no Origin header (non-browser clients need --allow-missing-origin)',
          };
    }
    if (this.any) return { allowed: true };
    const m = /^(https?):\/\/([^/]+)$/i.exec(origin);
    if (!m)
      return {
        allowed: false,
        reason: `origin ${JSON.stringify(origin.slice(0, 100))} not allowed`,
      };
    const scheme = m[1]!.toLowerCase();
    const originHost = m[2]!.toLowerCase();
    if (this.patterns.length === 0) {
      if (host !== undefined && originHost === host.toLowerCase()) return { allowed: true };
    }
    for (const p of this.patterns) {
      if (p.scheme !== scheme) continue;
      if (p.wildcard ? originHost.endsWith('.' + p.host) : originHost === p.host)
        return { allowed: true };
    }
    return { allowed: false, reason: `origin ${origin.slice(0, 100)} not allowed` };
  }
}
