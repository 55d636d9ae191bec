/**
 * websockify's TokenFile resolver: `token: host:port` per line, `#` comments, IPv6 as
 * `[::1]:5900`; a directory means every regular file in it. Re-read on change.
 *
 * What a reload installs is judged file by file, so that one broken file in a directory
 * neither blocks nor revokes the others:
 * - empty, or only comments and blank lines: valid and empty. Emptying a file is how an
 *   operator revokes its tokens, so it must work.
 * - not text (a NUL byte or invalid UTF-8), unreadable, or lines of which not one is a
 *   valid entry: rejected; the file keeps its last good entries. Garbage must not look
 *   like a revocation.
 * - valid entries and some bad lines: the valid entries are installed and each bad line
 *   is reported with its number (websockify skips bad lines too). Holding the whole file
 *   back instead would also hold back the revocations and additions in it because of one
 *   unrelated typo; the cost is that a token whose own line is broken stops working,
 *   which is what its line now says.
 * A path that cannot be read or listed at all keeps the whole last good table.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { SettingError } from '../config/setting-error.js';
import { WatchedFile, type Source } from '../util/watched-file.js';
import { parseTokenTarget } from './target-claims.js';
import type { Resolution, Target, TokenResolver } from './types.js';

/** What is wrong, and where; never the offending text, which may be a secret. */
export interface TokenFileProblem {
  /** Set by the readers; absent for `parseTokenFile`'s own results. */
  file?: string;
  /** 1-based; absent when the problem is the whole file. */
  line?: number;
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
    const value = line.slice(sep + 1).trim();
    try {
      into.set(token, parseTokenTarget(value));
    } catch (e) {
      // Problems are logged, and a line that is not an entry may hold anything (a secret
      // pasted into the wrong file): say what is wrong without quoting it.
      problems.push({ line: i + 1, message: (e as Error).message.replace(`"${value}"`, 'target') });
    }
  }
  return { tokens: into, problems };
}

/** One file as read: its entries, or none when it is rejected and keeps its last good ones. */
export interface FileReading {
  file: string;
  /** Equal prints mean equal outcomes: nothing to reload or report. */
  print: string;
  /** Undefined when the file is rejected. */
  tokens?: Map<string, Target>;
  problems: TokenFileProblem[];
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Judges one file's bytes (see the module comment). Pure. */
export function judgeTokenFile(file: string, bytes: Uint8Array): FileReading {
  const print = createHash('sha256').update(bytes).digest('base64');
  let text: string | undefined;
  try {
    if (!bytes.includes(0)) text = utf8.decode(bytes);
  } catch {
    // invalid UTF-8: not a token file
  }
  if (text === undefined) {
    return {
      file,
      print,
      problems: [{ file, message: 'not a text file (NUL byte or invalid UTF-8)' }],
    };
  }
  const parsed = parseTokenFile(text);
  const problems = parsed.problems.map((p) => ({ file, ...p }));
  if (parsed.tokens.size === 0 && problems.length > 0) return { file, print, problems };
  return { file, print, tokens: parsed.tokens, problems };
}

/**
 * Reads a file, or every regular non-hidden file of a directory (Secret mounts hold
 * `..data`), in name order. Throws only when `path` itself cannot be read or listed; a
 * directory's file that cannot be read is a rejected reading.
 */
export function readTokenFiles(path: string): FileReading[] {
  if (!statSync(path).isDirectory()) return [judgeTokenFile(path, readFileSync(path))];
  const readings: FileReading[] = [];
  for (const name of readdirSync(path).sort()) {
    if (name.startsWith('.')) continue;
    const file = join(path, name);
    try {
      if (!statSync(file).isFile()) continue;
      readings.push(judgeTokenFile(file, readFileSync(file)));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? String(e);
      readings.push({ file, print: `error ${code}`, problems: [{ file, message: code }] });
    }
  }
  return readings;
}

/** The table a set of readings installs, given each file's last good entries. */
export interface TokenTable {
  /** Each file's entries now in force (its last good ones when its reading was rejected). */
  byFile: Map<string, Map<string, Target>>;
  /** All entries; a later file wins a token named twice, as a later line does. */
  tokens: Map<string, Target>;
  problems: TokenFileProblem[];
  /** Files whose reading was rejected (they keep their last good entries, if any). */
  kept: string[];
}

/** Merges readings over the previous per-file entries. Pure. */
export function mergeReadings(
  readings: readonly FileReading[],
  previous: ReadonlyMap<string, Map<string, Target>> = new Map(),
): TokenTable {
  const byFile = new Map<string, Map<string, Target>>();
  const tokens = new Map<string, Target>();
  const problems: TokenFileProblem[] = [];
  const kept: string[] = [];
  for (const r of readings) {
    problems.push(...r.problems);
    if (!r.tokens) kept.push(r.file);
    const entries = r.tokens ?? previous.get(r.file);
    if (!entries) continue;
    byFile.set(r.file, entries);
    for (const [token, target] of entries) tokens.set(token, target);
  }
  return { byFile, tokens, problems, kept };
}

/** Reads and merges with no previous table: what the resolver starts from. */
export function readTokenSource(path: string): TokenTable {
  return mergeReadings(readTokenFiles(path));
}

/** Bad lines listed in one reload report at most; `problemCount` has the total. */
const REPORTED_PROBLEMS = 20;

/** What one reload did, for the log line and the metric. */
export interface TokenFileReload {
  /** Entries in force after the reload. */
  count: number;
  /** The first few problems, each with its file and line number. */
  problems: TokenFileProblem[];
  problemCount: number;
  /** Files (or the path itself) rejected and left at their last good entries. */
  kept: string[];
}

export interface TokenFileEvents {
  /**
   * After every re-read whose outcome differs from the last one: 'ok' when every file
   * was valid, 'error' when a line or a file had a problem.
   */
  onReload?(result: 'ok' | 'error', detail: TokenFileReload): void;
}

/** The path as a source for the watcher: no stamp (a directory's files each have their own), always read. */
function tokenSource(path: string): Source<FileReading[]> {
  return {
    paths: [path],
    read() {
      let readings: FileReading[];
      try {
        readings = readTokenFiles(path);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code ?? String(e);
        throw new SettingError('--token-file', `cannot read ${path}: ${code}`, { cause: e });
      }
      return { data: readings, print: printOf(readings) };
    },
  };
}

/** The errno code of a failed read, as the reload report's problem says it. */
function codeOf(e: SettingError): string {
  const cause = e.cause as NodeJS.ErrnoException | undefined;
  return cause?.code ?? (cause === undefined ? e.detail : String(cause));
}

export class TokenFileResolver implements TokenResolver {
  readonly name = 'file';
  readonly #file: WatchedFile<FileReading[], TokenTable>;

  /**
   * Reads the source once and starts watching it. Throws a SettingError (`--token-file`)
   * if the path cannot be read, or if it holds problems and not one valid entry: there is
   * no last good table to keep at start, and starting with none would hide the mistake.
   * (An empty file, or one of comments only, starts with an empty table.)
   */
  constructor(
    readonly path: string,
    private readonly events: TokenFileEvents = {},
    watch = true,
  ) {
    this.#file = new WatchedFile<FileReading[], TokenTable>({
      setting: '--token-file',
      source: tokenSource(path),
      parse: (readings, previous) => {
        const table = mergeReadings(readings, previous?.byFile);
        if (previous === undefined) refuseUnusable(path, table);
        return table;
      },
      judge: (table) => (table.problems.length ? 'error' : 'ok'),
      watch,
      onReload: (r) => {
        if (!r.error) {
          events.onReload?.(r.result, this.#report());
          return;
        }
        // Mid-swap or deleted: keep serving the last good table.
        events.onReload?.('error', {
          count: this.size,
          problems: [{ file: path, message: codeOf(r.error) }],
          problemCount: 1,
          kept: [path],
        });
      },
    });
    if (this.#file.value.problems.length) events.onReload?.('error', this.#report());
  }

  /** The targets the file names: the default target allow-list for file-based setups. */
  targets(): Target[] {
    return [...this.#file.value.tokens.values()];
  }

  get size(): number {
    return this.#file.value.tokens.size;
  }

  resolve(token: string): Resolution {
    const target = this.#file.value.tokens.get(token);
    return target ? { kind: 'target', target } : { kind: 'unknown' };
  }

  /** Re-reads the source now (the watcher does this on its own). */
  reload(): void {
    this.#file.check();
  }

  close(): void {
    this.#file.close();
  }

  #report(): TokenFileReload {
    const { tokens, problems, kept } = this.#file.value;
    return {
      count: tokens.size,
      problems: problems.slice(0, REPORTED_PROBLEMS),
      problemCount: problems.length,
      kept,
    };
  }
}

/** At start: problems and not one valid entry is an error, not an empty table. */
function refuseUnusable(path: string, { tokens, problems }: TokenTable): void {
  if (tokens.size > 0 || problems.length === 0) return;
  const first = problems[0]!;
  const more = problems.length > 1 ? ` (and ${problems.length - 1} more problems)` : '';
  throw new SettingError(
    '--token-file',
    `${path}: no valid "token: host:port" entry; ` +
      `${first.file ?? path}${first.line ? ` line ${first.line}` : ''}: ${first.message}${more}`,
  );
}

function printOf(readings: readonly FileReading[]): string {
  return readings.map((r) => `${r.file}\0${r.print}`).join('\n');
}
