/**
 * A key or certificate file that follows its changes. The directory watch (shared
 * with the token file, see util/watch.ts) notices Kubernetes' `..data` symlink swap;
 * every wake-up then compares a `stat` fingerprint, which follows symlinks, so only a
 * real change re-reads the file. A new file that fails to parse never replaces the
 * last good value: an operator's typo must not turn every console off.
 */
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { watchPaths, type Watcher } from '../util/watch.js';

/** Reload notifications, wired by the caller to `wsgate_config_reloads_total` and logs. */
export interface KeyFileEvents {
  /** The file changed and the new content is now in use. */
  onReload?(path: string): void;
  /** The file changed but could not be read or parsed; the previous key stays in use. */
  onReloadError?(error: Error, path: string): void;
}

export interface KeyFileOptions<T> extends KeyFileEvents {
  path: string;
  /** Turns the file's bytes into the value; throws to reject them. */
  parse(content: Buffer): T;
  /** Watch for changes. Default true; tests and one-shot tools pass false and call `check()`. */
  watch?: boolean;
  /** Fallback poll in milliseconds. Default 10 000. */
  pollMs?: number;
}

function fingerprint(path: string): string {
  const s = statSync(path, { bigint: true });
  return `${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`;
}

/** Prefixes the path so a reload error says which file, without any of its content. */
function wrap(path: string, e: unknown): Error {
  const err = e as NodeJS.ErrnoException;
  return new Error(`${path}: ${err.code === 'ENOENT' ? 'file not found' : err.message}`, {
    cause: e,
  });
}

/** Holds the parsed content of one watched file. */
export class KeyFile<T> {
  readonly path: string;
  #value: T;
  #stat: string;
  #digest: string;
  #lastError: string | undefined;
  readonly #opts: KeyFileOptions<T>;
  readonly #watcher: Watcher | undefined;

  /** Reads and parses the file now; throws (naming the path) if either fails. */
  constructor(opts: KeyFileOptions<T>) {
    this.path = opts.path;
    this.#opts = opts;
    try {
      this.#stat = fingerprint(opts.path);
      const content = readFileSync(opts.path);
      this.#value = opts.parse(content);
      this.#digest = createHash('sha256').update(content).digest('hex');
    } catch (e) {
      throw wrap(opts.path, e);
    }
    if (opts.watch ?? true) {
      this.#watcher = watchPaths([opts.path], () => this.check(), { pollMs: opts.pollMs });
    }
  }

  /** The last good value. */
  get value(): T {
    return this.#value;
  }

  /**
   * Re-reads the file if its fingerprint moved. Returns what happened; an error is
   * reported once per distinct failure, not on every poll while the file stays bad.
   */
  check(): 'unchanged' | 'reloaded' | 'error' {
    let stat: string;
    let content: Buffer;
    try {
      stat = fingerprint(this.path);
      if (stat === this.#stat) return 'unchanged';
      content = readFileSync(this.path);
    } catch (e) {
      return this.#fail(e, `io:${(e as NodeJS.ErrnoException).code ?? ''}`);
    }
    const digest = createHash('sha256').update(content).digest('hex');
    if (digest === this.#digest) {
      // Same bytes behind a new inode (a Secret re-sync): nothing to do.
      this.#stat = stat;
      this.#lastError = undefined;
      return 'unchanged';
    }
    let value: T;
    try {
      value = this.#opts.parse(content);
    } catch (e) {
      return this.#fail(e, `parse:${digest}`);
    }
    this.#value = value;
    this.#stat = stat;
    this.#digest = digest;
    this.#lastError = undefined;
    this.#opts.onReload?.(this.path);
    return 'reloaded';
  }

  #fail(e: unknown, signature: string): 'error' {
    if (signature !== this.#lastError) {
      this.#lastError = signature;
      this.#opts.onReloadError?.(wrap(this.path, e), this.path);
    }
    return 'error';
  }

  /** Stops watching. */
  close(): void {
    this.#watcher?.close();
  }
}
