import { homedir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../helpers/repo.js';

export { ROOT };

/** Go wrapper modules, one directory per built component. */
export const GO_DIR = join(ROOT, 'test', 'cluster', 'go');

/**
 * Built binaries, one directory per component and version key. It lives in the user's
 * cache directory, not the checkout, so every clone on a machine (CI's fresh clones
 * included) reuses what was built once: a build takes about 25 minutes on 2 cores.
 * `WSGATE_KUBE_CACHE` moves it.
 */
export const KUBE_CACHE = kubeCacheDir(process.env);

/** `$WSGATE_KUBE_CACHE`, else `$XDG_CACHE_HOME/wsgate/kube`, else `~/.cache/wsgate/kube`. */
export function kubeCacheDir(env: NodeJS.ProcessEnv, home = homedir()): string {
  if (env.WSGATE_KUBE_CACHE) return env.WSGATE_KUBE_CACHE;
  // The XDG spec says a relative XDG_CACHE_HOME is invalid and must be ignored.
  const xdg = env.XDG_CACHE_HOME?.startsWith('/') ? env.XDG_CACHE_HOME : join(home, '.cache');
  return join(xdg, 'wsgate', 'kube');
}

/** Running control plane: state, PKI, data, PID files and logs (outside git). */
export const CLUSTER_DIR = join(ROOT, '.cache', 'cluster');

/** Everything under CLUSTER_DIR that `down` removes (logs are kept for post-mortems). */
export const STATE_DIR = join(CLUSTER_DIR, 'state');

/** Process logs, one file per component; truncated by the next `up`. */
export const LOG_DIR = join(CLUSTER_DIR, 'logs');

/** The admin kubeconfig, a stable path that tests and tools can rely on. */
export const ADMIN_KUBECONFIG = join(CLUSTER_DIR, 'admin.kubeconfig');

/** Serialises `up`, `down` and the watchdog's teardown. */
export const CLUSTER_LOCK = join(CLUSTER_DIR, 'cluster.lock');

/** Serialises builds, so concurrent callers do not build the same thing twice. */
export const BUILD_LOCK = join(KUBE_CACHE, 'build.lock');
