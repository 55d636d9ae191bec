/**
 * The operator's integration tests against the local control plane: clients, kubectl,
 * CRDs, and the operator's RBAC (from operator/rbac/role.yaml, bound to a ServiceAccount).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import {
  adminConfig,
  createNamespace,
  runTool,
  serviceAccountKubeconfig,
  type TestCluster,
} from '../cluster/harness.js';
import { KubeClient, isStatus } from '../../operator/src/kube/client.js';
import { accessFromKubeConfig } from '../../operator/src/kube/config.js';
import { ROOT, readRepoFile } from '../helpers/repo.js';

/** The ServiceAccount the operator runs as in these tests. */
export const OPERATOR_SA = 'wsgate-operator';
/** A valid image name; kwok never pulls it. */
export const TEST_IMAGE = 'registry.invalid/wsgate:integration';
/** Field manager of the tests' own writes. */
export const TEST_MANAGER = 'wsgate-operator-test';

/** An admin client (system:masters) for the tests' own reads and writes. */
export async function adminClient(cluster: TestCluster): Promise<KubeClient> {
  return new KubeClient(await accessFromKubeConfig(adminConfig(cluster)));
}

/** Runs kubectl as admin and fails the test on a non-zero exit. */
export async function kubectl(
  cluster: TestCluster,
  args: string[],
  input?: string,
): Promise<string> {
  const res = await runTool(cluster, 'kubectl', args, input === undefined ? {} : { input });
  assert.equal(res.code, 0, `kubectl ${args.join(' ')}: ${res.stderr}`);
  return res.stdout;
}

/** Applies (server-side, as the tests' manager) YAML or JSON documents with kubectl. */
export function applyDocs(cluster: TestCluster, docs: unknown[] | string): Promise<string> {
  const input =
    typeof docs === 'string' ? docs : docs.map((d) => JSON.stringify(d)).join('\n---\n');
  return kubectl(
    cluster,
    ['apply', '--server-side', '--force-conflicts', `--field-manager=${TEST_MANAGER}`, '-f', '-'],
    input,
  );
}

/** Applies crds/ and waits for the CRD to be Established. */
export async function installCrd(cluster: TestCluster): Promise<void> {
  await kubectl(cluster, [
    'apply',
    '--server-side',
    '--force-conflicts',
    `--field-manager=${TEST_MANAGER}`,
    '-f',
    join(ROOT, 'crds', 'wsgate.dev_websocketproxies.yaml'),
  ]);
  await kubectl(cluster, [
    'wait',
    '--for=condition=Established',
    '--timeout=30s',
    'customresourcedefinition/websocketproxies.wsgate.dev',
  ]);
}

/** Where the operator's RBAC went, for a test run. */
export interface OperatorAccount {
  /** The operator's own namespace (ServiceAccount, Lease). */
  namespace: string;
  /** A kubeconfig that impersonates the ServiceAccount. */
  kubeconfig: string;
  /** Grants `get` on Secrets in `namespace` (RoleBinding of wsgate-operator-secrets). */
  grantSecrets(namespace: string): Promise<void>;
}

/**
 * Creates a namespace with the operator's ServiceAccount and binds operator/rbac/role.yaml
 * to it the way the chart does: the ClusterRole cluster-wide, the leader-election Role in
 * the operator's namespace; Secrets only where grantSecrets() is called. Everything is
 * removed after the test (or suite) `t`.
 */
export async function operatorAccount(
  cluster: TestCluster,
  cleanup: (fn: () => Promise<void>) => void,
): Promise<OperatorAccount> {
  const namespace = await createNamespace(cluster, undefined, 'wsgate-op');
  const subject = { kind: 'ServiceAccount', name: OPERATOR_SA, namespace };
  const binding = `wsgate-operator-test-${namespace}`;
  cleanup(async () => {
    await runTool(cluster, 'kubectl', [
      'delete',
      'clusterrolebinding',
      binding,
      '--ignore-not-found',
    ]);
    await runTool(cluster, 'kubectl', ['delete', 'namespace', namespace, '--wait=false']);
  });
  const roles = parseAllDocuments(readRepoFile('operator/rbac/role.yaml')).map(
    (d) => d.toJS() as { kind: string; metadata: { name: string; namespace?: string } },
  );
  const docs: unknown[] = roles.map((r) =>
    r.kind === 'Role' ? { ...r, metadata: { ...r.metadata, namespace } } : r,
  );
  docs.push(
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: OPERATOR_SA, namespace } },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: binding },
      roleRef: {
        apiGroup: 'rbac.authorization.k8s.io',
        kind: 'ClusterRole',
        name: 'wsgate-operator',
      },
      subjects: [subject],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'wsgate-operator-leader-election', namespace },
      roleRef: {
        apiGroup: 'rbac.authorization.k8s.io',
        kind: 'Role',
        name: 'wsgate-operator-leader-election',
      },
      subjects: [subject],
    },
  );
  await applyDocs(cluster, docs);
  return {
    namespace,
    kubeconfig: serviceAccountKubeconfig(cluster, namespace, OPERATOR_SA),
    grantSecrets: async (target) => {
      await applyDocs(cluster, [
        {
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'RoleBinding',
          metadata: { name: 'wsgate-operator-secrets', namespace: target },
          roleRef: {
            apiGroup: 'rbac.authorization.k8s.io',
            kind: 'ClusterRole',
            name: 'wsgate-operator-secrets',
          },
          subjects: [subject],
        },
      ]);
    },
  };
}

/** `kubectl auth can-i` as the operator's ServiceAccount. */
export function canI(
  cluster: TestCluster,
  account: OperatorAccount,
  args: string[],
): Promise<boolean> {
  return canAs(cluster, account.namespace, OPERATOR_SA, args);
}

/** `kubectl auth can-i` as the ServiceAccount `namespace/name`. */
export async function canAs(
  cluster: TestCluster,
  namespace: string,
  name: string,
  args: string[],
): Promise<boolean> {
  const res = await runTool(cluster, 'kubectl', [
    'auth',
    'can-i',
    ...args,
    `--as=system:serviceaccount:${namespace}:${name}`,
  ]);
  assert.ok(res.code === 0 || res.code === 1, res.stderr);
  return res.stdout.trim() === 'yes';
}

/** True when GET `path` is refused with 403. */
export async function forbidden(client: KubeClient, path: string): Promise<boolean> {
  try {
    await client.get(path);
    return false;
  } catch (err) {
    return isStatus(err, 403);
  }
}

/** A random suffix for cluster-scoped names. */
export function suffix(): string {
  return randomBytes(3).toString('hex');
}

/** A CRD with an open schema (group/plural/kind as given), for kinds tests only need to exist. */
export function openCrd(group: string, plural: string, kind: string): unknown {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${plural}.${group}`, labels: { 'wsgate.dev/test': 'true' } },
    spec: {
      group,
      names: { kind, listKind: `${kind}List`, plural, singular: kind.toLowerCase() },
      scope: 'Namespaced',
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          schema: {
            openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
          },
        },
      ],
    },
  };
}

/** Applies `crd` (see openCrd) and waits for it to be Established. */
export async function createCrd(cluster: TestCluster, crd: unknown): Promise<void> {
  const name = (crd as { metadata: { name: string } }).metadata.name;
  await applyDocs(cluster, [crd]);
  await kubectl(cluster, [
    'wait',
    '--for=condition=Established',
    '--timeout=30s',
    `customresourcedefinition/${name}`,
  ]);
}

/**
 * Makes sure a ServiceMonitor CRD exists (prometheus-operator is not part of the local
 * control plane). A real one is never replaced, and the minimal one stays for other tests,
 * as test/chart does it.
 */
export function ensureServiceMonitorCrd(cluster: TestCluster): Promise<void> {
  return ensureOpenCrd(cluster, 'monitoring.coreos.com', 'servicemonitors', 'ServiceMonitor');
}

/** Creates an open (schema-less) CRD unless one of that name is installed already. */
export async function ensureOpenCrd(
  cluster: TestCluster,
  group: string,
  plural: string,
  kind: string,
): Promise<void> {
  const res = await runTool(cluster, 'kubectl', [
    'get',
    `customresourcedefinition/${plural}.${group}`,
    '--ignore-not-found',
    '-o',
    'name',
  ]);
  if (res.stdout.trim() !== '') return;
  await createCrd(cluster, openCrd(group, plural, kind));
}
