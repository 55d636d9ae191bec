/**
 * The RBAC proof: the real operator (`wsgate operator`), running as the chart's
 * ServiceAccount through impersonation, reconciles a WebSocketProxy. Every request it
 * makes is authorized by what the chart grants and nothing else, so a missing rule
 * shows up here as a missing object or status.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  createNamespace,
  runTool,
  serviceAccountKubeconfig,
  skipCluster,
  startCluster,
  type TestCluster,
} from '../cluster/harness.js';
import { runWsgate } from '../helpers/cli.js';
import { installCrd, suffix } from '../operator/kube.js';
import { spawnOperator, type OperatorProcess } from '../operator/operator-process.js';
import { until } from '../operator/waits.js';
import { ok, operatorName } from './helpers.js';
import { installWithoutCrd, uninstallWithNamespaces } from './rbac.js';

const IMAGE = 'registry.example.com/wsgate:chart-test';

interface Owned {
  metadata: { ownerReferences?: Array<{ uid: string; controller?: boolean }> };
}

describe('operator as the chart ServiceAccount', { skip: skipCluster, timeout: 300_000 }, () => {
  let cluster: TestCluster;
  let ns: string;
  let proxies: string;
  let rel: string;
  let operator: OperatorProcess | undefined;

  before(async () => {
    cluster = await startCluster();
    ns = await createNamespace(cluster, undefined, 'chart-op');
    proxies = await createNamespace(cluster, undefined, 'chart-op-wsp');
    rel = `op-${suffix()}`;
    // The CRD comes from crds/ (current, whoever applied it before); the chart's own CRD
    // template is covered by chart.test.ts, and leaving it out avoids contending for it.
    await installCrd(cluster);
    await installWithoutCrd(cluster, rel, ns, [`secretsNamespaces={${proxies}}`]);
  });

  after(async () => {
    await operator?.stop();
    await uninstallWithNamespaces(cluster, rel, ns, [proxies]);
  });

  it('`wsgate operator` exists', async () => {
    const res = await runWsgate(['operator', '--help'], 30_000);
    assert.equal(res.code, 0, `wsgate operator --help failed:\n${res.stdout}${res.stderr}`);
  });

  it('reconciles a WebSocketProxy with only the chart RBAC', async () => {
    await ok(cluster, 'kubectl', [
      '-n',
      proxies,
      'create',
      'secret',
      'generic',
      'console-tokens',
      '--from-literal=tokens=vm1: 10.0.0.5:5900\n',
    ]);
    const wsp = {
      apiVersion: 'wsgate.dev/v1alpha1',
      kind: 'WebSocketProxy',
      metadata: { name: 'console', namespace: proxies },
      spec: {
        replicas: 1,
        tokens: { file: { secretRef: { name: 'console-tokens', key: 'tokens' } } },
        allowedOrigins: ['https://manager.example.com'],
      },
    };
    await ok(cluster, 'kubectl', ['apply', '--server-side', '-f', '-'], {
      input: JSON.stringify(wsp),
    });
    const uid = (
      await ok(cluster, 'kubectl', [
        '-n',
        proxies,
        'get',
        'wsp',
        'console',
        '-o',
        'jsonpath={.metadata.uid}',
      ])
    ).trim();

    const kubeconfig = serviceAccountKubeconfig(cluster, ns, operatorName(rel));
    // POD_NAMESPACE and POD_NAME: what the chart's Deployment sets from the downward API.
    operator = await spawnOperator(
      ['--kubeconfig', kubeconfig, '--image', IMAGE, '--leader-elect'],
      {
        POD_NAMESPACE: ns,
        POD_NAME: 'operator-under-test',
      },
    );
    const { child, logs } = operator;
    const exitedEarly = new Promise<never>((_, reject) =>
      child.once('exit', (code) => reject(new Error(`operator exited ${code}:\n${logs()}`))),
    );

    const get = async (ref: string) => {
      const res = await runTool(cluster, 'kubectl', ['-n', proxies, 'get', ref, '-o', 'json']);
      return res.code === 0
        ? (JSON.parse(res.stdout) as Owned & Record<string, unknown>)
        : undefined;
    };
    const ownedBy = (o: Owned) =>
      o.metadata.ownerReferences?.some((r) => r.uid === uid && r.controller === true) ?? false;

    const reconciled = (async () => {
      for (const ref of ['configmap/console', 'service/console']) {
        const obj = await until(ref, () => get(ref), 60_000);
        assert.ok(ownedBy(obj), `${ref} is not owned by the WebSocketProxy`);
      }
      const deploy = await until('deployment/console', () => get('deployment/console'), 60_000);
      assert.ok(ownedBy(deploy));
      const pod = (
        deploy['spec'] as { template: { spec: { containers: Array<{ image: string }> } } }
      ).template.spec;
      assert.equal(pod.containers[0]?.image, IMAGE, 'proxies default to the operator image');
      const status = await until(
        'status with conditions',
        async () => {
          const o = await get('websocketproxy/console');
          const s = o?.['status'] as
            | {
                observedGeneration?: number;
                conditions?: Array<{
                  type: string;
                  status: string;
                  reason: string;
                  message?: string;
                }>;
              }
            | undefined;
          return s?.observedGeneration !== undefined && (s.conditions?.length ?? 0) > 0
            ? s
            : undefined;
        },
        90_000,
      );
      const types = status.conditions!.map((c) => c.type);
      for (const type of ['Ready', 'ConfigValid'])
        assert.ok(types.includes(type), `no ${type} condition`);
      // The Secrets grant of secretsNamespaces let the operator check the token Secret.
      const config = status.conditions!.find((c) => c.type === 'ConfigValid')!;
      assert.equal(config.status, 'True', JSON.stringify(config));
      assert.doesNotMatch(config.message ?? '', /not verified/, JSON.stringify(config));
      // The Lease is in the release namespace, as the chart's Role allows.
      await until('the leader Lease', async () => {
        const res = await runTool(cluster, 'kubectl', [
          '-n',
          ns,
          'get',
          'lease',
          'wsgate-operator',
          '-o',
          'name',
        ]);
        return res.code === 0 ? true : undefined;
      });
    })();
    await Promise.race([reconciled, exitedEarly]);
    // Watching every namespace, the operator also meets WebSocketProxies of earlier runs
    // whose namespaces are being deleted; the API refuses writes there with a 403 from
    // namespace lifecycle admission, not from RBAC. Every other refusal counts.
    const refused = logs()
      .split('\n')
      .filter((l) => /forbidden/i.test(l) && !/because it is being terminated/.test(l));
    assert.deepEqual(refused, [], `the operator was refused something:\n${logs()}`);
  });
});
