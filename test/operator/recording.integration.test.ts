/**
 * spec.recording against the real API server: the CRD admits and refuses what it should
 * (server-side dry run), and the README's recipe holds: a sidecar added to the proxy
 * Deployment by another field manager survives the operator's server-side apply.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { parse } from 'yaml';
import {
  createNamespace,
  runTool,
  skipCluster,
  startCluster,
  type TestCluster,
} from '../cluster/harness.js';
import { renderDeployment } from '../../operator/src/render/deployment.js';
import { fixture } from './helpers.js';
import { installCrd, kubectl } from './kube.js';
import { proxy } from './resources.js';

/** The operator's field manager (operator/src/kube: server-side apply, forced). */
const OPERATOR_MANAGER = 'wsgate-operator';

const CASES: [string, Record<string, unknown>, RegExp][] = [
  [
    'both a claim and an emptyDir',
    { enabled: true, persistentVolumeClaim: { claimName: 'rec' }, emptyDir: {} },
    /set at most one of persistentVolumeClaim and emptyDir/,
  ],
  [
    'a file limit below 4 KiB',
    { enabled: true, maxBytes: 100 },
    /maxBytes.*should be greater than or equal to 4096/,
  ],
  [
    'a claim name that names no object',
    { enabled: true, persistentVolumeClaim: { claimName: 'Bad_Name' } },
    /claimName/,
  ],
  ['an unknown mode', { enabled: true, when: 'sometimes' }, /Unsupported value: "sometimes"/],
];

describe('spec.recording on the API server', { skip: skipCluster }, () => {
  let cluster: TestCluster;
  let ns: string;

  before(async () => {
    cluster = await startCluster();
    await installCrd(cluster);
    ns = await createNamespace(cluster, undefined, 'wsp-rec');
  });

  after(async () => {
    await runTool(cluster, 'kubectl', ['delete', 'namespace', ns, '--wait=false']);
  });

  const dryRun = (object: unknown) =>
    runTool(cluster, 'kubectl', ['create', '--dry-run=server', '-o', 'name', '-f', '-'], {
      input: JSON.stringify(object),
    });

  it('accepts recording to a claim, and to an emptyDir', async () => {
    for (const recording of [
      {
        enabled: true,
        input: false,
        maxBytes: 1 << 30,
        retentionSeconds: 86400,
        persistentVolumeClaim: { claimName: 'console-recordings' },
      },
      { enabled: true, when: 'ticket', emptyDir: { sizeLimit: '2Gi' } },
    ]) {
      const res = await dryRun(proxy(ns, 'console', { recording }));
      assert.equal(res.code, 0, res.stderr);
    }
  });

  for (const [what, recording, message] of CASES) {
    it(`refuses ${what}`, async () => {
      const res = await dryRun(proxy(ns, 'console', { recording }));
      assert.notEqual(res.code, 0, `accepted: ${res.stdout}`);
      assert.match(res.stderr, message);
    });
  }

  it("a sidecar applied by another field manager survives the operator's apply", async () => {
    const deployment = renderDeployment(
      fixture({ recording: { enabled: true, emptyDir: { sizeLimit: '1Gi' } } }),
      { operatorImage: 'registry.invalid/wsgate:integration' },
    );
    // No owner here (the fixture's resource does not exist; the collector would delete it).
    deployment.metadata = { ...deployment.metadata, namespace: ns, ownerReferences: undefined };
    const asOperator = (d: unknown) =>
      kubectl(
        cluster,
        [
          'apply',
          '--server-side',
          '--force-conflicts',
          `--field-manager=${OPERATOR_MANAGER}`,
          '-f',
          '-',
        ],
        JSON.stringify(d),
      );
    await asOperator(deployment);
    // The README's recipe (operator/README.md, "Session recordings").
    await kubectl(
      cluster,
      ['-n', ns, 'apply', '--server-side', '--field-manager=recording-shipper', '-f', '-'],
      `apiVersion: apps/v1
kind: Deployment
metadata: { name: ${deployment.metadata!.name} }
spec:
  template:
    spec:
      containers:
        - name: ship-recordings
          image: rclone/rclone:1
          args: [move, /recordings, 'remote:console-recordings', --min-age, 10m]
          volumeMounts: [{ name: recordings, mountPath: /recordings }]
          securityContext:
            runAsNonRoot: true
            runAsUser: 1000
            allowPrivilegeEscalation: false
            capabilities: { drop: [ALL] }
`,
    );
    // A later reconcile, with a change of the operator's own (a new config hash).
    const changed = structuredClone(deployment);
    changed.spec.template.metadata!.annotations!['wsgate.dev/config-hash'] = 'changed';
    await asOperator(changed);
    const live = parse(
      await kubectl(cluster, [
        '-n',
        ns,
        'get',
        'deployment',
        deployment.metadata!.name!,
        '-o',
        'yaml',
      ]),
    ) as typeof deployment;
    const containers = live.spec.template.spec!.containers.map((c) => c.name);
    assert.deepEqual(containers.sort(), ['proxy', 'ship-recordings']);
    assert.equal(live.spec.template.metadata!.annotations!['wsgate.dev/config-hash'], 'changed');
    const volume = live.spec.template.spec!.volumes!.find((v) => v.name === 'recordings');
    assert.deepEqual(volume?.emptyDir, { sizeLimit: '1Gi' });
  });
});
