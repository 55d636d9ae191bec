/**
 * Proves the harness runs a real control plane: scheduling onto kwok nodes,
 * garbage collection, cert-manager issuance, RBAC and CEL validation.
 */
import assert from 'node:assert/strict';
import { X509Certificate, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import {
  ApiException,
  ApiextensionsV1Api,
  AppsV1Api,
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  RbacAuthorizationV1Api,
} from '@kubernetes/client-node';
import {
  adminConfig,
  createNamespace,
  runTool,
  serviceAccountConfig,
  skipCluster,
  startCluster,
  type TestCluster,
} from './harness.js';
import { waitFor } from '../helpers/wait.js';
import { KWOK_NODE_ANNOTATION } from './processes.js';

/** Resolves to the API error's HTTP status, or fails if the call succeeded. */
async function statusOf(call: Promise<unknown>): Promise<{ code: number; body: string }> {
  try {
    await call;
  } catch (err) {
    if (err instanceof ApiException) {
      return {
        code: err.code,
        body: typeof err.body === 'string' ? err.body : JSON.stringify(err.body),
      };
    }
    throw err;
  }
  assert.fail('expected the API server to refuse the request');
}

describe('local control plane', { skip: skipCluster }, () => {
  let cluster: TestCluster;

  before(async () => {
    cluster = await startCluster();
  });

  it('serves the pinned version to kubectl and helm', async () => {
    const kubectl = await runTool(cluster, 'kubectl', ['version', '-o', 'json']);
    assert.equal(kubectl.code, 0, kubectl.stderr);
    const v = JSON.parse(kubectl.stdout) as {
      clientVersion: { gitVersion: string };
      serverVersion: { gitVersion: string };
    };
    assert.match(v.serverVersion.gitVersion, /^v1\.\d+\.\d+$/);
    assert.equal(v.clientVersion.gitVersion, v.serverVersion.gitVersion);
    const helm = await runTool(cluster, 'helm', ['version', '--short']);
    assert.equal(helm.code, 0, helm.stderr);
    assert.match(helm.stdout, /^v\d+\.\d+\.\d+/);
  });

  it('installs a chart with helm, passing its kubeVersion check', async (t) => {
    const ns = await createNamespace(cluster, t, 'helm');
    const chart = mkdtempSync(join(tmpdir(), 'wsgate-chart-'));
    t.after(() => rmSync(chart, { recursive: true, force: true }));
    mkdirSync(join(chart, 'templates'));
    // kubeVersion fails to parse against an unstamped API server ("v0.0.0-master+…").
    writeFileSync(
      join(chart, 'Chart.yaml'),
      'apiVersion: v2\nname: smoke\nversion: 0.1.0\nkubeVersion: ">=1.30.0-0"\n',
    );
    writeFileSync(
      join(chart, 'templates', 'configmap.yaml'),
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\ndata:\n  ok: "yes"\n',
    );
    const res = await runTool(cluster, 'helm', ['install', 'smoke', chart, '-n', ns, '--wait']);
    assert.equal(res.code, 0, res.stderr);
    const core = adminConfig(cluster).makeApiClient(CoreV1Api);
    const cm = await core.readNamespacedConfigMap({ name: 'smoke', namespace: ns });
    assert.equal(cm.data?.['ok'], 'yes');
  });

  it('runs a Deployment to its ready replicas on kwok nodes', async (t) => {
    const ns = await createNamespace(cluster, t, 'deploy');
    const kc = adminConfig(cluster);
    const apps = kc.makeApiClient(AppsV1Api);
    const labels = { app: 'web' };
    await apps.createNamespacedDeployment({
      namespace: ns,
      body: {
        metadata: { name: 'web' },
        spec: {
          replicas: 2,
          selector: { matchLabels: labels },
          template: {
            metadata: { labels },
            // kwok never pulls the image; the name only has to be valid.
            spec: { containers: [{ name: 'web', image: 'registry.invalid/web:1' }] },
          },
        },
      },
    });
    await waitFor(
      'Deployment web to have 2 ready replicas',
      async () => {
        const d = await apps.readNamespacedDeployment({ name: 'web', namespace: ns });
        return d.status?.readyReplicas === 2 ? d : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    );
    const pods = await kc.makeApiClient(CoreV1Api).listNamespacedPod({ namespace: ns });
    assert.equal(pods.items.length, 2);
    const core = kc.makeApiClient(CoreV1Api);
    for (const p of pods.items) {
      // Scheduled onto a node that kwok fakes (other tests or benchmarks may add more).
      const node = await core.readNode({ name: p.spec?.nodeName ?? '' });
      assert.equal(node.metadata?.annotations?.[KWOK_NODE_ANNOTATION], 'fake');
      assert.equal(p.status?.phase, 'Running');
    }
  });

  it('renews a node Lease for each kwok node, as kubelets do', async () => {
    // Without them the node lifecycle controller sees kwok's nodes go stale about once
    // a minute and marks their pods not ready (Deployments flap to unavailable).
    const kc = adminConfig(cluster);
    const nodes = await kc.makeApiClient(CoreV1Api).listNode();
    const kwokNodes = nodes.items
      .filter((n) => n.metadata?.annotations?.[KWOK_NODE_ANNOTATION] === 'fake')
      .map((n) => n.metadata!.name!);
    assert.ok(kwokNodes.length > 0, 'no kwok node');
    const leases = kc.makeApiClient(CoordinationV1Api);
    const renewed = async (name: string) =>
      (await leases.readNamespacedLease({ name, namespace: 'kube-node-lease' })).spec?.renewTime;
    const first = await Promise.all(kwokNodes.map(renewed));
    for (const [i, t] of first.entries()) assert.ok(t, `node ${kwokNodes[i]} has no Lease`);
    // kwok renews every quarter of the 40 s lease duration.
    await waitFor(
      'every kwok node Lease renewed',
      async () => {
        const now = await Promise.all(kwokNodes.map(renewed));
        return now.every((t, i) => t && first[i] && t > first[i]!) ? true : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 1000 },
    );
  });

  it('garbage-collects dependents when their owner is deleted', async (t) => {
    const ns = await createNamespace(cluster, t, 'gc');
    const core = adminConfig(cluster).makeApiClient(CoreV1Api);
    const owner = await core.createNamespacedConfigMap({
      namespace: ns,
      body: { metadata: { name: 'owner' } },
    });
    const ownerReferences = [
      { apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid: owner.metadata?.uid ?? '' },
    ];
    await core.createNamespacedConfigMap({
      namespace: ns,
      body: { metadata: { name: 'dependent', ownerReferences } },
    });
    await core.deleteNamespacedConfigMap({
      name: 'owner',
      namespace: ns,
      propagationPolicy: 'Background',
    });
    await waitFor(
      'the dependent ConfigMap to be garbage-collected',
      async () => {
        const list = await core.listNamespacedConfigMap({ namespace: ns });
        return list.items.some((c) => c.metadata?.name === 'dependent') ? undefined : true;
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    );
  });

  it('issues a cert-manager Certificate from a CA Issuer', async (t) => {
    const ns = await createNamespace(cluster, t, 'certs');
    const kc = adminConfig(cluster);
    const custom = kc.makeApiClient(CustomObjectsApi);
    const core = kc.makeApiClient(CoreV1Api);
    const create = (plural: string, body: object): Promise<unknown> =>
      custom.createNamespacedCustomObject({
        group: 'cert-manager.io',
        version: 'v1',
        namespace: ns,
        plural,
        body: { apiVersion: 'cert-manager.io/v1', ...body },
      });
    const ready = (plural: string, name: string): Promise<true> =>
      waitFor(
        `${plural}/${name} Ready`,
        async () => {
          const obj = (await custom.getNamespacedCustomObject({
            group: 'cert-manager.io',
            version: 'v1',
            namespace: ns,
            plural,
            name,
          })) as { status?: { conditions?: Array<{ type: string; status: string }> } };
          const ok = obj.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
          return ok === true ? true : undefined;
        },
        { timeoutMs: 60_000, intervalMs: 250 },
      );

    // The usual bootstrap: a self-signed issuer makes the CA, the CA issuer signs the leaf.
    await create('issuers', {
      kind: 'Issuer',
      metadata: { name: 'bootstrap' },
      spec: { selfSigned: {} },
    });
    await create('certificates', {
      kind: 'Certificate',
      metadata: { name: 'ca' },
      spec: {
        isCA: true,
        commonName: 'wsgate test CA',
        secretName: 'ca',
        privateKey: { algorithm: 'ECDSA', size: 256 },
        issuerRef: { name: 'bootstrap', kind: 'Issuer', group: 'cert-manager.io' },
      },
    });
    await ready('certificates', 'ca');
    await create('issuers', {
      kind: 'Issuer',
      metadata: { name: 'ca' },
      spec: { ca: { secretName: 'ca' } },
    });
    await ready('issuers', 'ca');
    await create('certificates', {
      kind: 'Certificate',
      metadata: { name: 'leaf' },
      spec: {
        secretName: 'leaf-tls',
        dnsNames: ['console.example.test'],
        issuerRef: { name: 'ca', kind: 'Issuer', group: 'cert-manager.io' },
      },
    });
    await ready('certificates', 'leaf');

    const secretPem = async (name: string): Promise<X509Certificate> => {
      const s = await core.readNamespacedSecret({ name, namespace: ns });
      const data = s.data?.['tls.crt'];
      assert.ok(data, `secret ${name} has tls.crt`);
      return new X509Certificate(Buffer.from(data, 'base64'));
    };
    const ca = await secretPem('ca');
    const leaf = await secretPem('leaf-tls');
    assert.ok(ca.ca, 'the CA certificate is a CA');
    assert.ok(leaf.verify(ca.publicKey), 'the leaf verifies against the CA key');
    assert.ok(leaf.checkIssued(ca), 'the leaf names the CA as issuer');
    assert.equal(leaf.checkHost('console.example.test'), 'console.example.test');
  });

  it('denies a ServiceAccount without rights, and allows it once bound', async (t) => {
    const ns = await createNamespace(cluster, t, 'rbac');
    const kc = adminConfig(cluster);
    await kc.makeApiClient(CoreV1Api).createNamespacedServiceAccount({
      namespace: ns,
      body: { metadata: { name: 'nobody' } },
    });
    const asSa = serviceAccountConfig(cluster, ns, 'nobody').makeApiClient(CoreV1Api);
    const denied = await statusOf(asSa.listNamespacedSecret({ namespace: ns }));
    assert.equal(denied.code, 403);
    assert.match(denied.body, new RegExp(`system:serviceaccount:${ns}:nobody`));

    // The positive control: the same client works once RBAC grants it, so the
    // 403 above came from RBAC and not from a broken client.
    const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
    await rbac.createNamespacedRole({
      namespace: ns,
      body: {
        metadata: { name: 'read-secrets' },
        rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['list'] }],
      },
    });
    await rbac.createNamespacedRoleBinding({
      namespace: ns,
      body: {
        metadata: { name: 'read-secrets' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'read-secrets' },
        subjects: [{ kind: 'ServiceAccount', name: 'nobody', namespace: ns }],
      },
    });
    await waitFor(
      'the RoleBinding to take effect',
      () => asSa.listNamespacedSecret({ namespace: ns }),
      {
        timeoutMs: 10_000,
      },
    );
    assert.equal((await statusOf(asSa.listNamespacedPod({ namespace: ns }))).code, 403);
  });

  it('rejects an object that breaks a CRD CEL rule, with the rule message', async (t) => {
    const ns = await createNamespace(cluster, t, 'cel');
    const kc = adminConfig(cluster);
    const ext = kc.makeApiClient(ApiextensionsV1Api);
    // CRDs are cluster-scoped: a random group keeps parallel or repeated runs apart.
    const group = `t${randomBytes(4).toString('hex')}.test.wsgate.dev`;
    const name = `ranges.${group}`;
    await ext.createCustomResourceDefinition({
      body: {
        metadata: { name },
        spec: {
          group,
          scope: 'Namespaced',
          names: { plural: 'ranges', singular: 'range', kind: 'Range', listKind: 'RangeList' },
          versions: [
            {
              name: 'v1',
              served: true,
              storage: true,
              schema: {
                openAPIV3Schema: {
                  type: 'object',
                  properties: {
                    spec: {
                      type: 'object',
                      required: ['min', 'max'],
                      properties: { min: { type: 'integer' }, max: { type: 'integer' } },
                      x_kubernetes_validations: [
                        { rule: 'self.min <= self.max', message: 'min must not exceed max' },
                      ],
                    },
                  },
                },
              },
            },
          ],
        },
      },
    });
    t.after(async () => {
      await ext.deleteCustomResourceDefinition({ name }).catch(() => undefined);
    });
    await waitFor(
      `CRD ${name} Established`,
      async () => {
        const crd = await ext.readCustomResourceDefinition({ name });
        const ok = crd.status?.conditions?.some(
          (c) => c.type === 'Established' && c.status === 'True',
        );
        return ok === true ? true : undefined;
      },
      { timeoutMs: 30_000 },
    );
    const custom = kc.makeApiClient(CustomObjectsApi);
    const createRange = (objName: string, min: number, max: number): Promise<unknown> =>
      custom.createNamespacedCustomObject({
        group,
        version: 'v1',
        namespace: ns,
        plural: 'ranges',
        body: {
          apiVersion: `${group}/v1`,
          kind: 'Range',
          metadata: { name: objName },
          spec: { min, max },
        },
      });
    // Discovery of a new CRD can lag Established by a moment; retry the good one first.
    await waitFor('a valid Range to be accepted', () => createRange('good', 1, 2), {
      timeoutMs: 15_000,
    });
    const bad = await statusOf(createRange('bad', 5, 1));
    assert.equal(bad.code, 422);
    assert.match(bad.body, /min must not exceed max/);
  });
});
