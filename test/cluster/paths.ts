import { join } from 'node:path';
import { ROOT } from '../helpers/repo.js';

export { ROOT };

/** Go wrapper modules, one directory per built component. */
export const GO_DIR = join(ROOT, 'test', 'cluster', 'go');

/**
 * Built binaries, one directory per component and version key (outside git).
 * `WSGATE_KUBE_CACHE` moves it out of the checkout, so fresh clones on the same machine
 * (CI) reuse binaries already built for the same versions.
 */
export const KUBE_CACHE = process.env.WSGATE_KUBE_CACHE || join(ROOT, '.cache', 'kube');

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
