/**
 * A file, or a set of files read together, that follows its changes: read and parsed at
 * start (throwing, naming the setting), then re-read on every change, and the new value
 * installed only if it parses; otherwise the last good value stays and the failure is
 * reported. The token file, the JWT/oVirt/admin key files and the TLS pair all reload
 * through this one mechanism and report through one callback shape.
 *
 * Change detection has two steps: a cheap stamp (a `stat` of every file, which follows
 * symlinks) says whether to read at all, and the content's print says whether anything
 * changed. Each distinct outcome is reported once: a file that stays broken is not
 * reported again on every poll, and going back to the content in use is no reload.
 *
 * Kubernetes Secret volumes swap a `..data` symlink, which replaces every file at once
 * (and would end a watch on the files themselves): util/watch.ts watches the directories.
 * A set of files is read until the stamps taken before and after the read agree, so a
 * certificate and its key never come from two generations of the Secret.
 */
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { SettingError, settingError } from '../config/setting-error.js';
import { watchPaths, type Watcher } from './watch.js';

/** Content as read, with a print: equal prints mean equal content. */
export interface Reading<S> {
  data: S;
  print: string;
}

/** Where the content comes from. */
export interface Source<S> {
  /** Files or directories whose changes wake the watcher. */
  paths: readonly string[];
  /** A cheap summary of the files' state: equal stamps mean no need to read. Never throws. */
  stamp?(): string;
  /** Reads the content; throws (a SettingError naming the file, preferably) when it cannot. */
  read(): Reading<S>;
}

/** One reload's outcome, reported after every change of outcome. */
export interface Reload<T> {
  /**
   * 'ok': the new content is in use. 'error': it was rejected (`error` says why) and the
   * last good value kept, or it was installed with problems (`judge`).
   */
  result: 'ok' | 'error';
  /** The value in use now. */
  value: T;
  /** Set when the new content was rejected. */
  error?: SettingError;
}

export interface WatchedFileOptions<S, T> {
  /** The setting that names the file(s); errors without a more precise one carry it. */
  setting: string;
  source: Source<S>;
  /**
   * Turns content into the value; throws to reject it. `previous` is the value in use,
   * undefined at start (where a throw fails the start instead of keeping anything).
   */
  parse(data: S, previous: T | undefined): T;
  /** How an installed value is reported: 'error' when it was installed with problems. Default 'ok'. */
  judge?(value: T): 'ok' | 'error';
  onReload?(reload: Reload<T>): void;
  /** Watch for changes. Default true; tests and one-shot tools pass false and call `check()`. */
  watch?: boolean;
  /** Fallback poll in milliseconds. Default 10 000 (see util/watch.ts). */
  pollMs?: number;
}

/** What was last seen and what is in use, by print; a failed read is seen as `error:<message>`. */
export interface SeenState {
  stamp: string | undefined;
  seen: string;
  installed: string;
  /** The last thing seen was rejected. */
  failing: boolean;
}

/**
 * What a fresh reading calls for. 'unchanged': seen before, nothing to report. 'restored':
 * back to the content in use after a failure, nothing to install or report. 'new': parse
 * and install or reject. Pure.
 */
export function classify(state: SeenState, print: string): 'unchanged' | 'restored' | 'new' {
  if (print === state.seen) return 'unchanged';
  if (print === state.installed) return 'restored';
  return 'new';
}

/** Whether a failure should be reported: not when the same failure was the last thing seen. Pure. */
export function isNewFailure(state: SeenState, signature: string): boolean {
  return !(state.failing && state.seen === signature);
}

export class WatchedFile<S, T> {
  readonly setting: string;
  #value: T;
  #state: SeenState;
  readonly #opts: WatchedFileOptions<S, T>;
  readonly #watcher: Watcher | undefined;

  /** Reads and parses now; throws a SettingError if either fails. */
  constructor(opts: WatchedFileOptions<S, T>) {
    this.setting = opts.setting;
    this.#opts = opts;
    const stamp = opts.source.stamp?.();
    let reading: Reading<S>;
    try {
      reading = opts.source.read();
      this.#value = opts.parse(reading.data, undefined);
    } catch (e) {
      throw settingError(opts.setting, e);
    }
    this.#state = { stamp, seen: reading.print, installed: reading.print, failing: false };
    if (opts.watch ?? true) {
      this.#watcher = watchPaths(opts.source.paths, () => this.check(), { pollMs: opts.pollMs });
    }
  }

  /** The last good value. */
  get value(): T {
    return this.#value;
  }

  /**
   * Re-reads if the files' stamp moved and installs what parses. Returns what the files
   * hold now: 'error' while they are rejected, even when that was reported before.
   */
  check(): 'unchanged' | 'reloaded' | 'error' {
    const { source } = this.#opts;
    const stamp = source.stamp?.();
    if (stamp !== undefined && stamp === this.#state.stamp) {
      return this.#state.failing ? 'error' : 'unchanged';
    }
    let reading: Reading<S>;
    try {
      reading = source.read();
    } catch (e) {
      const error = settingError(this.setting, e);
      return this.#fail(`error:${error.message}`, undefined, error);
    }
    switch (classify(this.#state, reading.print)) {
      case 'unchanged':
        this.#state.stamp = stamp;
        return this.#state.failing ? 'error' : 'unchanged';
      case 'restored':
        // Same content as in use behind a new inode (a Secret re-sync, a revert).
        this.#state = { ...this.#state, stamp, seen: reading.print, failing: false };
        return 'unchanged';
      case 'new':
        break;
    }
    let value: T;
    try {
      value = this.#opts.parse(reading.data, this.#value);
    } catch (e) {
      return this.#fail(reading.print, stamp, settingError(this.setting, e));
    }
    this.#value = value;
    this.#state = { stamp, seen: reading.print, installed: reading.print, failing: false };
    this.#opts.onReload?.({ result: this.#opts.judge?.(value) ?? 'ok', value });
    return 'reloaded';
  }

  #fail(signature: string, stamp: string | undefined, error: SettingError): 'error' {
    const report = isNewFailure(this.#state, signature);
    this.#state = { ...this.#state, stamp, seen: signature, failing: true };
    if (report) this.#opts.onReload?.({ result: 'error', value: this.#value, error });
    return 'error';
  }

  /** Stops watching. */
  close(): void {
    this.#watcher?.close();
  }
}

/** A file's identity and version: it moves on any rewrite, rename over it or symlink swap. */
export function statStamp(path: string): string {
  try {
    const s = statSync(path, { bigint: true });
    return `${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`;
  } catch (e) {
    return `missing:${(e as NodeJS.ErrnoException).code ?? ''}`;
  }
}

export interface FileIo {
  stamp(path: string): string;
  read(path: string): Buffer;
}

const realIo: FileIo = { stamp: statStamp, read: (path) => readFileSync(path) };

/**
 * Reads `paths` as one consistent set: again (up to `attempts` times) while a stamp taken
 * after the read differs from one taken before, as when a Secret's `..data` swap lands
 * between reading the certificate and the key. Throws what the read throws. A set still
 * moving after the last attempt is returned as read: the change that moved it wakes the
 * watcher again. Pure given `io`.
 */
export function readConsistently(
  paths: readonly string[],
  io: FileIo = realIo,
  attempts = 3,
): Buffer[] {
  for (let i = 1; ; i++) {
    const before = paths.map((p) => io.stamp(p)).join('\n');
    const contents = paths.map((p) => io.read(p));
    const after = paths.map((p) => io.stamp(p)).join('\n');
    if (before === after || i >= attempts) return contents;
  }
}

/** SHA-256 over the contents, each length-prefixed so that moving bytes between files changes it. */
export function printOf(contents: readonly Buffer[]): string {
  const h = createHash('sha256');
  for (const c of contents) h.update(`${c.length}:`).update(c);
  return h.digest('base64');
}

/**
 * A source of files read together (a TLS pair and its CA). `describe` turns a failed
 * read of one file into the SettingError naming it.
 */
export function filesSource(
  paths: readonly string[],
  describe: (path: string, e: unknown) => SettingError,
  io: FileIo = realIo,
): Source<Buffer[]> {
  return {
    paths,
    stamp: () => paths.map((p) => io.stamp(p)).join('\n'),
    read() {
      const contents = readConsistently(paths, {
        stamp: io.stamp,
        read(path) {
          try {
            return io.read(path);
          } catch (e) {
            throw describe(path, e);
          }
        },
      });
      return { data: contents, print: printOf(contents) };
    },
  };
}
