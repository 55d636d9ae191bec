/** Shared helpers for the chart tests: paths, rendering, and objects of rendered manifests. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { parseAllDocuments, stringify } from 'yaml';
import { runTool, type TestCluster } from '../cluster/harness.js';
import { installCrd } from '../operator/kube.js';
import { ROOT } from '../helpers/repo.js';
import { matchYamlSnapshot } from '../helpers/snapshot.js';

export { ROOT };
/** The chart directory. */
export const CHART = join(ROOT, 'charts', 'wsgate');
/** Values files under charts/wsgate/ci, each rendered and dry-run by the tests. */
export const CI_VALUES = ['default', 'ha', 'namespaced'] as const;

/** A Kubernetes object as parsed from rendered YAML. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  [key: string]: unknown;
}

/** Parses a multi-document YAML stream, dropping empty documents. */
export function parseObjects(text: string): K8sObject[] {
  return parseAllDocuments(text)
    .map((d) => d.toJS() as K8sObject | null)
    .filter((o): o is K8sObject => o !== null && typeof o === 'object');
}

/** The one object of `kind` (and `name`, when given) among `objects`. */
export function find(objects: K8sObject[], kind: string, name?: string): K8sObject {
  const found = objects.filter(
    (o) => o.kind === kind && (name === undefined || o.metadata.name === name),
  );
  assert.equal(found.length, 1, `expected one ${kind} ${name ?? ''}, found ${found.length}`);
  return found[0]!;
}

/** Writes `values` to a temporary values file, removed after the test. */
export function valuesFile(t: TestContext, values: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), 'wsgate-values-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'values.yaml');
  writeFileSync(path, stringify(values));
  return path;
}

/** `helm template` of the chart; resolves to the manifest, or rejects with helm's stderr. */
export async function template(
  cluster: TestCluster,
  release: string,
  namespace: string,
  args: readonly string[] = [],
): Promise<string> {
  const res = await runTool(cluster, 'helm', [
    'template',
    release,
    CHART,
    '--namespace',
    namespace,
    ...args,
  ]);
  if (res.code !== 0) throw new Error(res.stderr || `helm template exited ${res.code}`);
  return res.stdout;
}

/** Runs a tool and asserts it succeeded; resolves to stdout. */
export async function ok(
  cluster: TestCluster,
  tool: 'kubectl' | 'helm',
  args: readonly string[],
  opts: { input?: string; kubeconfig?: string; timeoutMs?: number } = {},
): Promise<string> {
  const res = await runTool(cluster, tool, args, opts);
  assert.equal(res.code, 0, `${tool} ${args.join(' ')}\n${res.stderr}${res.stdout}`);
  return res.stdout;
}

/** The release's base name as the chart computes it (the release contains no "wsgate"). */
export function operatorName(release: string): string {
  return `${release}-wsgate-operator`;
}

/**
 * Makes an existing WebSocketProxy CRD adoptable by `release`: Helm refuses to install
 * over an object another release (or none) owns. A CRD kept by an earlier uninstall, or
 * applied by another test, is re-annotated rather than deleted, because deleting it
 * would delete every WebSocketProxy of tests running alongside.
 */
export async function adoptCrd(
  cluster: TestCluster,
  release: string,
  namespace: string,
): Promise<void> {
  const crd = 'customresourcedefinition/websocketproxies.wsgate.dev';
  const get = await runTool(cluster, 'kubectl', ['get', crd, '--ignore-not-found', '-o', 'name']);
  if (get.stdout.trim() === '') return;
  // A CRD applied from another version of crds/ (an earlier run on a kept control plane)
  // would make Helm's server-side apply conflict with that run's field manager: bring the
  // live CRD to this tree's, which the chart's template is generated from.
  await installCrd(cluster);
  await ok(cluster, 'kubectl', [
    'annotate',
    '--overwrite',
    crd,
    `meta.helm.sh/release-name=${release}`,
    `meta.helm.sh/release-namespace=${namespace}`,
  ]);
  await ok(cluster, 'kubectl', ['label', '--overwrite', crd, 'app.kubernetes.io/managed-by=Helm']);
}

/**
 * Compares rendered objects, as YAML, with test/chart/snapshots/NAME.yaml. Run with
 * UPDATE_SNAPSHOTS=1 to (re)write the file; review the diff before committing it.
 */
export function matchSnapshot(name: string, objects: K8sObject[]): void {
  matchYamlSnapshot('test/chart/snapshots', name, objects, { singleQuote: true });
}
