import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Finds the repository root by walking up from this file to the package.json
 * named "wsgate". The code runs from dist/test/cluster/, so a fixed "../../.."
 * would break if the output layout changed; walking is cheap and bounded.
 */
function findRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 10; i++) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      const { name } = JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string };
      if (name === 'wsgate') return dir;
    }
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  throw new Error(`cannot find the wsgate repository root above ${import.meta.url}`);
}

/** Repository root (the directory holding wsgate's package.json). */
export const ROOT = findRoot();

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
