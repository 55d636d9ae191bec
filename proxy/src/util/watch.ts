/**
 * Calls `onChange` when a file or directory we read may have changed. Watches the
 * *containing directory* rather than the file: Kubernetes updates mounted Secrets and
 * ConfigMaps by swapping the `..data` symlink, which replaces the file's inode and
 * would silently end a watch on the file itself. A slow poll backs up inotify, which
 * can miss events on some filesystems; callers compare content, so spurious calls
 * are harmless. The waking half of util/watched-file.ts, which every reloaded file uses.
 */
import { watch, type FSWatcher } from 'node:fs';
import { dirname } from 'node:path';

export interface Watcher {
  close(): void;
}

export interface WatchOptions {
  /** Coalesce bursts of events (a symlink swap is several). Default 100 ms. */
  debounceMs?: number;
  /** Fallback poll. Default 10 s. */
  pollMs?: number;
}

export function watchPaths(
  paths: readonly string[],
  onChange: () => void,
  opts: WatchOptions = {},
): Watcher {
  const debounceMs = opts.debounceMs ?? 100;
  let timer: NodeJS.Timeout | undefined;
  const fire = () => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      onChange();
    }, debounceMs);
    timer.unref();
  };
  const watchers: FSWatcher[] = [];
  for (const dir of new Set(paths.flatMap((p) => [p, dirname(p)]))) {
    try {
      const w = watch(dir, { persistent: false }, fire);
      w.on('error', () => w.close());
      watchers.push(w);
    } catch {
      // Not a directory, or gone: the poll still covers it.
    }
  }
  const poll = setInterval(onChange, opts.pollMs ?? 10_000);
  poll.unref();
  return {
    close() {
      clearInterval(poll);
      if (timer) clearTimeout(timer);
      for (const w of watchers) w.close();
    },
  };
}
