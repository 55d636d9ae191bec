/**
 * websockify's TokenFile resolver: `token: host:port` per line, `#` comments, IPv6 as
 * `[::1]:5900`; a directory means every regular file in it. Re-read on change; a
 * failed read keeps the last good table.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { watchPaths, type Watcher } from '../util/watch.js';
import { parseTokenTarget } from './target.js';
import type { Resolution, Target, TokenResolver } from './types.js';

export interface TokenFileProblem {
  line: number;
  message: string;
}

export interface ParsedTokens {
  tokens: Map<string, Target>;
  problems: TokenFileProblem[];
}

/** Parses one file's text. Bad lines are reported, not fatal, as in websockify. */
export function parseTokenFile(text: string, into = new Map<string, Target>()): ParsedTokens {
  const problems: TokenFileProblem[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    // websockify splits on the first ": "; accept a bare ":" too for hand-written files.
    let sep = line.indexOf(': ');
    if (sep < 0) sep = line.indexOf(':');
    if (sep <= 0) {
      problems.push({ line: i + 1, message: 'expected "token: host:port"' });
      continue;
    }
    const token = line.slice(0, sep).trim();
    try {
      into.set(token, parseTokenTarget(line.slice(sep + 1)));
    } catch (e) {
      problems.push({ line: i + 1, message: (e as Error).message });
    }
  }
  return { tokens: into, problems };
}

/** Reads a file, or every regular non-hidden file of a directory (Secret mounts hold `..data`). */
export function readTokenSource(path: string): ParsedTokens {
  const files = statSync(path).isDirectory()
    ? readdirSync(path)
        .filter((name) => !name.startsWith('.'))
        .map((name) => join(path, name))
        .filter((file) => statSync(file).isFile())
        .sort()
    : [path];
  const tokens = new Map<string, Target>();
  const problems: TokenFileProblem[] = [];
  for (const file of files) {
    const parsed = parseTokenFile(readFileSync(file, 'utf8'), tokens);
    for (const p of parsed.problems) problems.push({ ...p, message: `${file}: ${p.message}` });
  }
  return { tokens, problems };
}

export interface TokenFileEvents {
  /** After every re-read that changed the table, or failed. */
  onReload?(
    result: 'ok' | 'error',
    detail: { count?: number; error?: string; problems?: TokenFileProblem[] },
  ): void;
}

export class TokenFileResolver implements TokenResolver {
  readonly name = 'file';
  #tokens: Map<string, Target>;
  #fingerprint: string;
  #watcher: Watcher | undefined;

  /** Reads the source once (throwing if it cannot) and starts watching it. */
  constructor(
    readonly path: string,
    private readonly events: TokenFileEvents = {},
    watch = true,
  ) {
    const first = readTokenSource(path);
    this.#tokens = first.tokens;
    this.#fingerprint = fingerprint(first.tokens) + JSON.stringify(first.problems);
    if (first.problems.length) events.onReload?.('error', { problems: first.problems });
    if (watch) this.#watcher = watchPaths([path], () => this.reload());
  }

  /** The targets the file names: the default target allow-list for file-based setups. */
  targets(): Target[] {
    return [...this.#tokens.values()];
  }

  get size(): number {
    return this.#tokens.size;
  }

  resolve(token: string): Resolution {
    const target = this.#tokens.get(token);
    return target ? { kind: 'target', target } : { kind: 'unknown' };
  }

  reload(): void {
    let parsed: ParsedTokens;
    try {
      parsed = readTokenSource(this.path);
    } catch (e) {
      // Mid-swap or deleted: keep serving the last good table.
      this.events.onReload?.('error', { error: (e as NodeJS.ErrnoException).code ?? String(e) });
      return;
    }
    const print = fingerprint(parsed.tokens) + JSON.stringify(parsed.problems);
    if (print === this.#fingerprint) return;
    this.#tokens = parsed.tokens;
    this.#fingerprint = print;
    this.events.onReload?.(parsed.problems.length ? 'error' : 'ok', {
      count: parsed.tokens.size,
      problems: parsed.problems,
    });
  }

  close(): void {
    this.#watcher?.close();
  }
}

function fingerprint(tokens: Map<string, Target>): string {
  let s = '';
  for (const [k, v] of tokens) s += `${k}\0${v.host}\0${v.port}\0${v.unix ?? ''}\n`;
  return s;
}
