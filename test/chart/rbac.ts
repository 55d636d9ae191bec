/**
 * The release frame the RBAC checks share (the ServiceAccount permission suites of
 * chart.test.ts and operator.test.ts): the chart installed without its CRD, so that
 * they are about RBAC only and do not contend for the CRD, removed afterwards with its
 * namespaces; and `kubectl auth can-i` as the operator's ServiceAccount.
 */
import { runTool, type TestCluster } from '../cluster/harness.js';
import { canAs } from '../operator/kube.js';
import { CHART, ok, operatorName } from './helpers.js';

/** `helm install rel` into `ns` with crds.enabled=false and each of `sets` as `--set`. */
export async function installWithoutCrd(
  cluster: TestCluster,
  rel: string,
  ns: string,
  sets: string[],
): Promise<void> {
  await ok(cluster, 'helm', [
    'install',
    rel,
    CHART,
    '-n',
    ns,
    '--set',
    'crds.enabled=false',
    ...sets.flatMap((value) => ['--set', value]),
  ]);
}

/** Uninstalls `rel` from `ns`, then deletes `ns` and `others` without waiting. */
export async function uninstallWithNamespaces(
  cluster: TestCluster,
  rel: string,
  ns: string,
  others: string[],
): Promise<void> {
  await runTool(cluster, 'helm', ['uninstall', rel, '-n', ns]);
  await runTool(cluster, 'kubectl', ['delete', 'namespace', ns, ...others, '--wait=false']);
}

/**
 * Whether the operator ServiceAccount of release `rel` (installed in `ns`) may do what
 * `args` asks `kubectl auth can-i`; asserts kubectl answered at all (yes or no).
 */
export function operatorCan(
  cluster: TestCluster,
  rel: string,
  ns: string,
  args: string[],
): Promise<boolean> {
  return canAs(cluster, ns, operatorName(rel), args);
}
