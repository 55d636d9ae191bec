/**
 * `wsgate operator` as a subprocess on the local control plane, authorized only by its
 * ServiceAccount's RBAC (operator/rbac/role.yaml, through impersonation): create, update
 * and delete a WebSocketProxy, a real cert-manager issuing its certificate, resync
 * without writes, pods rolling on config changes but not on certificate renewals,
 * conditions for missing Secrets, issuers and invalid specs, and recovery.
 */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { V1ConfigMap, V1Deployment, V1ReplicaSet, V1Secret } from '@kubernetes/client-node';
import {
  createNamespace,
  skipCluster,
  startCluster,
  type TestCluster,
} from '../cluster/harness.js';
import type { Certificate } from '../../operator/src/api/external-types.js';
import type { WebSocketProxy } from '../../operator/src/api/websocketproxy-types.js';
import type { KubeClient } from '../../operator/src/kube/client.js';
import { CONFIG_HASH_ANNOTATION } from '../../operator/src/objects/names.js';
import {
  TEST_IMAGE,
  adminClient,
  applyDocs,
  canI,
  installCrd,
  operatorAccount,
  type OperatorAccount,
} from './kube.js';
import { spawnOperator, type OperatorProcess } from './operator-process.js';
import { condition, paths, proxy, selfSignedIssuer, tokenSecret } from './resources.js';
import { until, waitCondition, waitGone } from './waits.js';
import { sleep } from '../helpers/wait.js';

interface Owned {
  metadata: {
    uid?: string;
    resourceVersion?: string;
    generation?: number;
    ownerReferences?: { uid: string; controller?: boolean; blockOwnerDeletion?: boolean }[];
    managedFields?: { manager?: string; operation?: string }[];
  };
}

interface EventList {
  items: {
    type: string;
    reason: string;
    note: string;
    reportingController: string;
    regarding: { name: string };
  }[];
}

describe(
  'wsgate operator under its ServiceAccount',
  { skip: skipCluster, timeout: 420_000 },
  () => {
    let cluster: TestCluster;
    let admin: KubeClient;
    let account: OperatorAccount;
    let ns: string;
    let other: string;
    let op: OperatorProcess;
    const cleanups: (() => Promise<void>)[] = [];

    const merge = (path: string, body: unknown) =>
      admin.request('PATCH', path, { body, contentType: 'application/merge-patch+json' });

    const controlledBy = (object: Owned, owner: WebSocketProxy) =>
      object.metadata.ownerReferences?.some(
        (r) =>
          r.uid === owner.metadata?.uid && r.controller === true && r.blockOwnerDeletion === true,
      ) ?? false;

    /** Finished reconciles (every result), from the operator's metrics. */
    const reconciles = async () => {
      let sum = 0;
      for (const result of ['success', 'error', 'requeue', 'requeue_after']) {
        sum += (await op.metric('controller_runtime_reconcile_total', { result })) ?? 0;
      }
      return sum;
    };
    /**
     * Waits until every WebSocketProxy the operator watches had a reconcile that began
     * after this call, judged by the count of finished ones (the metrics do not name keys):
     * up to 4 (the workers) may have been in flight at the call; after them, --resync 2s
     * queues each proxy once per round (the queue de-duplicates), so two rounds' worth
     * more includes every proxy's turn, on what the caches held at the call.
     */
    const everyProxyReconciled = async (what: string) => {
      const from = await reconciles();
      let proxies = 0;
      for (const n of [ns, other]) {
        const list = await admin.request<{ items: unknown[] }>(
          'GET',
          `/apis/wsgate.dev/v1alpha1/namespaces/${n}/websocketproxies`,
        );
        proxies += list.items.length;
      }
      const n = 4 + 2 * proxies;
      await until(
        what,
        async () => ((await reconciles()) >= from + n ? true : undefined),
        60_000,
        250,
      );
    };

    before(async () => {
      cluster = await startCluster();
      await installCrd(cluster);
      admin = await adminClient(cluster);
      account = await operatorAccount(cluster, (fn) => cleanups.push(fn));
      ns = await createNamespace(cluster, undefined, 'wsp');
      other = await createNamespace(cluster, undefined, 'wsp-nosecrets');
      cleanups.push(async () => {
        for (const n of [ns, other])
          await admin.request('DELETE', `/api/v1/namespaces/${n}`).catch(() => undefined);
      });
      await account.grantSecrets(ns);
      await applyDocs(cluster, [tokenSecret(ns), selfSignedIssuer(ns)]);
      op = await spawnOperator(
        [
          '--kubeconfig',
          account.kubeconfig,
          '--namespace',
          ns,
          '--watch-namespace',
          other,
          '--image',
          TEST_IMAGE,
          '--resync',
          '2s',
          '--leader-elect',
          '--leader-election-namespace',
          account.namespace,
          '--lease-duration',
          '6s',
          '--renew-deadline',
          '4s',
          '--retry-period',
          '1s',
        ],
        { POD_NAME: 'operator-under-test' },
      );
    });

    after(async () => {
      const code = await op?.stop('SIGTERM');
      for (const fn of cleanups.reverse()) await fn().catch(() => undefined);
      admin?.close();
      assert.equal(code, 0, `the operator exited ${code} on SIGTERM:\n${op?.logs().slice(-4000)}`);
    });

    it('creates the owned objects, gets the certificate from cert-manager and becomes Ready', async () => {
      const p = paths(ns, 'console');
      await applyDocs(cluster, [
        proxy(ns, 'console', {
          replicas: 2,
          tls: { issuerRef: { name: 'selfsigned' }, dnsNames: ['console.example.com'] },
          targets: { allow: ['10.20.0.0/16:5900-5999'] },
          allowedOrigins: ['https://manager.example.com'],
          service: { annotations: { 'example.com/team': 'virt' } },
        }),
      ]);
      const wsp = await waitCondition(admin, ns, 'console', 'Ready', 'True', 'AllReady', 90_000);

      const cm = (await admin.get<V1ConfigMap & Owned>(p.configMap))!;
      assert.ok(controlledBy(cm, wsp), 'ConfigMap owner reference');
      const config = cm.data?.['proxy.yaml'] ?? '';
      assert.match(config, /listen: 0\.0\.0\.0:6080/);
      assert.match(config, /10\.20\.0\.0\/16:5900-5999/);
      assert.match(config, /https:\/\/manager\.example\.com/);
      assert.match(config, /tlsCert: \/etc\/wsgate\/tls\/tls\.crt/);

      const deployment = (await admin.get<V1Deployment & Owned>(p.deployment))!;
      assert.ok(controlledBy(deployment, wsp), 'Deployment owner reference');
      assert.equal(deployment.spec?.replicas, 2);
      const pod = deployment.spec?.template;
      assert.equal(pod?.spec?.containers[0]?.image, TEST_IMAGE);
      assert.match(pod?.metadata?.annotations?.[CONFIG_HASH_ANNOTATION] ?? '', /^[0-9a-f]{64}$/);
      assert.ok(
        pod?.spec?.volumes?.some((v) => v.secret?.secretName === 'console-tls'),
        'the TLS Secret is mounted',
      );
      assert.ok(
        deployment.metadata.managedFields?.some(
          (f) => f.manager === 'wsgate-operator' && f.operation === 'Apply',
        ),
        'applied server-side by wsgate-operator',
      );

      for (const path of [p.service, p.metricsService, p.pdb, p.certificate]) {
        const object = await admin.get<Owned>(path);
        assert.ok(object, `${path} exists`);
        assert.ok(controlledBy(object, wsp), `${path} owner reference`);
      }
      const service = (await admin.get<{
        spec: { ports: { port: number }[] };
        metadata: { annotations?: Record<string, string> };
      }>(p.service))!;
      assert.equal(service.spec.ports[0]?.port, 443);
      assert.equal(service.metadata.annotations?.['example.com/team'], 'virt');

      // Issued by the real cert-manager controller into the Secret the pods mount.
      const certificate = (await admin.get<Certificate>(p.certificate))!;
      assert.deepEqual(certificate.spec.dnsNames, ['console.example.com']);
      assert.equal(certificate.spec.issuerRef.name, 'selfsigned');
      const secret = (await admin.get<V1Secret>(p.tlsSecret))!;
      const x509 = new X509Certificate(Buffer.from(secret.data!['tls.crt']!, 'base64'));
      assert.match(x509.subjectAltName ?? '', /DNS:console\.example\.com/);

      const status = wsp.status!;
      assert.equal(status.observedGeneration, wsp.metadata?.generation);
      assert.equal(status.replicas, 2);
      assert.equal(status.readyReplicas, 2);
      assert.equal(status.url, 'wss://console.example.com/');
      assert.equal(status.certificateSecretName, 'console-tls');
      const expected: Record<string, string> = {
        Ready: 'AllReady',
        ConfigValid: 'Valid',
        CertificateReady: 'CertificateIssued',
        Available: 'MinimumReplicasAvailable',
      };
      for (const [type, reason] of Object.entries(expected)) {
        const c = condition(wsp, type);
        assert.equal(c?.status, 'True', `${type}: ${c?.message}`);
        assert.equal(c?.reason, reason);
        assert.equal(c?.observedGeneration, wsp.metadata?.generation);
        assert.ok(Date.parse(c?.lastTransitionTime ?? '') > 0);
      }

      const events = await until('a Ready Event', async () => {
        const list = await admin.request<EventList>('GET', p.events);
        const found = list.items.filter(
          (e) => e.regarding.name === 'console' && e.reason === 'Ready',
        );
        return found.length ? found : undefined;
      });
      assert.equal(events[0]!.type, 'Normal');
      assert.equal(events[0]!.reportingController, 'wsgate.dev/operator');
    });

    it('writes nothing when a resync finds nothing changed', async () => {
      const p = paths(ns, 'console');
      const watched = [
        p.proxy,
        p.configMap,
        p.deployment,
        p.service,
        p.metricsService,
        p.pdb,
        p.certificate,
      ];
      const objects = () => Promise.all(watched.map((path) => admin.get<Owned>(path)));
      const versions = async () => (await objects()).map((o) => o?.metadata.resourceVersion);
      // Let the last status and rollout updates land first.
      let before = await versions();
      await until(
        'the objects to settle',
        async () => {
          await sleep(1500);
          const now = await versions();
          const same = JSON.stringify(now) === JSON.stringify(before);
          before = now;
          return same ? true : undefined;
        },
        30_000,
        0,
      );
      const total = async () =>
        ((await op.metric('controller_runtime_reconcile_total', { result: 'success' })) ?? 0) +
        ((await op.metric('controller_runtime_reconcile_total', { result: 'requeue' })) ?? 0);
      const patches = async () =>
        (await op.metric('rest_client_requests_total', { method: 'PATCH', code: '200' })) ?? 0;
      const [reconciled, patched] = [await total(), await patches()];
      // --resync 2s: at least two full passes.
      await until(
        'two resyncs',
        async () => ((await total()) >= reconciled + 2 ? true : undefined),
        20_000,
        250,
      );
      // Unchanged objects are not even sent (the caches show them as applied).
      assert.equal(await patches(), patched, 'the resyncs sent writes');
      const after = await objects();
      // On failure, say who wrote what (managedFields) to tell our writes from others'.
      const changed = after
        .filter((o, i) => o?.metadata.resourceVersion !== before[i])
        .map((o) => JSON.stringify(o, null, 1));
      assert.deepEqual(changed, [], 'no resourceVersion changed');
    });

    it('repairs drift: fields it owns are changed back', async () => {
      const p = paths(ns, 'console');
      const cm = (await admin.get<V1ConfigMap>(p.configMap))!;
      await merge(p.configMap, { data: { 'proxy.yaml': 'tampered: true\n' } });
      await merge(p.deployment, { spec: { replicas: 5 } });
      await until('the ConfigMap and Deployment to be restored', async () => {
        const now = await admin.get<V1ConfigMap>(p.configMap);
        const d = await admin.get<V1Deployment>(p.deployment);
        return now?.data?.['proxy.yaml'] === cm.data?.['proxy.yaml'] && d?.spec?.replicas === 2
          ? true
          : undefined;
      });
      await waitCondition(admin, ns, 'console', 'Ready', 'True');
    });

    it('follows spec changes; a config change rolls the pods, a certificate renewal does not', async () => {
      const p = paths(ns, 'console');
      const replicaSets = async () =>
        (await admin.request<{ items: (V1ReplicaSet & Owned)[] }>('GET', p.replicaSets)).items
          .filter((rs) => (rs.spec?.replicas ?? 0) > 0)
          .map((rs) => rs.metadata.name)
          .sort();
      const before = (await admin.get<V1Deployment & Owned>(p.deployment))!;
      const setsBefore = await replicaSets();
      const secretBefore = (await admin.get<V1Secret>(p.tlsSecret))!.data!['tls.crt'];

      // Renewal, as `cmctl renew` triggers it: an Issuing condition on the Certificate.
      const cert = (await admin.get<Certificate>(p.certificate))!;
      const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
      await merge(`${p.certificate}/status`, {
        status: {
          conditions: [
            ...(cert.status?.conditions ?? []),
            {
              type: 'Issuing',
              status: 'True',
              reason: 'ManuallyTriggered',
              message: 'renewal test',
              lastTransitionTime: now,
            },
          ],
        },
      });
      await until(
        'cert-manager to renew the certificate',
        async () => {
          const secret = await admin.get<V1Secret>(p.tlsSecret);
          const renewed = await admin.get<Certificate>(p.certificate);
          return secret?.data?.['tls.crt'] !== secretBefore &&
            (renewed?.status?.revision ?? 0) > (cert.status?.revision ?? 0)
            ? true
            : undefined;
        },
        60_000,
      );
      await waitCondition(admin, ns, 'console', 'CertificateReady', 'True', 'CertificateIssued');
      // A reconcile of this proxy that began with the renewed Secret and Certificate in the
      // operator's caches (their watch events arrive within milliseconds) had its chance
      // to touch the Deployment.
      await everyProxyReconciled('a reconcile of every proxy after the renewal');
      const afterRenewal = (await admin.get<V1Deployment & Owned>(p.deployment))!;
      assert.equal(
        afterRenewal.metadata.generation,
        before.metadata.generation,
        'renewal changed the Deployment',
      );
      assert.deepEqual(await replicaSets(), setsBefore, 'renewal started a rollout');

      // A config change (a new target rule) and a replica change.
      await merge(p.proxy, {
        spec: { replicas: 3, targets: { allow: ['10.20.0.0/16:5900-5999', '10.30.0.0/16:5900'] } },
      });
      const changed = await until('the ConfigMap to follow', async () => {
        const cm = await admin.get<V1ConfigMap>(p.configMap);
        return cm?.data?.['proxy.yaml']?.includes('10.30.0.0/16:5900') ? cm : undefined;
      });
      assert.ok(changed);
      const rolled = await until('the Deployment to roll', async () => {
        const d = await admin.get<V1Deployment>(p.deployment);
        const hash = d?.spec?.template.metadata?.annotations?.[CONFIG_HASH_ANNOTATION];
        return d?.spec?.replicas === 3 &&
          hash !== before.spec?.template.metadata?.annotations?.[CONFIG_HASH_ANNOTATION]
          ? d
          : undefined;
      });
      assert.ok(rolled);
      const wsp = await until(
        'the rollout to finish and status to follow',
        async () => {
          const w = await admin.get<WebSocketProxy>(p.proxy);
          const sets = await replicaSets();
          return w?.status?.observedGeneration === w?.metadata?.generation &&
            w?.status?.readyReplicas === 3 &&
            condition(w, 'Ready')?.status === 'True' &&
            sets.length === 1 &&
            !setsBefore.includes(sets[0]!)
            ? w
            : undefined;
        },
        90_000,
      );
      assert.equal(condition(wsp, 'Available')?.observedGeneration, wsp.metadata?.generation);

      // One replica: the PodDisruptionBudget is no longer wanted.
      await merge(p.proxy, { spec: { replicas: 1 } });
      await waitGone(admin, p.pdb);
    });

    it('reports a missing Secret, a missing issuer and an invalid spec, and recovers', async () => {
      const p = paths(ns, 'broken');
      await applyDocs(cluster, [
        proxy(ns, 'broken', {
          replicas: 1,
          tokens: { file: { secretRef: { name: 'later-tokens', key: 'tokens' } } },
          tls: { issuerRef: { name: 'later-issuer' }, dnsNames: ['broken.example.com'] },
        }),
      ]);
      const wsp = await waitCondition(
        admin,
        ns,
        'broken',
        'ConfigValid',
        'False',
        'SecretNotFound',
      );
      assert.match(
        condition(wsp, 'ConfigValid')!.message,
        /Secret later-tokens \(spec\.tokens\.file\.secretRef\) not found/,
      );
      await waitCondition(admin, ns, 'broken', 'CertificateReady', 'False', 'IssuerNotFound');
      assert.equal(condition(await admin.get<WebSocketProxy>(p.proxy), 'Ready')?.status, 'False');
      await until('a SecretNotFound Warning Event', async () => {
        const list = await admin.request<EventList>('GET', p.events);
        return list.items.some(
          (e) =>
            e.regarding.name === 'broken' && e.type === 'Warning' && e.reason === 'SecretNotFound',
        )
          ? true
          : undefined;
      });
      // Still polling (this operator watches no Secrets; issuers are never watched), not
      // crashing; the objects are there, pods wait.
      await until('a poll of the waiting resource', async () =>
        ((await op.metric('controller_runtime_reconcile_total', { result: 'requeue_after' })) ??
          0) > 0
          ? true
          : undefined,
      );
      assert.equal(op.child.exitCode, null, 'the operator is still running');
      assert.ok(await admin.get(p.deployment), 'the Deployment exists while the Secret is missing');

      await applyDocs(cluster, [tokenSecret(ns, 'later-tokens')]);
      await waitCondition(admin, ns, 'broken', 'ConfigValid', 'True', 'Valid', 60_000);
      await applyDocs(cluster, [selfSignedIssuer(ns, 'later-issuer')]);
      await waitCondition(admin, ns, 'broken', 'Ready', 'True', 'AllReady', 90_000);

      // Valid for the schema, refused by the operator: the last good objects stay.
      const deployment = (await admin.get<V1Deployment & Owned>(p.deployment))!;
      await merge(p.proxy, { spec: { podLabels: { 'not a label!': 'x' } } });
      const invalid = await waitCondition(
        admin,
        ns,
        'broken',
        'ConfigValid',
        'False',
        'InvalidLabels',
      );
      assert.match(
        condition(invalid, 'ConfigValid')!.message,
        /spec\.podLabels: label key "not a label!" is invalid/,
      );
      assert.equal(condition(invalid, 'Ready')?.reason, 'InvalidLabels');
      const kept = (await admin.get<V1Deployment & Owned>(p.deployment))!;
      assert.equal(
        kept.metadata.generation,
        deployment.metadata.generation,
        'an invalid spec changed the Deployment',
      );
      await merge(p.proxy, { spec: { podLabels: null } });
      await waitCondition(admin, ns, 'broken', 'Ready', 'True', 'AllReady');
    });

    it('runs on exactly the RBAC it is given: no 403s, no Secrets outside granted namespaces', async () => {
      const refused = op
        .records()
        .filter(
          (r) => (r['level'] as number) >= 40 && /\b403\b|forbidden/i.test(JSON.stringify(r)),
        );
      assert.deepEqual(refused, [], 'the operator was refused something');

      // Where it may not read Secrets, it says so instead of failing.
      await applyDocs(cluster, [proxy(other, 'unverified', { replicas: 1 })]);
      const wsp = await waitCondition(
        admin,
        other,
        'unverified',
        'Ready',
        'True',
        'AllReady',
        60_000,
      );
      const valid = condition(wsp, 'ConfigValid')!;
      assert.equal(valid.reason, 'Valid');
      assert.match(valid.message, /Secrets not verified: console-tokens/);

      const cases: [string[], boolean][] = [
        [['get', 'secrets', '-n', ns], true],
        // The secrets role may list and watch where it is bound (for --secrets-namespace).
        [['list', 'secrets', '-n', ns], true],
        [['watch', 'secrets', '-n', ns], true],
        [['get', 'secrets', '-n', other], false],
        [['watch', 'secrets', '-n', other], false],
        [['list', 'secrets', '--all-namespaces'], false],
        [['get', 'pods', '-n', ns], false],
        [['update', 'websocketproxies.wsgate.dev', '-n', ns], false],
        [['delete', 'websocketproxies.wsgate.dev', '-n', ns], false],
        [['update', 'deployments.apps', '-n', ns], false],
        [['patch', 'deployments.apps', '-n', ns], true],
        [['create', 'leases.coordination.k8s.io', '-n', ns], false],
        [['update', 'leases.coordination.k8s.io/wsgate-operator', '-n', account.namespace], true],
        [['delete', 'customresourcedefinitions.apiextensions.k8s.io'], false],
      ];
      for (const [args, expected] of cases) {
        assert.equal(await canI(cluster, account, args), expected, `can-i ${args.join(' ')}`);
      }
    });

    it('leaves the owned objects to the garbage collector when the resource is deleted', async () => {
      const p = paths(ns, 'broken');
      await admin.request('DELETE', p.proxy);
      for (const path of [p.configMap, p.deployment, p.service, p.metricsService, p.certificate]) {
        await waitGone(admin, path);
      }
      assert.equal(op.child.exitCode, null);
    });
  },
);
