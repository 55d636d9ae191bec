/**
 * The API server itself refuses invalid WebSocketProxies with the CRD's CEL messages
 * (server-side dry run: validation runs in full, nothing is stored), so the operator
 * never sees them.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  createNamespace,
  runTool,
  skipCluster,
  startCluster,
  type TestCluster,
} from '../cluster/harness.js';
import { installCrd } from './kube.js';
import { proxy } from './resources.js';

const issuer = { issuerRef: { name: 'ca' }, dnsNames: ['console.example.com'] };

/** [what, name, spec, message the API server must answer with] */
const CASES: [string, string, Record<string, unknown>, RegExp][] = [
  [
    'both issuerRef and secretName',
    'console',
    { tls: { ...issuer, secretName: 'mine' } },
    /exactly one of tls\.issuerRef and tls\.secretName must be set/,
  ],
  [
    'neither issuerRef nor secretName',
    'console',
    { tls: { dnsNames: ['console.example.com'] } },
    /exactly one of tls\.issuerRef and tls\.secretName must be set/,
  ],
  [
    'issuerRef without names',
    'console',
    { tls: { issuerRef: { name: 'ca' } } },
    /tls\.issuerRef needs at least one of tls\.dnsNames and tls\.ipAddresses/,
  ],
  [
    'renewBefore not shorter than duration',
    'console',
    { tls: { ...issuer, duration: '24h', renewBefore: '48h' } },
    /tls\.renewBefore must be shorter than tls\.duration/,
  ],
  [
    'no token source',
    'console',
    { tokens: {} },
    /tokens needs at least one of file, jwt, ovirt and http/,
  ],
  [
    'JWT tokens without allowed targets',
    'console',
    { tokens: { jwt: { keySecretRef: { name: 'k', key: 'public.pem' } } } },
    /tokens\.jwt, tokens\.ovirt and tokens\.http need targets\.allow/,
  ],
  [
    'a replay store without single-use tickets',
    'console',
    {
      tokens: {
        jwt: {
          keySecretRef: { name: 'k', key: 'public.pem' },
          replayStore: { secretRef: { name: 'redis', key: 'url' } },
        },
      },
      targets: { allow: ['10.0.0.0/8'] },
    },
    /replayStore needs singleUse/,
  ],
  ['the metrics port', 'console', { port: 9090 }, /port 9090 is the proxy's metrics listener/],
  [
    'source ranges on a ClusterIP Service',
    'console',
    { service: { loadBalancerSourceRanges: ['10.0.0.0/8'] } },
    /loadBalancerSourceRanges needs type LoadBalancer/,
  ],
  [
    'autoscaling with minReplicas above maxReplicas',
    'console',
    { autoscaling: { minReplicas: 4, maxReplicas: 2 } },
    /autoscaling\.minReplicas must not be above autoscaling\.maxReplicas/,
  ],
  [
    'a NetworkPolicy peer with both an ipBlock and a selector',
    'console',
    {
      networkPolicy: {
        ingressFrom: [{ ipBlock: { cidr: '10.0.0.0/8' }, podSelector: {} }],
      },
    },
    /set either ipBlock or podSelector\/namespaceSelector/,
  ],
  [
    'an ipBlock that is not a CIDR',
    'console',
    { networkPolicy: { ingressFrom: [{ ipBlock: { cidr: '10.0.0.1' } }] } },
    /must be a CIDR such as 10\.0\.0\.0\/8/,
  ],
  [
    'an extraEgress endPort below its port',
    'console',
    { networkPolicy: { extraEgress: [{ ports: [{ port: 9000, endPort: 8000 }] }] } },
    /endPort needs a numeric port no greater than it/,
  ],
  [
    'a name that cannot name a Service',
    '9lives',
    {},
    /metadata\.name must be a DNS-1035 label of at most 55 characters/,
  ],
  [
    'an unknown per-target limit policy',
    'console',
    { limits: { maxSessionsPerTarget: 1, targetLimitPolicy: 'kick' } },
    /targetLimitPolicy: Unsupported value: "kick"/,
  ],
];

describe('WebSocketProxy admission (CRD schema and CEL rules)', { skip: skipCluster }, () => {
  let cluster: TestCluster;
  let ns: string;

  before(async () => {
    cluster = await startCluster();
    await installCrd(cluster);
    ns = await createNamespace(cluster, undefined, 'wsp-crd');
  });

  after(async () => {
    await runTool(cluster, 'kubectl', ['delete', 'namespace', ns, '--wait=false']);
  });

  const dryRun = (object: unknown) =>
    runTool(cluster, 'kubectl', ['create', '--dry-run=server', '-o', 'name', '-f', '-'], {
      input: JSON.stringify(object),
    });

  it('accepts a valid resource', async () => {
    const res = await dryRun(proxy(ns, 'console', { tls: issuer }));
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /websocketproxy\.wsgate\.dev\/console/);
  });

  it('accepts single-use tickets with a replay store', async () => {
    const jwt = {
      keySecretRef: { name: 'k', key: 'public.pem' },
      singleUse: true,
      replayStore: {
        secretRef: { name: 'redis', key: 'url' },
        passwordSecretRef: { name: 'redis', key: 'password' },
        caSecretRef: { name: 'redis-ca', key: 'ca.crt' },
      },
    };
    const spec = { tls: issuer, tokens: { jwt }, targets: { allow: ['10.0.0.0/8'] } };
    const res = await dryRun(proxy(ns, 'console', spec));
    assert.equal(res.code, 0, res.stderr);
  });

  it('accepts a per-target limit with either policy', async () => {
    for (const targetLimitPolicy of ['refuse', 'replace']) {
      const res = await dryRun(
        proxy(ns, 'console', {
          tls: issuer,
          limits: { maxSessionsPerTarget: 1, targetLimitPolicy },
        }),
      );
      assert.equal(res.code, 0, res.stderr);
    }
  });

  it('defaults networkPolicy and autoscaling as the unit tests expect', async () => {
    const res = await runTool(
      cluster,
      'kubectl',
      ['create', '--dry-run=server', '-o', 'json', '-f', '-'],
      {
        input: JSON.stringify(
          proxy(ns, 'console', {
            autoscaling: { maxReplicas: 5 },
            networkPolicy: {
              metricsNamespaceSelector: {},
              extraEgress: [{ ports: [{ port: 443 }] }],
            },
          }),
        ),
      },
    );
    assert.equal(res.code, 0, res.stderr);
    const spec = (JSON.parse(res.stdout) as { spec: Record<string, unknown> }).spec;
    assert.deepEqual(spec['autoscaling'], {
      maxReplicas: 5,
      minReplicas: 2,
      sessionsMetric: 'wsgate_connections_active',
      targetCPUUtilizationPercentage: 70,
    });
    assert.deepEqual(spec['networkPolicy'], {
      enabled: true,
      extraEgress: [{ ports: [{ port: 443, protocol: 'TCP' }] }],
      metricsNamespaceSelector: {},
    });
    const plain = await runTool(
      cluster,
      'kubectl',
      ['create', '--dry-run=server', '-o', 'json', '-f', '-'],
      { input: JSON.stringify(proxy(ns, 'console')) },
    );
    assert.deepEqual(
      (JSON.parse(plain.stdout) as { spec: Record<string, unknown> }).spec['networkPolicy'],
      {
        enabled: true,
        metricsNamespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } },
      },
    );
  });

  for (const [what, name, spec, message] of CASES) {
    it(`refuses ${what}`, async () => {
      const res = await dryRun(proxy(ns, name, spec));
      assert.notEqual(res.code, 0, `accepted: ${res.stdout}`);
      assert.match(res.stderr, /is invalid/);
      assert.match(res.stderr, message);
    });
  }
});
