/**
 * The Helm chart against the local control plane: lint, schema and `fail` checks,
 * rendered manifests accepted by the API server (server-side dry run), install,
 * upgrade and uninstall, and what the operator's ServiceAccount may and may not do.
 *
 * The operator pods do not run here (kwok reports pods Running without running the
 * image), so install and upgrade are checked through the objects the chart makes.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse } from 'yaml';
import {
  createNamespace,
  runTool,
  skipCluster,
  startCluster,
  type TestCluster,
} from '../cluster/harness.js';
import { ensureOpenCrd, ensureServiceMonitorCrd, suffix } from '../operator/kube.js';
import {
  CHART,
  CI_VALUES,
  ROOT,
  adoptCrd,
  find,
  matchSnapshot,
  ok,
  operatorName,
  parseObjects,
  template,
  valuesFile,
  type K8sObject,
} from './helpers.js';
import { installWithoutCrd, operatorCan, uninstallWithNamespaces } from './rbac.js';

const release = (prefix: string) => `${prefix}-${suffix()}`;

/**
 * Makes sure a PrometheusRule CRD exists, as ensureServiceMonitorCrd does for
 * ServiceMonitors: a minimal open one (labelled wsgate.dev/test=true) unless a real one
 * is installed. The dry run then proves the kind and metadata, and promtool
 * (prometheusrule.test.ts) the rules.
 */
function ensurePrometheusRuleCrd(cluster: TestCluster): Promise<void> {
  return ensureOpenCrd(cluster, 'monitoring.coreos.com', 'prometheusrules', 'PrometheusRule');
}

/**
 * The two ServiceAccount permission suites declare their cases the same way: one `it`
 * a case, named `may|may not <verb> <resource> (<where>)`, asking `allowed` with kubectl's
 * scope for `where`: all namespaces, cluster-wide, or the namespace `namespaceOf` names
 * (called when the case runs, after the suite's `before`).
 */
function permissionCases<Where extends string>(
  cases: Array<[string, string, Where | 'all' | 'cluster', boolean]>,
  namespaceOf: (where: Where) => string,
  allowed: (verb: string, resource: string, scope: string[]) => Promise<boolean>,
): void {
  for (const [verb, resource, where, expected] of cases) {
    it(`${expected ? 'may' : 'may not'} ${verb} ${resource} (${where})`, async () => {
      const scope =
        where === 'all'
          ? ['--all-namespaces']
          : where === 'cluster'
            ? []
            : ['-n', namespaceOf(where as Where)];
      assert.equal(await allowed(verb, resource, scope), expected);
    });
  }
}

interface PodTemplate {
  spec: {
    template: {
      metadata: { labels: Record<string, string> };
      spec: {
        serviceAccountName: string;
        securityContext: Record<string, unknown>;
        containers: Array<{
          args: string[];
          env: Array<{ name: string; value?: string }>;
          securityContext: Record<string, unknown>;
          livenessProbe?: unknown;
          readinessProbe?: unknown;
          resources?: unknown;
        }>;
      };
    };
  };
}

describe('charts/wsgate', { skip: skipCluster, timeout: 600_000 }, () => {
  let cluster: TestCluster;
  before(async () => {
    cluster = await startCluster();
  });

  describe('lint', () => {
    for (const strict of [false, true]) {
      it(`passes helm lint${strict ? ' --strict' : ''} with every ci values file`, async () => {
        for (const name of CI_VALUES) {
          const file = join(CHART, 'ci', `${name}-values.yaml`);
          const args = ['lint', CHART, '-f', file, ...(strict ? ['--strict'] : [])];
          const out = await ok(cluster, 'helm', args);
          assert.match(out, /1 chart\(s\) linted, 0 chart\(s\) failed/);
          assert.doesNotMatch(out, /\[(WARNING|ERROR)\]/);
        }
      });
    }
  });

  describe('values', () => {
    // Each bad value is refused, and the message names the field.
    const bad: Array<{ name: string; values: unknown; message: RegExp }> = [
      {
        name: 'unknown top-level key',
        values: { replicas: 2 },
        message: /additional properties 'replicas'/,
      },
      {
        name: 'unknown nested key',
        values: { crds: { enabled: true, keep: true, install: true } },
        message: /\/crds.*additional properties 'install'/,
      },
      { name: 'negative replicaCount', values: { replicaCount: -1 }, message: /\/replicaCount/ },
      {
        name: 'replicaCount as string',
        values: { replicaCount: 'two' },
        message: /\/replicaCount/,
      },
      {
        name: 'pullPolicy not an enum value',
        values: { image: { repository: 'wsgate', tag: '', digest: '', pullPolicy: 'Sometimes' } },
        message: /\/image\/pullPolicy/,
      },
      {
        name: 'malformed digest',
        values: { image: { repository: 'wsgate', tag: '', digest: 'md5:x', pullPolicy: 'Always' } },
        message: /\/image\/digest/,
      },
      { name: 'logLevel not a level', values: { logLevel: 'loud' }, message: /\/logLevel/ },
      {
        name: 'namespace not DNS-1123',
        values: { watchNamespaces: ['Consoles'] },
        message: /\/watchNamespaces\/0/,
      },
      {
        name: 'Secrets for every namespace',
        values: { secretsNamespaces: ['*'] },
        message: /\/secretsNamespaces\/0/,
      },
      {
        name: 'privileged metrics port',
        values: {
          metrics: { port: 80, service: { enabled: true }, serviceMonitor: { enabled: false } },
        },
        message: /\/metrics\/port/,
      },
      {
        name: 'ServiceMonitor label not a string',
        values: {
          metrics: {
            port: 8080,
            service: { enabled: true },
            serviceMonitor: { enabled: true, labels: { release: 1 } },
          },
        },
        message: /\/metrics\/serviceMonitor\/labels\/release/,
      },
      {
        name: 'bad scrape interval',
        values: {
          metrics: {
            port: 8080,
            service: { enabled: true },
            serviceMonitor: { enabled: true, interval: 'often' },
          },
        },
        message: /\/metrics\/serviceMonitor\/interval/,
      },
      {
        name: 'PDB minAvailable not int or percentage',
        values: { podDisruptionBudget: { enabled: true, minAvailable: 'half' } },
        message: /\/podDisruptionBudget\/minAvailable/,
      },
      {
        name: 'refusal share above 1',
        values: { metrics: { prometheusRule: { enabled: true, refusedRatio: 2 } } },
        message: /\/metrics\/prometheusRule\/refusedRatio/,
      },
      {
        name: 'unknown PrometheusRule key',
        values: { metrics: { prometheusRule: { enabled: true, severity: 'page' } } },
        message: /\/metrics\/prometheusRule.*additional properties 'severity'/,
      },
      {
        name: 'empty proxy target selector',
        values: { metrics: { prometheusRule: { enabled: true, proxyTargets: '' } } },
        message: /\/metrics\/prometheusRule\/proxyTargets/,
      },
      {
        name: 'dashboard label not a string',
        values: { metrics: { dashboard: { enabled: true, labels: { grafana_dashboard: 1 } } } },
        message: /\/metrics\/dashboard\/labels\/grafana_dashboard/,
      },
      {
        name: 'metrics.secure not a boolean',
        values: { metrics: { secure: 'sure' } },
        message: /\/metrics\/secure/,
      },
      {
        name: 'metrics reader of an unknown kind',
        values: { metrics: { readers: [{ kind: 'Robot', name: 'x' }] } },
        message: /\/metrics\/readers\/0\/kind/,
      },
      {
        name: 'privileged health port',
        values: { health: { port: 81 } },
        message: /\/health\/port/,
      },
      {
        name: 'crds.enabled not a boolean',
        values: { crds: { enabled: 'sure', keep: true } },
        message: /\/crds\/enabled/,
      },
    ];
    for (const c of bad) {
      it(`rejects ${c.name}`, async (t) => {
        const file = valuesFile(t, c.values);
        await assert.rejects(template(cluster, 'bad', 'default', ['-f', file]), (err: Error) => {
          assert.match(err.message, /values don't meet the specifications of the schema/);
          assert.match(err.message, c.message);
          return true;
        });
      });
    }

    // Contradictions the schema cannot express fail in _helpers.tpl.
    const contradictions: Array<{ name: string; values: unknown; message: RegExp }> = [
      {
        name: 'two replicas without leader election',
        values: { replicaCount: 2, leaderElection: { enabled: false } },
        message: /leaderElection\.enabled=false needs replicaCount=1/,
      },
      {
        name: 'PDB with both bounds',
        values: { podDisruptionBudget: { enabled: true, minAvailable: 1, maxUnavailable: 1 } },
        message: /set minAvailable or maxUnavailable, not both/,
      },
      {
        name: 'ServiceMonitor without the metrics Service',
        values: {
          metrics: { port: 8080, service: { enabled: false }, serviceMonitor: { enabled: true } },
        },
        message: /serviceMonitor\.enabled needs metrics\.service\.enabled/,
      },
      {
        name: 'metrics and health on one port',
        values: { health: { port: 8443 } },
        message: /metrics\.port and health\.port must differ/,
      },
      {
        name: 'a ServiceAccount reader without namespace',
        values: { metrics: { readers: [{ kind: 'ServiceAccount', name: 'prometheus' }] } },
        message: /metrics\.readers: ServiceAccount prometheus needs a namespace/,
      },
      {
        name: 'no ServiceAccount and no name',
        values: { serviceAccount: { create: false, name: '' } },
        message: /serviceAccount\.name is required/,
      },
    ];
    for (const c of contradictions) {
      it(`fails on ${c.name}`, async (t) => {
        const file = valuesFile(t, c.values);
        await assert.rejects(template(cluster, 'bad', 'default', ['-f', file]), c.message);
      });
    }
  });

  describe('rendering', () => {
    // Snapshots of every object but the CRD (which generated.unit.test.ts covers).
    for (const name of CI_VALUES) {
      it(`matches the ${name} snapshot`, async () => {
        const file = join(CHART, 'ci', `${name}-values.yaml`);
        const objects = parseObjects(
          await template(cluster, 'wsgate', 'wsgate-system', ['-f', file]),
        );
        matchSnapshot(
          name,
          objects.filter((o) => o.kind !== 'CustomResourceDefinition'),
        );
      });
    }

    it('renders the CRD from crds/ unchanged, kept on uninstall, and can leave it out', async () => {
      const source = parse(
        readFileSync(join(ROOT, 'crds', 'wsgate.dev_websocketproxies.yaml'), 'utf8'),
        {
          maxAliasCount: -1,
        },
      ) as { spec: unknown };
      const crd = find(
        parseObjects(await template(cluster, 'r', 'ns')),
        'CustomResourceDefinition',
      );
      assert.deepEqual(crd['spec'], source.spec);
      assert.equal(crd.metadata.annotations?.['helm.sh/resource-policy'], 'keep');
      const notKept = find(
        parseObjects(await template(cluster, 'r', 'ns', ['--set', 'crds.keep=false'])),
        'CustomResourceDefinition',
      );
      assert.equal(notKept.metadata.annotations?.['helm.sh/resource-policy'], undefined);
      const none = parseObjects(
        await template(cluster, 'r', 'ns', ['--set', 'crds.enabled=false']),
      );
      assert.equal(none.filter((o) => o.kind === 'CustomResourceDefinition').length, 0);
    });

    it('defaults: restricted pod, probes, resources, image passed on, cluster-wide RBAC', async () => {
      const objects = parseObjects(await template(cluster, 'r', 'ns'));
      assert.deepEqual(objects.map((o) => `${o.kind}/${o.metadata.name}`).sort(), [
        'ClusterRole/r-wsgate-metrics-reader',
        'ClusterRole/r-wsgate-operator',
        'ClusterRole/r-wsgate-operator-metrics-auth',
        'ClusterRole/r-wsgate-operator-secrets',
        'ClusterRole/r-wsgate-websocketproxy-admin',
        'ClusterRole/r-wsgate-websocketproxy-editor',
        'ClusterRole/r-wsgate-websocketproxy-viewer',
        'ClusterRoleBinding/r-wsgate-operator',
        'ClusterRoleBinding/r-wsgate-operator-metrics-auth',
        'CustomResourceDefinition/websocketproxies.wsgate.dev',
        'Deployment/r-wsgate-operator',
        'Role/r-wsgate-operator-leader-election',
        'RoleBinding/r-wsgate-operator-leader-election',
        'Service/r-wsgate-operator-metrics',
        'ServiceAccount/r-wsgate-operator',
      ]);
      for (const o of objects) {
        for (const label of ['name', 'instance', 'component']) {
          assert.ok(o.metadata.labels?.[`app.kubernetes.io/${label}`], `${o.kind} lacks ${label}`);
        }
      }
      const deploy = find(objects, 'Deployment') as unknown as PodTemplate;
      const pod = deploy.spec.template.spec;
      assert.equal(pod.serviceAccountName, 'r-wsgate-operator');
      assert.deepEqual(pod.securityContext, {
        runAsNonRoot: true,
        runAsUser: 1000,
        runAsGroup: 1000,
        fsGroup: 1000,
        seccompProfile: { type: 'RuntimeDefault' },
      });
      const c = pod.containers[0]!;
      assert.deepEqual(c.securityContext, {
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        runAsNonRoot: true,
        capabilities: { drop: ['ALL'] },
      });
      assert.ok(c.livenessProbe && c.readinessProbe && c.resources);
      assert.equal(c.args[0], 'operator');
      assert.ok(c.args.includes('--image=wsgate:0.1.0'));
      assert.ok(c.args.includes('--leader-elect'));
      assert.equal(c.env.find((e) => e.name === 'WSGATE_IMAGE')?.value, 'wsgate:0.1.0');
      const binding = find(objects, 'ClusterRoleBinding', 'r-wsgate-operator') as K8sObject & {
        roleRef: { name: string };
      };
      assert.equal(binding.roleRef.name, 'r-wsgate-operator');
    });

    it('secure metrics by default: HTTPS with token auth, plain probes on their own port', async () => {
      const container = (objects: K8sObject[]) =>
        (find(objects, 'Deployment') as unknown as PodTemplate).spec.template.spec.containers[0]!;
      const monitor = (objects: K8sObject[]) =>
        (find(objects, 'ServiceMonitor')['spec'] as { endpoints: Array<Record<string, unknown>> })
          .endpoints[0]!;
      const secure = parseObjects(
        await template(cluster, 'r', 'ns', ['--set', 'metrics.serviceMonitor.enabled=true']),
      );
      const c = container(secure) as PodTemplate['spec']['template']['spec']['containers'][0] & {
        ports: Array<{ name: string; containerPort: number }>;
        livenessProbe: { httpGet: { port: string } };
      };
      assert.ok(c.args.includes('--metrics-listen=0.0.0.0:8443'));
      assert.ok(c.args.includes('--health-listen=0.0.0.0:8081'));
      assert.ok(c.args.includes('--metrics-secure'));
      assert.equal(c.livenessProbe.httpGet.port, 'health');
      assert.deepEqual(
        c.ports.map((p) => [p.name, p.containerPort]),
        [
          ['metrics', 8443],
          ['health', 8081],
        ],
      );
      assert.deepEqual(monitor(secure), {
        port: 'metrics',
        path: '/metrics',
        scheme: 'https',
        bearerTokenFile: '/var/run/secrets/kubernetes.io/serviceaccount/token',
        tlsConfig: { insecureSkipVerify: true },
        interval: '30s',
        scrapeTimeout: '10s',
      });

      const withCert = parseObjects(
        await template(cluster, 'r', 'ns', [
          '--set',
          'metrics.certSecret=operator-metrics-tls',
          '--set',
          'metrics.serviceMonitor.enabled=true',
          '--set',
          'metrics.serviceMonitor.tlsConfig.serverName=r-wsgate-operator-metrics.ns.svc',
          '--set',
          'metrics.readers[0].kind=ServiceAccount',
          '--set',
          'metrics.readers[0].name=prometheus',
          '--set',
          'metrics.readers[0].namespace=monitoring',
        ]),
      );
      assert.ok(container(withCert).args.includes('--metrics-cert-dir=/etc/wsgate/metrics-tls'));
      assert.deepEqual(monitor(withCert)['tlsConfig'], {
        serverName: 'r-wsgate-operator-metrics.ns.svc',
      });
      const readers = find(
        withCert,
        'ClusterRoleBinding',
        'r-wsgate-metrics-reader',
      ) as K8sObject & {
        roleRef: { name: string };
        subjects: unknown[];
      };
      assert.equal(readers.roleRef.name, 'r-wsgate-metrics-reader');
      assert.deepEqual(readers.subjects, [
        { kind: 'ServiceAccount', name: 'prometheus', namespace: 'monitoring' },
      ]);

      const plain = parseObjects(
        await template(cluster, 'r', 'ns', [
          '--set',
          'metrics.secure=false',
          '--set',
          'metrics.port=8080',
          '--set',
          'metrics.serviceMonitor.enabled=true',
        ]),
      );
      assert.ok(!container(plain).args.includes('--metrics-secure'));
      assert.equal(monitor(plain)['scheme'], 'http');
      assert.equal(monitor(plain)['bearerTokenFile'], undefined);
      assert.equal(
        plain.filter((o) => o.metadata.name === 'r-wsgate-operator-metrics-auth').length,
        0,
        'no review rights without secure metrics',
      );
    });

    it('proxyImage overrides the image proxies default to', async () => {
      const objects = parseObjects(
        await template(cluster, 'r', 'ns', ['--set', 'proxyImage=example.com/proxy:1']),
      );
      const c = (find(objects, 'Deployment') as unknown as PodTemplate).spec.template.spec
        .containers[0]!;
      assert.ok(c.args.includes('--image=example.com/proxy:1'));
    });

    it('renders PodDisruptionBudget maxUnavailable 0 as 0, not as the default 1', async () => {
      const pdb = find(
        parseObjects(
          await template(cluster, 'r', 'ns', [
            '--set',
            'podDisruptionBudget.enabled=true',
            '--set',
            'podDisruptionBudget.maxUnavailable=0',
          ]),
        ),
        'PodDisruptionBudget',
      ) as K8sObject & { spec: { maxUnavailable?: unknown } };
      assert.equal(pdb.spec.maxUnavailable, 0);
    });
  });

  describe('server-side dry run', () => {
    for (const name of CI_VALUES) {
      it(`accepts the ${name} values`, async (t) => {
        const ns = await createNamespace(cluster, t, 'chart-dry');
        const extra: string[] = [];
        if (name === 'namespaced') {
          const a = await createNamespace(cluster, t, 'chart-wa');
          const b = await createNamespace(cluster, t, 'chart-wb');
          extra.push('--set', `watchNamespaces={${a},${b}}`, '--set', `secretsNamespaces={${a}}`);
        }
        if (name === 'ha') {
          await ensureServiceMonitorCrd(cluster);
          await ensurePrometheusRuleCrd(cluster);
        }
        const file = join(CHART, 'ci', `${name}-values.yaml`);
        const rel = release('dry');
        const manifest = await template(cluster, rel, ns, ['-f', file, ...extra]);
        const objects = parseObjects(manifest);
        if (name === 'ha') {
          for (const kind of ['PodDisruptionBudget', 'NetworkPolicy', 'ServiceMonitor'])
            find(objects, kind);
          const sm = find(objects, 'ServiceMonitor');
          assert.equal(sm.metadata.labels?.['release'], 'prometheus');
          const deploy = find(objects, 'Deployment') as unknown as PodTemplate & {
            spec: { replicas: number };
          };
          assert.equal(deploy.spec.replicas, 2);
          assert.ok(deploy.spec.template.spec.containers[0]!.args.includes('--leader-elect'));
        }
        if (name === 'namespaced') {
          const bindings = objects.filter((o) => o.kind === 'RoleBinding');
          assert.equal(bindings.length, 4); // leader election, two watch scopes, one Secrets grant
          const crb = find(objects, 'ClusterRoleBinding', operatorName(rel)) as K8sObject & {
            roleRef: { name: string };
          };
          assert.match(crb.roleRef.name, /-cluster-scoped$/);
        }
        // --force-conflicts: the CRD may already be applied by Helm or another test.
        const out = await ok(
          cluster,
          'kubectl',
          [
            'apply',
            '--server-side',
            '--force-conflicts',
            '--dry-run=server',
            '--field-manager=wsgate-chart-test',
            '-f',
            '-',
          ],
          { input: manifest },
        );
        for (const o of objects) {
          assert.match(
            out,
            new RegExp(
              `${o.metadata.name.replace(/\./g, '\\.')} serverside-applied \\(server dry run\\)`,
            ),
          );
        }
      });
    }
  });

  describe('install, upgrade, uninstall', () => {
    it('installs, rolls the operator on upgrade and keeps only the CRD after uninstall', async (t) => {
      const ns = await createNamespace(cluster, t, 'chart-life');
      const secrets = await createNamespace(cluster, t, 'chart-sec');
      const rel = release('life');
      const name = operatorName(rel);
      await adoptCrd(cluster, rel, ns);
      const install = await ok(
        cluster,
        'helm',
        [
          'install',
          rel,
          CHART,
          '-n',
          ns,
          '--set',
          `secretsNamespaces={${secrets}}`,
          '--wait',
          '--timeout',
          '90s',
        ],
        { timeoutMs: 120_000 },
      );
      assert.match(install, /STATUS: deployed/);
      assert.match(install, /kind: WebSocketProxy/); // NOTES.txt shows a first proxy
      let uninstalled = false;
      t.after(async () => {
        if (!uninstalled) await runTool(cluster, 'helm', ['uninstall', rel, '-n', ns]);
      });

      const get = async (args: string[]) =>
        JSON.parse(await ok(cluster, 'kubectl', ['get', ...args, '-o', 'json'])) as Record<
          string,
          unknown
        >;
      for (const ref of [
        `deployment/${name}`,
        `serviceaccount/${name}`,
        `service/${name}-metrics`,
        `role/${name}-leader-election`,
        `rolebinding/${name}-leader-election`,
      ]) {
        await get(['-n', ns, ref]);
      }
      await get(['-n', secrets, `rolebinding/${name}-secrets`]);
      for (const ref of [
        `clusterrole/${name}`,
        `clusterrole/${name}-secrets`,
        `clusterrolebinding/${name}`,
      ]) {
        await get([ref]);
      }
      const crd = await get(['customresourcedefinition/websocketproxies.wsgate.dev']);
      const crdMeta = crd['metadata'] as { annotations: Record<string, string> };
      assert.equal(crdMeta.annotations['helm.sh/resource-policy'], 'keep');
      assert.equal(crdMeta.annotations['meta.helm.sh/release-name'], rel);

      // Upgrade: a changed value gives a new pod template, rolled out; the CRD is updated too.
      const before = (await get(['-n', ns, `deployment/${name}`])) as unknown as PodTemplate & {
        metadata: { generation: number };
      };
      await ok(
        cluster,
        'helm',
        [
          'upgrade',
          rel,
          CHART,
          '-n',
          ns,
          '--reuse-values',
          '--set',
          'logLevel=debug',
          '--set',
          'commonLabels.wsgate\\.dev/upgraded=yes',
          '--wait',
          '--timeout',
          '90s',
        ],
        { timeoutMs: 120_000 },
      );
      const upgraded = (await get(['-n', ns, `deployment/${name}`])) as unknown as PodTemplate & {
        metadata: { generation: number };
      };
      assert.ok(upgraded.metadata.generation > before.metadata.generation);
      const env = upgraded.spec.template.spec.containers[0]!.env;
      assert.equal(env.find((e) => e.name === 'WSGATE_LOG_LEVEL')?.value, 'debug');
      await ok(
        cluster,
        'kubectl',
        ['-n', ns, 'rollout', 'status', `deployment/${name}`, '--timeout=60s'],
        {
          timeoutMs: 70_000,
        },
      );
      const rs = JSON.parse(
        await ok(cluster, 'kubectl', [
          '-n',
          ns,
          'get',
          'replicasets',
          '-l',
          'app.kubernetes.io/component=operator',
          '-o',
          'json',
        ]),
      ) as { items: Array<{ metadata: { labels: Record<string, string> } }> };
      const hashes = new Set(rs.items.map((r) => r.metadata.labels['pod-template-hash']));
      assert.equal(hashes.size, 2, 'a new ReplicaSet for the new pod template');
      const crdAfter = await get(['customresourcedefinition/websocketproxies.wsgate.dev']);
      assert.equal(
        (crdAfter['metadata'] as { labels: Record<string, string> }).labels['wsgate.dev/upgraded'],
        'yes',
      );

      // Uninstall removes everything but the kept CRD.
      await ok(cluster, 'helm', ['uninstall', rel, '-n', ns, '--wait', '--timeout', '60s'], {
        timeoutMs: 90_000,
      });
      uninstalled = true;
      const leftovers: Array<[string, string[]]> = [
        ['deployments,serviceaccounts,services,roles,rolebindings', ['-n', ns]],
        ['rolebindings', ['-n', secrets]],
        ['clusterroles,clusterrolebindings', []],
      ];
      for (const [kinds, scope] of leftovers) {
        const left = await ok(cluster, 'kubectl', [
          'get',
          ...scope,
          kinds,
          '-l',
          `app.kubernetes.io/instance=${rel}`,
          '-o',
          'name',
        ]);
        assert.equal(left.trim(), '', `${kinds} ${scope.join(' ')} left after uninstall`);
      }
      await get(['customresourcedefinition/websocketproxies.wsgate.dev']);
    });
  });

  describe('ServiceAccount permissions', () => {
    let ns: string;
    let secrets: string;
    let other: string;
    let rel: string;
    before(async () => {
      ns = await createNamespace(cluster, undefined, 'chart-rbac');
      secrets = await createNamespace(cluster, undefined, 'chart-rbac-sec');
      other = await createNamespace(cluster, undefined, 'chart-rbac-other');
      rel = release('rbac');
      // crds.enabled=false: these checks are about RBAC only, and must not contend for the CRD.
      await installWithoutCrd(cluster, rel, ns, [`secretsNamespaces={${secrets}}`]);
    });
    after(() => uninstallWithNamespaces(cluster, rel, ns, [secrets, other]));

    const canI = async (verb: string, resource: string, where: string[]) => {
      const [kind, sub] = resource.split('/');
      // A name after the slash for leases; a subresource for the rest.
      const subresource =
        sub !== undefined && !kind!.startsWith('leases') ? ['--subresource', sub] : [];
      return operatorCan(cluster, rel, ns, [
        verb,
        subresource.length > 0 ? kind! : resource,
        ...subresource,
        ...where,
      ]);
    };

    // [verb, resource, where ('ns' | 'secrets' | 'other' | 'all' | 'cluster'), expected]
    const cases: Array<[string, string, 'ns' | 'secrets' | 'other' | 'all' | 'cluster', boolean]> =
      [
        ['list', 'websocketproxies.wsgate.dev', 'all', true],
        ['watch', 'websocketproxies.wsgate.dev', 'other', true],
        ['patch', 'websocketproxies.wsgate.dev/status', 'other', true],
        ['update', 'websocketproxies.wsgate.dev', 'other', false],
        ['delete', 'websocketproxies.wsgate.dev', 'other', false],
        ['patch', 'deployments.apps', 'other', true],
        ['update', 'deployments.apps', 'other', false],
        ['create', 'configmaps', 'other', true],
        // Always-present objects go with their owner (garbage collector), optional ones
        // are deleted by the operator when a spec no longer wants them.
        ['delete', 'configmaps', 'other', false],
        ['delete', 'deployments.apps', 'other', false],
        ['delete', 'poddisruptionbudgets.policy', 'other', true],
        ['delete', 'networkpolicies.networking.k8s.io', 'other', true],
        ['patch', 'horizontalpodautoscalers.autoscaling', 'other', true],
        // Only to replace a metrics Service that still has a cluster IP.
        ['delete', 'services', 'other', true],
        ['patch', 'events.events.k8s.io', 'other', false],
        ['create', 'certificates.cert-manager.io', 'other', true],
        ['get', 'clusterissuers.cert-manager.io', 'cluster', true],
        ['list', 'customresourcedefinitions.apiextensions.k8s.io', 'cluster', true],
        ['delete', 'customresourcedefinitions.apiextensions.k8s.io', 'cluster', false],
        ['get', 'secrets', 'secrets', true],
        // Watched (metadata only) where proxies live, so late Secrets are noticed at once.
        ['list', 'secrets', 'secrets', true],
        ['watch', 'secrets', 'secrets', true],
        ['get', 'secrets', 'other', false],
        ['watch', 'secrets', 'other', false],
        ['get', 'secrets', 'ns', false],
        ['list', 'secrets', 'all', false],
        ['get', 'pods', 'other', false],
        ['list', 'pods', 'all', false],
        ['create', 'pods', 'other', false],
        ['create', 'pods/exec', 'other', false],
        ['update', 'websocketproxies.wsgate.dev/finalizers', 'other', true],
        ['create', 'serviceaccounts/token', 'ns', false],
        ['create', 'leases.coordination.k8s.io', 'ns', true],
        ['update', 'leases.coordination.k8s.io/wsgate-operator', 'ns', true],
        ['update', 'leases.coordination.k8s.io/someone-else', 'ns', false],
        ['create', 'leases.coordination.k8s.io', 'other', false],
        ['create', 'roles.rbac.authorization.k8s.io', 'other', false],
        ['create', 'clusterrolebindings.rbac.authorization.k8s.io', 'cluster', false],
        ['delete', 'nodes', 'cluster', false],
        // Secure metrics (the default): the operator asks the API server about scrapers.
        ['create', 'tokenreviews.authentication.k8s.io', 'cluster', true],
        ['create', 'subjectaccessreviews.authorization.k8s.io', 'cluster', true],
        ['get', 'tokenreviews.authentication.k8s.io', 'cluster', false],
        ['create', 'localsubjectaccessreviews.authorization.k8s.io', 'other', false],
      ];
    permissionCases(
      cases,
      (where) => (where === 'ns' ? ns : where === 'secrets' ? secrets : other),
      canI,
    );
  });

  describe('ServiceAccount permissions, namespaced watch', () => {
    let ns: string;
    let watched: string;
    let other: string;
    let rel: string;
    before(async () => {
      ns = await createNamespace(cluster, undefined, 'chart-nsw');
      watched = await createNamespace(cluster, undefined, 'chart-nsw-a');
      other = await createNamespace(cluster, undefined, 'chart-nsw-other');
      rel = release('nsw');
      await installWithoutCrd(cluster, rel, ns, [
        `watchNamespaces={${watched}}`,
        `secretsNamespaces={${watched}}`,
      ]);
    });
    after(() => uninstallWithNamespaces(cluster, rel, ns, [watched, other]));

    const cases: Array<[string, string, 'watched' | 'other' | 'all' | 'cluster', boolean]> = [
      ['list', 'websocketproxies.wsgate.dev', 'watched', true],
      ['list', 'websocketproxies.wsgate.dev', 'other', false],
      ['list', 'websocketproxies.wsgate.dev', 'all', false],
      ['patch', 'deployments.apps', 'watched', true],
      ['patch', 'deployments.apps', 'other', false],
      ['get', 'secrets', 'watched', true],
      ['get', 'secrets', 'other', false],
      ['list', 'customresourcedefinitions.apiextensions.k8s.io', 'cluster', true],
      ['get', 'clusterissuers.cert-manager.io', 'cluster', true],
      ['get', 'issuers.cert-manager.io', 'other', false],
    ];
    permissionCases(
      cases,
      (where) => (where === 'watched' ? watched : other),
      (verb, resource, scope) => operatorCan(cluster, rel, ns, [verb, resource, ...scope]),
    );
  });
});
