/**
 * The chart's aggregated ClusterRoles against the real API server, whose
 * controller-manager runs the clusterrole-aggregation controller: users bound in a
 * namespace to Kubernetes' built-in view, edit or admin ClusterRole get the matching
 * rights on that namespace's WebSocketProxies, checked with `kubectl auth can-i` as each
 * user; other namespaces stay closed, and uninstalling removes the roles.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  createNamespace,
  runTool,
  skipCluster,
  startCluster,
  type TestCluster,
} from '../cluster/harness.js';
import { applyDocs, installCrd, suffix } from '../operator/kube.js';
import { until } from '../operator/waits.js';
import { find, parseObjects, template } from './helpers.js';
import { installWithoutCrd, uninstallWithNamespaces } from './rbac.js';

const WSP = 'websocketproxies.wsgate.dev';

/** `kubectl auth can-i VERB RESOURCE -n NS --as USER`: true for yes, false for no. */
async function can(cluster: TestCluster, user: string, ns: string, args: string[]) {
  const res = await runTool(cluster, 'kubectl', [
    'auth',
    'can-i',
    ...args,
    '-n',
    ns,
    `--as=${user}`,
  ]);
  assert.ok(res.code === 0 || res.code === 1, res.stderr);
  return res.stdout.trim() === 'yes';
}

describe('aggregated WebSocketProxy roles', { skip: skipCluster, timeout: 300_000 }, () => {
  let cluster: TestCluster;
  let rel: string;
  let relNs: string;
  let ns: string;
  let other: string;
  let installed = false;
  const id = suffix();
  const users = { viewer: `viewer-${id}`, editor: `editor-${id}`, admin: `admin-${id}` };

  before(async () => {
    cluster = await startCluster();
    await installCrd(cluster);
    relNs = await createNamespace(cluster, undefined, 'chart-roles');
    ns = await createNamespace(cluster, undefined, 'roles');
    other = await createNamespace(cluster, undefined, 'roles-other');
    const bind = (user: string, role: string) => ({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: `${role}-${user}`, namespace: ns },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: user }],
    });
    await applyDocs(cluster, [
      bind(users.viewer, 'view'),
      bind(users.editor, 'edit'),
      bind(users.admin, 'admin'),
    ]);
    rel = `roles-${id}`;
    await installWithoutCrd(cluster, rel, relNs, []);
    installed = true;
  });

  after(async () => {
    if (installed) await uninstallWithNamespaces(cluster, rel, relNs, [ns, other]);
  });

  it('renders three roles labelled for aggregation, without wildcards, unless turned off', async () => {
    const objects = parseObjects(await template(cluster, 'wsgate', 'wsgate-system'));
    for (const [suffixName, target] of [
      ['viewer', 'view'],
      ['editor', 'edit'],
      ['admin', 'admin'],
    ] as const) {
      const role = find(objects, 'ClusterRole', `wsgate-websocketproxy-${suffixName}`);
      assert.equal(
        role.metadata.labels?.[`rbac.authorization.k8s.io/aggregate-to-${target}`],
        'true',
      );
      assert.doesNotMatch(JSON.stringify(role['rules']), /"\*"/);
    }
    const off = parseObjects(
      await template(cluster, 'wsgate', 'wsgate-system', ['--set', 'rbac.aggregatedRoles=false']),
    );
    assert.equal(off.filter((o) => o.metadata.name.includes('websocketproxy-')).length, 0);
  });

  it('view: get, list, watch; no create, update, patch or delete', async () => {
    // Aggregation is asynchronous: wait until the controller folded the rules in.
    await until('view to include WebSocketProxies', async () =>
      (await can(cluster, users.viewer, ns, ['get', WSP])) ? true : undefined,
    );
    for (const verb of ['list', 'watch'])
      assert.ok(await can(cluster, users.viewer, ns, [verb, WSP]), verb);
    assert.ok(await can(cluster, users.viewer, ns, ['get', WSP, '--subresource=status']));
    for (const verb of ['create', 'update', 'patch', 'delete', 'deletecollection']) {
      assert.equal(await can(cluster, users.viewer, ns, [verb, WSP]), false, verb);
    }
  });

  for (const who of ['editor', 'admin'] as const) {
    it(`${who === 'editor' ? 'edit' : 'admin'}: also create, update, patch, delete and scale; not status`, async () => {
      const user = users[who];
      await until(`${who} to include WebSocketProxies`, async () =>
        (await can(cluster, user, ns, ['create', WSP])) ? true : undefined,
      );
      for (const verb of [
        'get',
        'list',
        'watch',
        'update',
        'patch',
        'delete',
        'deletecollection',
      ]) {
        assert.ok(await can(cluster, user, ns, [verb, WSP]), verb);
      }
      assert.ok(await can(cluster, user, ns, ['patch', WSP, '--subresource=scale']));
      assert.equal(await can(cluster, user, ns, ['patch', WSP, '--subresource=status']), false);
    });
  }

  it('grants nothing outside the bound namespace', async () => {
    for (const user of Object.values(users)) {
      assert.equal(await can(cluster, user, other, ['get', WSP]), false, user);
    }
  });

  it('uninstalling removes the three roles', async () => {
    // Whether `view` then loses the rules depends on every other release of the chart in
    // the cluster (their roles aggregate the same rules), so the check is on this
    // release's own roles; the tests above prove that what they hold reaches view, edit
    // and admin.
    const names = ['viewer', 'editor', 'admin'].map(
      (r) => `clusterrole/${rel}-wsgate-websocketproxy-${r}`,
    );
    const before = await runTool(cluster, 'kubectl', ['get', ...names, '-o', 'name']);
    assert.equal(before.stdout.trim().split('\n').length, 3, before.stderr);
    await runTool(cluster, 'helm', ['uninstall', rel, '-n', relNs]);
    installed = false;
    const after = await runTool(cluster, 'kubectl', [
      'get',
      ...names,
      '--ignore-not-found',
      '-o',
      'name',
    ]);
    assert.equal(after.stdout.trim(), '');
    await runTool(cluster, 'kubectl', ['delete', 'namespace', relNs, ns, other, '--wait=false']);
  });
});
