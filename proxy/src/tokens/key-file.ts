/**
 * A key or certificate file that follows its changes, on the one file watcher
 * (util/watched-file.ts): a Kubernetes `..data` swap or a rewrite is noticed, and a new
 * file that fails to parse never replaces the last good value: an operator's typo must
 * not turn every console off. Errors name the file, never any of its content.
 */
import { SettingError } from '../config/setting-error.js';
import { filesSource, WatchedFile } from '../util/watched-file.js';

/** Reload notifications, wired by the caller to `wsgate_config_reloads_total` and logs. */
export interface KeyFileEvents {
  /** The file changed and the new content is now in use. */
  onReload?(path: string): void;
  /**
   * The file changed but could not be read or parsed; the previous key stays in use.
   * `error.setting` names the option, `error.detail` the file and what is wrong with it.
   */
  onReloadError?(error: SettingError, path: string): void;
}

export interface KeyFileOptions<T> extends KeyFileEvents {
  /** The setting that names the file (`jwtKey`, `--admin-token-file`): errors carry it. */
  setting: string;
  path: string;
  /** Turns the file's bytes into the value; throws to reject them. */
  parse(content: Buffer): T;
  /** Watch for changes. Default true; tests and one-shot tools pass false and call `check()`. */
  watch?: boolean;
  /** Fallback poll in milliseconds. Default 10 000. */
  pollMs?: number;
}

/** `path: what is wrong`, with a missing file said plainly. */
function problem(setting: string, path: string, e: unknown): SettingError {
  const err = e as NodeJS.ErrnoException;
  const why = err.code === 'ENOENT' ? 'file not found' : err.message;
  return new SettingError(setting, `${path}: ${why}`, { cause: e });
}

/** Reads and parses the file now (throwing a SettingError naming it) and follows it. */
export function watchKeyFile<T>(o: KeyFileOptions<T>): WatchedFile<Buffer[], T> {
  return new WatchedFile<Buffer[], T>({
    setting: o.setting,
    source: filesSource([o.path], (path, e) => problem(o.setting, path, e)),
    parse: ([content]) => {
      try {
        return o.parse(content!);
      } catch (e) {
        throw problem(o.setting, o.path, e);
      }
    },
    watch: o.watch,
    pollMs: o.pollMs,
    onReload: (r) => {
      if (r.error) o.onReloadError?.(r.error, o.path);
      else o.onReload?.(o.path);
    },
  });
}
