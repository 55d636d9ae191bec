import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { buildComponent, componentDir, isBuilt } from './go-build.js';
import { COMPONENTS, type Component } from './versions.js';

/** Absolute paths of every binary and data file the control plane needs. */
export interface Assets {
  readonly etcd: string;
  readonly kubeApiserver: string;
  readonly kubeControllerManager: string;
  readonly kubeScheduler: string;
  readonly kubectl: string;
  readonly kwok: string;
  readonly certManager: string;
  readonly helm: string;
  /** kwok stage files, each passed with `-c`. */
  readonly kwokStages: readonly string[];
  /** Directory of cert-manager's CRD manifests. */
  readonly certManagerCrds: string;
}

/**
 * Directories of prebuilt binaries, in order of preference:
 * WSGATE_KUBE_ASSETS (any of this project's binaries, optionally with
 * kwok-stages/ and cert-manager-crds/, e.g. a copy of the kube cache's <key>/
 * merged), then KUBEBUILDER_ASSETS (envtest's: etcd, kube-apiserver, kubectl).
 */
function userDirs(): string[] {
  return ['WSGATE_KUBE_ASSETS', 'KUBEBUILDER_ASSETS']
    .map((v) => process.env[v])
    .filter((d): d is string => d !== undefined && d !== '');
}

function fromUser(file: string): string | undefined {
  return userDirs()
    .map((d) => join(d, file))
    .find((p) => existsSync(p));
}

/** Whether everything a component provides is already supplied by the user. */
function suppliedByUser(c: Component): boolean {
  const bins = c.targets.every((t) => fromUser(t.bin) !== undefined);
  return bins && (c.data === undefined || fromUser(c.data.dest) !== undefined);
}

/**
 * Returns every asset, building (once, cached, under a lock) each component
 * that the user did not supply. `log` receives progress lines.
 */
export async function ensureAssets(log: (s: string) => void): Promise<Assets> {
  const dirs = new Map<string, string>();
  for (const c of COMPONENTS) {
    if (!suppliedByUser(c)) dirs.set(c.name, await buildComponent(c, log));
  }
  const pick = (component: string, file: string): string => {
    const user = fromUser(file);
    if (user !== undefined) return user;
    const dir = dirs.get(component);
    if (dir === undefined)
      throw new Error(`no ${file}: ${component} was neither supplied nor built`);
    return join(dir, file);
  };
  const stagesDir = pick('kwok', 'kwok-stages');
  return {
    etcd: pick('etcd', 'etcd'),
    kubeApiserver: pick('kube', 'kube-apiserver'),
    kubeControllerManager: pick('kube', 'kube-controller-manager'),
    kubeScheduler: pick('kube', 'kube-scheduler'),
    kubectl: pick('kube', 'kubectl'),
    kwok: pick('kwok', 'kwok'),
    certManager: pick('certmanager', 'cert-manager-controller'),
    helm: pick('helm', 'helm'),
    kwokStages: readdirSync(stagesDir)
      .filter((f) => f.endsWith('.yaml'))
      .sort()
      .map((f) => join(stagesDir, f)),
    certManagerCrds: pick('certmanager', 'cert-manager-crds'),
  };
}

/** One line per component: supplied, built (with its cache directory) or missing. */
export function describeAssets(): string[] {
  return COMPONENTS.map((c) => {
    if (suppliedByUser(c)) return `${c.name} ${c.version}: supplied by the user`;
    if (isBuilt(c)) return `${c.name} ${c.version}: built in ${componentDir(c)}`;
    return `${c.name} ${c.version}: not built yet`;
  });
}
