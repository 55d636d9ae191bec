/**
 * What production asks of the operator, against the local control plane, with the
 * operator as a subprocess under its ServiceAccount: NetworkPolicies the API server
 * accepts and that follow the spec, an autoscaler whose scale the operator leaves alone,
 * Secrets noticed within seconds however late they come, and the metrics Service turned
 * headless on upgrade. The local control plane has no network plugin, so whether the
 * NetworkPolicies are enforced is not tested here, only what they say.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type {
  V1Deployment,
  V1NetworkPolicy,
  V1Service,
  V2HorizontalPodAutoscaler,
} from '@kubernetes/client-node';
import {
  createNamespace,
  skipCluster,
  startCluster,
  type TestCluster,
} from '../cluster/harness.js';
import type { WebSocketProxy } from '../../operator/src/api/websocketproxy-types.js';
import type { KubeClient } from '../../operator/src/kube/client.js';
import {
  TEST_IMAGE,
  adminClient,
  applyDocs,
  installCrd,
  operatorAccount,
  type OperatorAccount,
} from './kube.js';
import { spawnOperator, type OperatorProcess } from './operator-process.js';
import { condition, paths, proxy, tokenSecret } from './resources.js';
import { until, waitCondition, waitGone } from './waits.js';

interface Managed {
  metadata: {
    uid?: string;
    managedFields?: { manager?: string; operation?: string; fieldsV1?: Record<string, unknown> }[];
  };
}

const networkPolicyPath = (ns: string, name: string) =>
  `/apis/networking.k8s.io/v1/namespaces/${ns}/networkpolicies/${name}`;
const hpaPath = (ns: string, name: string) =>
  `/apis/autoscaling/v2/namespaces/${ns}/horizontalpodautoscalers/${name}`;

/** Whether manager `name`'s Apply entry owns spec.replicas. */
function appliesReplicas(object: Managed, name: string): boolean {
  return (object.metadata.managedFields ?? []).some((f) => {
    const spec = f.fieldsV1?.['f:spec'] as Record<string, unknown> | undefined;
    return f.manager === name && f.operation === 'Apply' && spec?.['f:replicas'] !== undefined;
  });
}

describe(
  'wsgate operator for production: isolation, autoscaling, prompt Secrets, headless metrics',
  { skip: skipCluster, timeout: 420_000 },
  () => {
    let cluster: TestCluster;
    let admin: KubeClient;
    let account: OperatorAccount;
    let ns: string;
    let polled: string;
    let op: OperatorProcess;
    const cleanups: (() => Promise<void>)[] = [];

    const merge = (path: string, body: unknown) =>
      admin.request('PATCH', path, { body, contentType: 'application/merge-patch+json' });
    /** The resource's observedGeneration once the operator has reconciled its current spec. */
    const reconciled = async (name: string, namespace = ns) => {
      return until(`${namespace}/${name} reconciled at its generation`, async () => {
        const wsp = await admin.get<WebSocketProxy>(paths(namespace, name).proxy);
        const generation = wsp?.metadata?.generation;
        return generation !== undefined && wsp?.status?.observedGeneration === generation
          ? wsp
          : undefined;
      });
    };

    before(async () => {
      cluster = await startCluster();
      await installCrd(cluster);
      admin = await adminClient(cluster);
      account = await operatorAccount(cluster, (fn) => cleanups.push(fn));
      ns = await createNamespace(cluster, undefined, 'wsp-prod');
      polled = await createNamespace(cluster, undefined, 'wsp-polled');
      cleanups.push(async () => {
        for (const n of [ns, polled])
          await admin.request('DELETE', `/api/v1/namespaces/${n}`).catch(() => undefined);
      });
      // Both namespaces let the operator read Secrets; only `ns` is in --secrets-namespace.
      await account.grantSecrets(ns);
      await account.grantSecrets(polled);
      await applyDocs(cluster, [tokenSecret(ns)]);
      op = await spawnOperator([
        '--kubeconfig',
        account.kubeconfig,
        '--namespace',
        ns,
        '--namespace',
        polled,
        '--secrets-namespace',
        ns,
        '--poll-interval',
        '2s',
        '--log-level',
        'debug',
        '--image',
        TEST_IMAGE,
      ]);
    });

    after(async () => {
      const code = await op?.stop('SIGTERM');
      for (const fn of cleanups.reverse()) await fn().catch(() => undefined);
      admin?.close();
      assert.equal(code, 0, `the operator exited ${code} on SIGTERM:\n${op?.logs().slice(-4000)}`);
    });

    it('makes a NetworkPolicy the API server accepts, follows spec changes, removes it when disabled', async () => {
      const name = 'isolated';
      const path = networkPolicyPath(ns, name);
      await applyDocs(cluster, [
        proxy(ns, name, {
          replicas: 1,
          port: 7000,
          tokens: {
            file: { secretRef: { name: 'console-tokens', key: 'tokens' } },
            http: { url: 'http://10.96.7.7:8080/lookup/{token}' },
          },
          targets: { allow: ['10.20.0.0/16:5900-5999', '[fd00::/64]:5900'] },
          networkPolicy: {
            ingressFrom: [
              { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ingress' } } },
            ],
            extraEgress: [{ to: [{ ipBlock: { cidr: '192.0.2.0/24' } }], ports: [{ port: 443 }] }],
          },
        }),
      ]);
      await waitCondition(admin, ns, name, 'Ready', 'True', 'AllReady', 60_000);
      const np = (await admin.get<V1NetworkPolicy & { spec: { ingress: unknown[] } }>(path))!;
      assert.ok(np, 'the NetworkPolicy exists');
      assert.deepEqual(np.spec?.policyTypes, ['Ingress', 'Egress']);
      assert.deepEqual(np.spec?.ingress[0], {
        from: [
          { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ingress' } } },
        ],
        ports: [{ protocol: 'TCP', port: 7000 }],
      });
      // As stored by the API server: DNS, targets by port range, the lookup IP, extraEgress.
      assert.deepEqual(np.spec?.egress, [
        {
          ports: [
            { protocol: 'UDP', port: 53 },
            { protocol: 'TCP', port: 53 },
          ],
        },
        {
          to: [{ ipBlock: { cidr: '10.20.0.0/16' } }],
          ports: [{ protocol: 'TCP', port: 5900, endPort: 5999 }],
        },
        { to: [{ ipBlock: { cidr: 'fd00::/64' } }], ports: [{ protocol: 'TCP', port: 5900 }] },
        { to: [{ ipBlock: { cidr: '10.96.7.7/32' } }], ports: [{ protocol: 'TCP', port: 8080 }] },
        { to: [{ ipBlock: { cidr: '192.0.2.0/24' } }], ports: [{ protocol: 'TCP', port: 443 }] },
      ]);

      // A spec change reaches the policy.
      await merge(paths(ns, name).proxy, {
        spec: { targets: { allow: ['10.30.0.0/16:5900'] }, networkPolicy: { ingressFrom: null } },
      });
      await until('the NetworkPolicy to follow the new targets', async () => {
        const now = await admin.get<V1NetworkPolicy & { spec: { ingress: unknown[] } }>(path);
        const cidrs = JSON.stringify(now?.spec?.egress);
        return cidrs.includes('10.30.0.0/16') &&
          !cidrs.includes('10.20.0.0/16') &&
          JSON.stringify(now?.spec?.ingress[0]) === '{"ports":[{"protocol":"TCP","port":7000}]}'
          ? true
          : undefined;
      });

      // So does a hand edit (drift): an egress rule added by someone else is taken out.
      await admin.request('PATCH', path, {
        body: [{ op: 'add', path: '/spec/egress/-', value: { ports: [{ port: 6443 }] } }],
        contentType: 'application/json-patch+json',
      });
      await until('the added egress rule to be removed', async () => {
        const now = await admin.get<V1NetworkPolicy>(path);
        return JSON.stringify(now?.spec?.egress).includes('6443') ? undefined : true;
      });

      await merge(paths(ns, name).proxy, { spec: { networkPolicy: { enabled: false } } });
      await waitGone(admin, path, 30_000);
      await merge(paths(ns, name).proxy, { spec: { networkPolicy: { enabled: true } } });
      await until('the NetworkPolicy to come back', async () =>
        (await admin.get(path)) ? true : undefined,
      );
    });

    it('hands replicas to the autoscaler: its scale stays, turning it off restores spec.replicas', async () => {
      const name = 'scaled';
      const p = paths(ns, name);
      await applyDocs(cluster, [
        proxy(ns, name, { replicas: 3, resources: { requests: { cpu: '100m' } } }),
      ]);
      await waitCondition(admin, ns, name, 'Ready', 'True', 'AllReady', 60_000);

      // Switching autoscaling on keeps the 3 pods (server-side apply alone would reset the
      // field it stops applying to the default of 1).
      await merge(p.proxy, { spec: { autoscaling: { minReplicas: 2, maxReplicas: 6 } } });
      const hpa = await until('the HorizontalPodAutoscaler', () =>
        admin.get<V2HorizontalPodAutoscaler>(hpaPath(ns, name)).then((h) => h ?? undefined),
      );
      assert.deepEqual(hpa.spec?.scaleTargetRef, {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        name,
      });
      assert.equal(hpa.spec?.minReplicas, 2);
      assert.equal(hpa.spec?.maxReplicas, 6);
      await reconciled(name);
      const handed = await until('the operator to stop applying replicas', async () => {
        const d = await admin.get<V1Deployment & Managed>(p.deployment);
        return d && !appliesReplicas(d, 'wsgate-operator') ? d : undefined;
      });
      assert.equal(handed.spec?.replicas, 3, 'the live scale is kept at the hand-over');
      assert.ok(await admin.get(p.pdb), 'the PodDisruptionBudget still applies');

      // Scale as the autoscaler does: through the Deployment's scale subresource.
      await merge(`${p.deployment}/scale`, { spec: { replicas: 5 } });
      // Make the operator reconcile (a spec change that rolls the pods) and wait until it
      // has: the scale must have survived that reconcile.
      await merge(p.proxy, { spec: { podAnnotations: { 'example.com/rev': '2' } } });
      await reconciled(name);
      await until('the new pod template to be applied', async () => {
        const d = await admin.get<V1Deployment>(p.deployment);
        return d?.spec?.template?.metadata?.annotations?.['example.com/rev'] === '2'
          ? true
          : undefined;
      });
      const kept = (await admin.get<V1Deployment>(p.deployment))!;
      assert.equal(kept.spec?.replicas, 5, "the autoscaler's scale is not undone");

      // Off: spec.replicas is the operator's again, and the autoscaler goes.
      await merge(p.proxy, { spec: { autoscaling: null } });
      await until('spec.replicas (3) to be restored', async () => {
        const d = await admin.get<V1Deployment & Managed>(p.deployment);
        return d?.spec?.replicas === 3 && appliesReplicas(d, 'wsgate-operator') ? true : undefined;
      });
      await waitGone(admin, hpaPath(ns, name), 30_000);
    });

    it('creates an autoscaled proxy with minReplicas pods, not the default 1', async () => {
      const name = 'scaled-new';
      await applyDocs(cluster, [
        proxy(ns, name, {
          replicas: 1,
          autoscaling: { minReplicas: 3, maxReplicas: 4, targetSessionsPerPod: 500 },
          resources: { requests: { cpu: '100m' } },
        }),
      ]);
      const d = await until('the Deployment, handed over', async () => {
        const found = await admin.get<V1Deployment & Managed>(paths(ns, name).deployment);
        return found && !appliesReplicas(found, 'wsgate-operator') ? found : undefined;
      });
      assert.equal(d.spec?.replicas, 3);
      const hpa = (await admin.get<V2HorizontalPodAutoscaler>(hpaPath(ns, name)))!;
      assert.deepEqual(
        hpa.spec?.metrics?.map((m) => m.type),
        ['Resource', 'Pods'],
      );
    });

    it('notices a Secret created long after its resource within 5 s, watched or polled', async (t) => {
      const cases = [
        { namespace: ns, name: 'late-watched', how: 'watched' },
        { namespace: polled, name: 'late-polled', how: 'polled' },
      ];
      const spec = (secret: string) => ({
        replicas: 1,
        tokens: { file: { secretRef: { name: secret, key: 'tokens' } } },
      });
      await applyDocs(
        cluster,
        cases.map((c) => proxy(c.namespace, c.name, spec(`${c.name}-tokens`))),
      );
      for (const c of cases) {
        await waitCondition(admin, c.namespace, c.name, 'ConfigValid', 'False', 'SecretNotFound');
      }
      const polls = (key: string) =>
        op.records().filter((r) => r['msg'] === 'polling' && r['key'] === key).length;
      // Long enough for the former error back-off (500 ms doubling) to be past 10 s; and
      // three polls of the unwatched namespace, each a chance to poll the watched one too.
      const waiting = Date.now();
      await until(
        '20 s and three polls of the unwatched namespace',
        async () =>
          Date.now() - waiting >= 20_000 && polls(`${polled}/late-polled`) >= 3 ? true : undefined,
        60_000,
        250,
      );
      assert.equal(polls(`${ns}/late-watched`), 0, 'a watched namespace is not polled');
      for (const c of cases) {
        const wsp = await admin.get<WebSocketProxy>(paths(c.namespace, c.name).proxy);
        assert.equal(condition(wsp, 'ConfigValid')?.reason, 'SecretNotFound', c.name);
      }
      const created = Date.now();
      await applyDocs(
        cluster,
        cases.map((c) => tokenSecret(c.namespace, `${c.name}-tokens`)),
      );
      await Promise.all(
        cases.map(async (c) => {
          await waitCondition(admin, c.namespace, c.name, 'Ready', 'True', 'AllReady', 5_000);
          const took = Date.now() - created;
          t.diagnostic(`${c.how}: Ready ${took} ms after the Secret was applied`);
          assert.ok(took <= 5_000, `${c.how}: Ready ${took} ms after the Secret`);
        }),
      );
    });

    it('notices a key added to a watched Secret within 5 s', async (t) => {
      const name = 'late-key';
      await applyDocs(cluster, [
        {
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: { name: `${name}-tokens`, namespace: ns },
          stringData: { other: 'x' },
        },
        proxy(ns, name, {
          replicas: 1,
          tokens: { file: { secretRef: { name: `${name}-tokens`, key: 'tokens' } } },
        }),
      ]);
      await waitCondition(admin, ns, name, 'ConfigValid', 'False', 'SecretKeyNotFound');
      const changed = Date.now();
      await merge(`/api/v1/namespaces/${ns}/secrets/${name}-tokens`, {
        stringData: { tokens: 'vm1: 10.0.0.5:5900\n' },
      });
      await waitCondition(admin, ns, name, 'Ready', 'True', 'AllReady', 5_000);
      t.diagnostic(`Ready ${Date.now() - changed} ms after the key was added`);
    });

    it('replaces a metrics Service that still has a cluster IP with a headless one', async () => {
      // A namespace the running operator does not watch, so the old-style Service can be
      // put in place first, as an older operator left it.
      const upgraded = await createNamespace(cluster, undefined, 'wsp-upgrade');
      cleanups.push(() =>
        admin.request('DELETE', `/api/v1/namespaces/${upgraded}`).then(() => undefined),
      );
      await applyDocs(cluster, [tokenSecret(upgraded), proxy(upgraded, 'old', { replicas: 1 })]);
      const wsp = (await admin.get<WebSocketProxy>(paths(upgraded, 'old').proxy))!;
      const metricsPath = paths(upgraded, 'old').metricsService;
      await applyDocs(cluster, [
        {
          apiVersion: 'v1',
          kind: 'Service',
          metadata: {
            name: 'old-metrics',
            namespace: upgraded,
            labels: {
              'app.kubernetes.io/name': 'wsgate',
              'app.kubernetes.io/instance': 'old',
              'app.kubernetes.io/component': 'proxy',
              'app.kubernetes.io/managed-by': 'wsgate-operator',
              'wsgate.dev/service': 'metrics',
            },
            ownerReferences: [
              {
                apiVersion: 'wsgate.dev/v1alpha1',
                kind: 'WebSocketProxy',
                name: 'old',
                uid: wsp.metadata!.uid!,
                controller: true,
              },
            ],
          },
          spec: {
            type: 'ClusterIP',
            selector: { 'app.kubernetes.io/instance': 'old' },
            ports: [{ name: 'metrics', port: 9090, targetPort: 'metrics' }],
          },
        },
      ]);
      const before = (await admin.get<V1Service>(metricsPath))!;
      assert.match(before.spec?.clusterIP ?? '', /^\d+\.\d+\.\d+\.\d+$/, 'it got a cluster IP');

      await account.grantSecrets(upgraded);
      const second = await spawnOperator([
        '--kubeconfig',
        account.kubeconfig,
        '--namespace',
        upgraded,
        '--image',
        TEST_IMAGE,
      ]);
      try {
        await waitCondition(admin, upgraded, 'old', 'Ready', 'True', 'AllReady', 60_000);
        const now = (await admin.get<V1Service>(metricsPath))!;
        assert.equal(now.spec?.clusterIP, 'None');
        assert.notEqual(now.metadata?.uid, before.metadata?.uid, 'deleted and created afresh');
        assert.ok(
          now.metadata?.ownerReferences?.some((r) => r.uid === wsp.metadata!.uid),
          'owned by the resource',
        );
      } finally {
        assert.equal(await second.stop('SIGTERM'), 0, second.logs().slice(-4000));
      }
    });
  },
);
