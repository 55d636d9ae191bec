/**
 * Optional kinds whose CRDs come and go: without cert-manager a resource with
 * spec.tls.issuerRef gets CertificateReady False (CertManagerMissing) and no crash loop,
 * and recovers once the CRD appears; a ServiceMonitor is made once its CRD appears and
 * reported unavailable when it goes. The operator runs in this process, authorized as its
 * ServiceAccount.
 *
 * The local control plane is shared (other test files, other runs), so its real
 * cert-manager CRDs are never deleted here. Instead the operator is told to take a
 * test-only CRD name as "the Certificate CRD": creating and deleting that CRD is what it
 * sees of cert-manager being installed and removed, while the Certificates it then makes
 * are real cert-manager.io ones, issued by the real controller.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import {
  createNamespace,
  runTool,
  skipCluster,
  startCluster,
  type TestCluster,
} from '../cluster/harness.js';
import type { KubeClient } from '../../operator/src/kube/client.js';
import {
  adminClient,
  applyDocs,
  createCrd,
  ensureServiceMonitorCrd,
  installCrd,
  openCrd,
  operatorAccount,
  suffix,
  type OperatorAccount,
} from './kube.js';
import { inProcessOperator } from './operator-process.js';
import { condition, paths, proxy, selfSignedIssuer, tokenSecret } from './resources.js';
import { until, waitCondition } from './waits.js';

describe(
  'optional CRDs (cert-manager, ServiceMonitor)',
  { skip: skipCluster, timeout: 240_000 },
  () => {
    let cluster: TestCluster;
    let admin: KubeClient;
    let account: OperatorAccount;
    let ns: string;
    const group = `absent-${suffix()}.wsgate.test`;
    const certificateCrd = `certificates.${group}`;
    const serviceMonitorCrd = `servicemonitors.${group}`;
    const cleanups: (() => Promise<void>)[] = [];

    before(async () => {
      cluster = await startCluster();
      await installCrd(cluster);
      await ensureServiceMonitorCrd(cluster);
      admin = await adminClient(cluster);
      account = await operatorAccount(cluster, (fn) => cleanups.push(fn));
      ns = await createNamespace(cluster, undefined, 'wsp-optional');
      cleanups.push(async () => {
        await runTool(cluster, 'kubectl', ['delete', 'namespace', ns, '--wait=false']);
        await runTool(cluster, 'kubectl', [
          'delete',
          'customresourcedefinition',
          certificateCrd,
          serviceMonitorCrd,
          '--ignore-not-found',
        ]);
      });
      await account.grantSecrets(ns);
      await applyDocs(cluster, [tokenSecret(ns), selfSignedIssuer(ns)]);
    });

    after(async () => {
      for (const fn of cleanups.reverse()) await fn().catch(() => undefined);
      admin?.close();
    });

    const operator = async (t: { after(fn: () => Promise<unknown>): void }) => {
      const kubeConfig = new KubeConfig();
      kubeConfig.loadFromFile(account.kubeconfig);
      return inProcessOperator(
        kubeConfig,
        {
          namespaces: [ns],
          crdNames: { certificate: certificateCrd, serviceMonitor: serviceMonitorCrd },
        },
        t,
      );
    };

    it('reports cert-manager missing, then issues the certificate once it is installed', async (t) => {
      const op = await operator(t);
      const p = paths(ns, 'tls');
      await applyDocs(cluster, [
        proxy(ns, 'tls', {
          replicas: 1,
          tls: { issuerRef: { name: 'selfsigned' }, dnsNames: ['tls.example.com'] },
        }),
      ]);
      const missing = await waitCondition(
        admin,
        ns,
        'tls',
        'CertificateReady',
        'False',
        'CertManagerMissing',
      );
      assert.match(
        condition(missing, 'CertificateReady')!.message,
        /cert-manager is not installed/,
      );
      assert.equal(condition(missing, 'Ready')?.reason, 'CertManagerMissing');
      assert.equal(
        await admin.get(p.certificate),
        null,
        'a Certificate was made without cert-manager',
      );
      assert.ok(await admin.get(p.deployment), 'the rest is applied meanwhile');
      assert.ok(
        op.lines.some(
          (l) => l.includes('"reason":"CertManagerMissing"') && l.includes('"msg":"event"'),
        ),
        'a CertManagerMissing Event',
      );

      await createCrd(cluster, openCrd(group, 'certificates', 'Certificate'));
      const ready = await waitCondition(admin, ns, 'tls', 'Ready', 'True', 'AllReady', 90_000);
      assert.equal(condition(ready, 'CertificateReady')?.reason, 'CertificateIssued');
      assert.ok(await admin.get(p.certificate));
      assert.ok(await admin.get(p.tlsSecret), 'cert-manager issued the Secret');
      assert.equal(
        (
          await op.metrics.registry
            .getSingleMetric('controller_runtime_reconcile_errors_total')
            ?.get()
        )?.values[0]?.value ?? 0,
        0,
        'no reconcile failed',
      );
    });

    it('makes the ServiceMonitor when its CRD appears and reports it when the CRD goes', async (t) => {
      await operator(t);
      const path = `/apis/monitoring.coreos.com/v1/namespaces/${ns}/servicemonitors/metrics`;
      await applyDocs(cluster, [
        proxy(ns, 'metrics', {
          replicas: 1,
          metrics: { serviceMonitor: { enabled: true, labels: { release: 'prometheus' } } },
        }),
      ]);
      const without = await waitCondition(
        admin,
        ns,
        'metrics',
        'ConfigValid',
        'True',
        'ServiceMonitorUnavailable',
      );
      assert.match(condition(without, 'ConfigValid')!.message, /ServiceMonitor skipped/);
      await waitCondition(admin, ns, 'metrics', 'Ready', 'True');
      assert.equal(await admin.get(path), null);

      await createCrd(cluster, openCrd(group, 'servicemonitors', 'ServiceMonitor'));
      const monitor = await until('the ServiceMonitor', () =>
        admin
          .get<{
            metadata: { labels: Record<string, string> };
            spec: { endpoints: { port: string }[] };
          }>(path)
          .then((m) => m ?? undefined),
      );
      assert.equal(monitor.metadata.labels['release'], 'prometheus');
      assert.equal(monitor.spec.endpoints[0]?.port, 'metrics');
      await waitCondition(admin, ns, 'metrics', 'ConfigValid', 'True', 'Valid');

      await runTool(cluster, 'kubectl', ['delete', 'customresourcedefinition', serviceMonitorCrd]);
      await waitCondition(admin, ns, 'metrics', 'ConfigValid', 'True', 'ServiceMonitorUnavailable');
    });
  },
);
