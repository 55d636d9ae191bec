/** The proxy Deployment: security, mounts, probes, drain, config hash, scheduling. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { renderDeployment } from '../../operator/src/render/deployment.js';
import { configHash, renderConfigMap } from '../../operator/src/render/configmap.js';
import { fixture } from './helpers.js';

const options = { operatorImage: 'registry.example.com/wsgate:1.2.3' };
const render = (spec: Parameters<typeof fixture>[0] = {}) =>
  renderDeployment(fixture(spec), options);
const pod = (spec: Parameters<typeof fixture>[0] = {}) => render(spec).spec.template.spec!;
const proxy = (spec: Parameters<typeof fixture>[0] = {}) => pod(spec).containers[0]!;

describe('renderDeployment', () => {
  test("the operator's image unless spec.image", () => {
    assert.equal(proxy().image, options.operatorImage);
    assert.equal(proxy({ image: 'mine:1', imagePullPolicy: 'Always' }).image, 'mine:1');
    assert.equal(proxy({ imagePullPolicy: 'Always' }).imagePullPolicy, 'Always');
    assert.equal(proxy().imagePullPolicy, undefined);
  });

  test('restricted security context', () => {
    const spec = pod();
    assert.deepEqual(spec.securityContext, {
      runAsNonRoot: true,
      runAsUser: 1000,
      runAsGroup: 1000,
      fsGroup: 1000,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    assert.deepEqual(spec.containers[0]!.securityContext, {
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      capabilities: { drop: ['ALL'] },
    });
    assert.equal(spec.automountServiceAccountToken, false);
    assert.equal(spec.enableServiceLinks, false);
  });

  test('Secrets mount as directories (no subPath) with only the named keys', () => {
    const spec = pod({
      tls: { issuerRef: { name: 'ca' }, dnsNames: ['a.example.com'] },
      tokens: {
        file: { secretRef: { name: 'tok', key: 'tokens' } },
        jwt: { keySecretRef: { name: 'jwt', key: 'pub.pem' }, algorithms: ['RS256'] },
        ovirt: { certificateSecretRef: { name: 'engine', key: 'engine.cer' } },
      },
      targets: { allow: ['10.0.0.0/8:5900'], tls: { caSecretRef: { name: 'ca', key: 'ca.crt' } } },
    });
    const mounts = spec.containers[0]!.volumeMounts!;
    assert.ok(mounts.every((m) => m.subPath === undefined));
    assert.deepEqual(
      mounts.map((m) => [m.name, m.mountPath, m.readOnly ?? false]),
      [
        ['config', '/etc/wsgate/config', true],
        ['tls', '/etc/wsgate/tls', true],
        ['tokens', '/etc/wsgate/tokens', true],
        ['jwt-key', '/etc/wsgate/jwt', true],
        ['ovirt-cert', '/etc/wsgate/ovirt', true],
        ['target-ca', '/etc/wsgate/target-ca', true],
        ['tmp', '/tmp', false],
      ],
    );
    const secrets = Object.fromEntries(
      spec
        .volumes!.filter((v) => v.secret)
        .map((v) => [v.name, [v.secret!.secretName, v.secret!.items!.map((i) => i.key)]]),
    );
    assert.deepEqual(secrets, {
      tls: ['console-tls', ['tls.crt', 'tls.key']],
      tokens: ['tok', ['tokens']],
      'jwt-key': ['jwt', ['pub.pem']],
      'ovirt-cert': ['engine', ['engine.cer']],
      'target-ca': ['ca', ['ca.crt']],
    });
    assert.deepEqual(spec.volumes!.find((v) => v.name === 'tmp')?.emptyDir, { sizeLimit: '64Mi' });
  });

  test("the replay store's URL is an environment variable from its Secret; password and CA are mounted", () => {
    const spec = pod({
      replicas: 2,
      tokens: {
        jwt: {
          keySecretRef: { name: 'jwt', key: 'pub.pem' },
          singleUse: true,
          replayStore: {
            secretRef: { name: 'redis', key: 'url' },
            passwordSecretRef: { name: 'redis', key: 'password' },
            caSecretRef: { name: 'redis-ca', key: 'ca.crt' },
          },
        },
      },
      targets: { allow: ['10.0.0.0/8:5900'] },
    });
    const c = spec.containers[0]!;
    assert.deepEqual(c.env, [
      { name: 'WSGATE_REPLAY_STORE', valueFrom: { secretKeyRef: { name: 'redis', key: 'url' } } },
    ]);
    assert.deepEqual(
      c.volumeMounts!.map((m) => [m.name, m.mountPath]).filter(([n]) => n!.startsWith('replay')),
      [
        ['replay-store-password', '/etc/wsgate/replay-store-password'],
        ['replay-store-ca', '/etc/wsgate/replay-store-ca'],
      ],
    );
    const secrets = Object.fromEntries(
      spec
        .volumes!.filter((v) => v.secret)
        .map((v) => [v.name, [v.secret!.secretName, v.secret!.items!.map((i) => i.key)]]),
    );
    assert.deepEqual(secrets['replay-store-password'], ['redis', ['password']]);
    assert.deepEqual(secrets['replay-store-ca'], ['redis-ca', ['ca.crt']]);
    assert.equal(secrets['replay-store'], undefined, 'the URL is not mounted');
    assert.equal(proxy().env, undefined, 'no environment without a replay store');
  });

  test('probes on the metrics port, preStop and grace for the drain', () => {
    const c = proxy({ drainTimeoutSeconds: 60 });
    assert.equal(c.readinessProbe?.httpGet?.path, '/readyz');
    assert.equal(c.livenessProbe?.httpGet?.path, '/healthz');
    assert.equal(c.startupProbe?.httpGet?.path, '/healthz');
    assert.equal(c.readinessProbe?.httpGet?.port, 'metrics');
    assert.deepEqual(c.lifecycle?.preStop, { sleep: { seconds: 5 } });
    assert.equal(pod({ drainTimeoutSeconds: 60 }).terminationGracePeriodSeconds, 70);
    assert.deepEqual(c.args, ['proxy', '--config', '/etc/wsgate/config/proxy.yaml']);
    assert.deepEqual(
      c.ports?.map((p) => [p.name, p.containerPort]),
      [
        ['websocket', 6080],
        ['metrics', 9090],
      ],
    );
  });

  test('config hash annotation matches the ConfigMap; pod annotations and labels merge under ours', () => {
    const spec = {
      podAnnotations: { a: 'b', 'wsgate.dev/config-hash': 'mine' },
      podLabels: { team: 'x', 'app.kubernetes.io/instance': 'evil' },
    };
    const d = render(spec);
    const meta = d.spec.template.metadata!;
    assert.equal(meta.annotations?.a, 'b');
    assert.equal(
      meta.annotations?.['wsgate.dev/config-hash'],
      configHash(renderConfigMap(fixture(spec)).data),
    );
    assert.equal(meta.labels?.team, 'x');
    assert.equal(meta.labels?.['app.kubernetes.io/instance'], 'console');
    for (const [k, v] of Object.entries(d.spec.selector.matchLabels!))
      assert.equal(meta.labels?.[k], v);
  });

  test('surge-only rolling updates', () => {
    assert.deepEqual(render().spec.strategy, {
      type: 'RollingUpdate',
      rollingUpdate: { maxUnavailable: 0, maxSurge: 1 },
    });
  });

  test('scheduling fields pass through; spread only with several replicas', () => {
    const spec = pod({
      replicas: 3,
      nodeSelector: { zone: 'a' },
      tolerations: [{ key: 'k', operator: 'Exists', effect: 'NoSchedule' }],
      affinity: { nodeAffinity: { x: 1 } },
      priorityClassName: 'high',
      imagePullSecrets: [{ name: 'pull' }],
      resources: { requests: { cpu: 1, memory: '64Mi' } },
    });
    assert.deepEqual(spec.nodeSelector, { zone: 'a' });
    assert.deepEqual(spec.tolerations, [{ key: 'k', operator: 'Exists', effect: 'NoSchedule' }]);
    assert.deepEqual(spec.affinity, { nodeAffinity: { x: 1 } });
    assert.equal(spec.priorityClassName, 'high');
    assert.deepEqual(spec.imagePullSecrets, [{ name: 'pull' }]);
    assert.deepEqual(spec.containers[0]!.resources, { requests: { cpu: '1', memory: '64Mi' } });
    assert.equal(pod({ replicas: 1 }).topologySpreadConstraints, undefined);
  });

  test('soft spread over zones, then nodes, per revision', () => {
    const selector = {
      'app.kubernetes.io/name': 'wsgate',
      'app.kubernetes.io/instance': 'console',
      'app.kubernetes.io/component': 'proxy',
    };
    assert.deepEqual(
      pod({ replicas: 3 }).topologySpreadConstraints,
      ['topology.kubernetes.io/zone', 'kubernetes.io/hostname'].map((topologyKey) => ({
        maxSkew: 1,
        topologyKey,
        whenUnsatisfiable: 'ScheduleAnyway',
        labelSelector: { matchLabels: selector },
        matchLabelKeys: ['pod-template-hash'],
      })),
    );
  });
});

describe('renderDeployment: fields the resource leaves unset are absent', () => {
  test('a minimal resource sets exactly these pod spec and container fields', () => {
    const spec = pod({ replicas: 1 });
    assert.deepEqual(Object.keys(spec).sort(), [
      'automountServiceAccountToken',
      'containers',
      'enableServiceLinks',
      'securityContext',
      'terminationGracePeriodSeconds',
      'volumes',
    ]);
    assert.deepEqual(Object.keys(spec.containers[0]!).sort(), [
      'args',
      'image',
      'lifecycle',
      'livenessProbe',
      'name',
      'ports',
      'readinessProbe',
      'securityContext',
      'startupProbe',
      'volumeMounts',
    ]);
  });

  test('resource limits without requests give the container no requests', () => {
    const resources = proxy({ resources: { limits: { cpu: 1 } } }).resources!;
    assert.deepEqual(resources, { limits: { cpu: '1' } });
    assert.equal(Object.hasOwn(resources, 'requests'), false);
  });
});
