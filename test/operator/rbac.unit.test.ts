/** operator/rbac/role.yaml covers what the renderers make, and nothing it should not. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { renderAll } from '../../operator/src/render/index.js';
import { example, readRepoFile } from './helpers.js';

interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}
interface RoleDoc {
  kind: string;
  metadata: { name: string };
  rules: Rule[];
}

const AUTOSCALING = {
  minReplicas: 2,
  maxReplicas: 4,
  targetCPUUtilizationPercentage: 70,
  sessionsMetric: 'wsgate_connections_active',
};

const roles = parseAllDocuments(readRepoFile('operator/rbac/role.yaml')).map(
  (d) => d.toJS() as RoleDoc,
);
const role = (name: string) => {
  const found = roles.find((r) => r.metadata.name === name);
  assert.ok(found, `role ${name} is missing`);
  return found;
};
const verbsFor = (r: RoleDoc, group: string, resource: string) =>
  new Set(
    r.rules
      .filter(
        (rule) =>
          rule.apiGroups?.includes(group) &&
          rule.resources?.includes(resource) &&
          !rule.resourceNames,
      )
      .flatMap((rule) => rule.verbs),
  );

const PLURALS: Record<string, string> = {
  ConfigMap: 'configmaps',
  Service: 'services',
  Deployment: 'apps/deployments',
  PodDisruptionBudget: 'policy/poddisruptionbudgets',
  NetworkPolicy: 'networking.k8s.io/networkpolicies',
  HorizontalPodAutoscaler: 'autoscaling/horizontalpodautoscalers',
  Certificate: 'cert-manager.io/certificates',
  ServiceMonitor: 'monitoring.coreos.com/servicemonitors',
};

describe('operator RBAC', () => {
  const operator = role('wsgate-operator');

  test('five roles, no wildcards', () => {
    assert.deepEqual(
      roles.map((r) => `${r.kind}/${r.metadata.name}`),
      [
        'ClusterRole/wsgate-operator',
        'ClusterRole/wsgate-operator-secrets',
        'Role/wsgate-operator-leader-election',
        'ClusterRole/wsgate-operator-metrics-auth',
        'ClusterRole/wsgate-metrics-reader',
      ],
    );
    for (const rule of roles.flatMap((r) => r.rules)) {
      const all = [
        ...((rule.apiGroups as string[] | undefined) ?? []),
        ...((rule.resources as string[] | undefined) ?? []),
        ...(rule.nonResourceURLs ?? []),
        ...rule.verbs,
      ];
      assert.ok(!all.includes('*'), JSON.stringify(rule));
    }
  });

  test('metrics auth: create-only reviews; the reader gets /metrics and nothing else', () => {
    assert.deepEqual(role('wsgate-operator-metrics-auth').rules, [
      { apiGroups: ['authentication.k8s.io'], resources: ['tokenreviews'], verbs: ['create'] },
      {
        apiGroups: ['authorization.k8s.io'],
        resources: ['subjectaccessreviews'],
        verbs: ['create'],
      },
    ]);
    assert.deepEqual(role('wsgate-metrics-reader').rules, [
      { nonResourceURLs: ['/metrics'], verbs: ['get'] },
    ]);
    // The operator's main role holds neither review: only the secure metrics binding does.
    assert.equal(verbsFor(operator, 'authentication.k8s.io', 'tokenreviews').size, 0);
  });

  const result = renderAll(example(), { operatorImage: 'i', serviceMonitorAvailable: true });
  // A bare resource (one replica, no certificate, no ServiceMonitor) names every kind the
  // operator may have to delete: the optional ones.
  const bare = example();
  bare.spec = {
    ...bare.spec,
    replicas: 1,
    tls: undefined,
    metrics: { serviceMonitor: { enabled: false } },
    networkPolicy: { ...bare.spec.networkPolicy, enabled: false },
  };
  // Services are deleted too, but only to replace a metrics Service that still has a
  // cluster IP (an immutable field) with the headless one.
  const deletable = new Set([
    ...renderAll(bare, { operatorImage: 'i', serviceMonitorAvailable: true }).delete.map(
      (r) => r.kind,
    ),
    'Service',
  ]);
  test('the optional kinds are the deletable ones, and Services (replaced)', () => {
    assert.deepEqual([...deletable].sort(), [
      'Certificate',
      'HorizontalPodAutoscaler',
      'NetworkPolicy',
      'PodDisruptionBudget',
      'Service',
      'ServiceMonitor',
    ]);
  });
  const scaled = example();
  scaled.spec = { ...scaled.spec, autoscaling: { ...AUTOSCALING } };
  const kinds = new Set(
    [
      ...result.apply,
      ...renderAll(scaled, { operatorImage: 'i', serviceMonitorAvailable: true }).apply,
    ].map((o) => o.kind),
  );
  for (const kind of kinds) {
    test(`manages ${kind} with server-side apply${deletable.has(kind) ? ', deletes it' : ''}`, () => {
      const [group, resource] = PLURALS[kind]!.includes('/')
        ? PLURALS[kind]!.split('/')
        : ['', PLURALS[kind]!];
      const verbs = verbsFor(operator, group!, resource!);
      for (const verb of ['get', 'list', 'watch', 'create', 'patch']) {
        assert.ok(verbs.has(verb), `${kind}: ${verb} missing`);
      }
      assert.equal(verbs.has('delete'), deletable.has(kind), `${kind}: delete`);
      assert.ok(!verbs.has('update'), `${kind}: update is not needed with server-side apply`);
    });
  }

  test('the resource: read, status, finalizers (blockOwnerDeletion)', () => {
    assert.deepEqual([...verbsFor(operator, 'wsgate.dev', 'websocketproxies')].sort(), [
      'get',
      'list',
      'watch',
    ]);
    assert.deepEqual([...verbsFor(operator, 'wsgate.dev', 'websocketproxies/status')], ['patch']);
    assert.deepEqual(
      [...verbsFor(operator, 'wsgate.dev', 'websocketproxies/finalizers')],
      ['update'],
    );
  });

  test('CRDs readable, issuers get-only, events writable', () => {
    assert.deepEqual(
      [...verbsFor(operator, 'apiextensions.k8s.io', 'customresourcedefinitions')].sort(),
      ['get', 'list', 'watch'],
    );
    assert.deepEqual([...verbsFor(operator, 'cert-manager.io', 'issuers')], ['get']);
    assert.deepEqual([...verbsFor(operator, 'cert-manager.io', 'clusterissuers')], ['get']);
    assert.deepEqual([...verbsFor(operator, 'events.k8s.io', 'events')], ['create']);
  });

  test('no Secrets or Pods cluster-wide; Secrets read and watched only in their own role', () => {
    assert.equal(verbsFor(operator, '', 'secrets').size, 0);
    assert.equal(verbsFor(operator, '', 'pods').size, 0);
    const secrets = role('wsgate-operator-secrets');
    assert.deepEqual(secrets.rules, [
      { apiGroups: [''], resources: ['secrets'], verbs: ['get', 'list', 'watch'] },
    ]);
  });

  test('leader election: its own Lease only, besides create', () => {
    const election = role('wsgate-operator-leader-election');
    assert.deepEqual(election.rules, [
      { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] },
      {
        apiGroups: ['coordination.k8s.io'],
        resources: ['leases'],
        resourceNames: ['wsgate-operator'],
        verbs: ['get', 'update'],
      },
    ]);
  });
});
