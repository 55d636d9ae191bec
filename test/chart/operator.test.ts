/**
 * The RBAC proof: the real operator (`wsgate operator`), running as the chart's
 * ServiceAccount through impersonation, reconciles a WebSocketProxy. Every request it
 * makes is authorized by what the chart grants and nothing else, so a missing rule
 * shows up here as a missing object or status.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  createNamespace,
  runTool,
  serviceAccountKubeconfig,
  skipCluster,
  startCluster,
  type TestCluster,
} from '../cluster/harness.js';
import { ROOT, ok, operatorName } from './helpers.js';
import { installWithoutCrd, uninstallWithNamespaces } from './rbac.js';

const IMAGE = 'registry.example.com/wsgate:chart-test';

interface Owned {
  metadata: { ownerReferences?: Array<{ uid: string; controller?: boolean }> };
}

/** Polls `check` every 250 ms until it returns a value, for at most `timeoutMs`. */
async function until<T>(
  what: string,
  timeoutMs: number,
  check: () => Promise<T | undefined>,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`,
      );
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe('operator as the chart ServiceAccount', { skip: skipCluster, timeout: 300_000 }, () => {
  let cluster: TestCluster;
  let ns: string;
  let proxies: string;
  let rel: string;
  let operator: ChildProcess | undefined;
  let logs = '';

  before(async () => {
    cluster = await startCluster();
    ns = await createNamespace(cluster, undefined, 'chart-op');
    proxies = await createNamespace(cluster, undefined, 'chart-op-wsp');
    rel = `op-${randomBytes(3).toString('hex')}`;
    // The CRD comes from crds/ (current, whoever applied it before); the chart's own CRD
    // template is covered by chart.test.ts, and leaving it out avoids contending for it.
    await ok(cluster, 'kubectl', [
      'apply',
      '--server-side',
      '--force-conflicts',
      '--field-manager=wsgate-chart-test',
      '-f',
      join(ROOT, 'crds', 'wsgate.dev_websocketproxies.yaml'),
    ]);
    await ok(cluster, 'kubectl', [
      'wait',
      '--for=condition=Established',
      '--timeout=30s',
      'customresourcedefinition/websocketproxies.wsgate.dev',
    ]);
    await installWithoutCrd(cluster, rel, ns, [`secretsNamespaces={${proxies}}`]);
  });

  after(async () => {
    if (operator?.pid !== undefined && operator.exitCode === null) {
      const exited = new Promise((r) => operator!.once('exit', r));
      operator.kill('SIGTERM');
      const timer = setTimeout(() => operator?.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    await uninstallWithNamespaces(cluster, rel, ns, [proxies]);
  });

  it('`wsgate operator` exists', async () => {
    const res = await new Promise<{ code: number | null; out: string }>((resolve) => {
      const p = spawn(process.execPath, [join(ROOT, 'bin', 'wsgate.js'), 'operator', '--help'], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      p.stdout.on('data', (d: Buffer) => (out += d.toString()));
      p.stderr.on('data', (d: Buffer) => (out += d.toString()));
      const timer = setTimeout(() => p.kill('SIGKILL'), 30_000);
      p.on('exit', (code) => {
        clearTimeout(timer);
        resolve({ code, out });
      });
    });
    assert.equal(res.code, 0, `wsgate operator --help failed:\n${res.out}`);
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
    operator = spawn(
      process.execPath,
      [
        join(ROOT, 'bin', 'wsgate.js'),
        'operator',
        '--kubeconfig',
        kubeconfig,
        '--image',
        IMAGE,
        '--metrics-listen',
        '127.0.0.1:0',
        '--leader-elect',
      ],
      {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
        // What the chart's Deployment sets from the downward API.
        env: { ...process.env, POD_NAMESPACE: ns, POD_NAME: 'operator-under-test' },
      },
    );
    operator.stdout?.on('data', (d: Buffer) => (logs += d.toString()));
    operator.stderr?.on('data', (d: Buffer) => (logs += d.toString()));
    const exitedEarly = new Promise<never>((_, reject) =>
      operator!.once('exit', (code) => reject(new Error(`operator exited ${code}:\n${logs}`))),
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
        const obj = await until(ref, 60_000, () => get(ref));
        assert.ok(ownedBy(obj), `${ref} is not owned by the WebSocketProxy`);
      }
      const deploy = await until('deployment/console', 60_000, () => get('deployment/console'));
      assert.ok(ownedBy(deploy));
      const pod = (
        deploy['spec'] as { template: { spec: { containers: Array<{ image: string }> } } }
      ).template.spec;
      assert.equal(pod.containers[0]?.image, IMAGE, 'proxies default to the operator image');
      const status = await until('status with conditions', 90_000, async () => {
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
      });
      const types = status.conditions!.map((c) => c.type);
      for (const type of ['Ready', 'ConfigValid'])
        assert.ok(types.includes(type), `no ${type} condition`);
      // The Secrets grant of secretsNamespaces let the operator check the token Secret.
      const config = status.conditions!.find((c) => c.type === 'ConfigValid')!;
      assert.equal(config.status, 'True', JSON.stringify(config));
      assert.doesNotMatch(config.message ?? '', /not verified/, JSON.stringify(config));
      // The Lease is in the release namespace, as the chart's Role allows.
      await until('the leader Lease', 30_000, async () => {
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
    assert.doesNotMatch(logs, /forbidden/i, `the operator was refused something:\n${logs}`);
  });
});
