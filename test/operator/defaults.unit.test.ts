/**
 * Defaulting agrees with the API server. The expected objects below were produced by
 * apiextensions-apiserver v0.36.3's own pruning and defaulting code run on this CRD.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parse } from 'yaml';
import { applyDefaults, toWebSocketProxy, withDefaults } from '../../operator/src/api/defaults.js';
import {
  API_VERSION,
  KIND,
  type DefaultsNode,
} from '../../operator/src/api/websocketproxy-types.js';

const spec = (yaml: string) => parse(yaml) as Record<string, unknown>;

describe('applyDefaults', () => {
  const cases: [string, Record<string, unknown>, Record<string, unknown>][] = [
    [
      'minimal',
      spec('tokens: {file: {secretRef: {name: tok, key: tokens}}}'),
      {
        allowMissingOrigin: false,
        drainTimeoutSeconds: 30,
        logLevel: 'info',
        metrics: { serviceMonitor: { enabled: false } },
        networkPolicy: {
          enabled: true,
          metricsNamespaceSelector: {
            matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' },
          },
        },
        port: 6080,
        proxyProtocol: false,
        replicas: 2,
        service: { type: 'ClusterIP' },
        tokens: { file: { secretRef: { key: 'tokens', name: 'tok' } } },
      },
    ],
    [
      'nested defaults under given parents',
      spec(`
        tokens: {jwt: {keySecretRef: {name: k, key: p}, algorithms: [ES256]}}
        targets: {allow: ['10.0.0.0/8:5900']}
        tls: {issuerRef: {name: ca}, dnsNames: [a.example.com], privateKey: {size: 384}}
        service: {port: 8443}
        metrics: {serviceMonitor: {labels: {release: p}}}
      `),
      {
        allowMissingOrigin: false,
        drainTimeoutSeconds: 30,
        logLevel: 'info',
        metrics: { serviceMonitor: { enabled: false, labels: { release: 'p' } } },
        networkPolicy: {
          enabled: true,
          metricsNamespaceSelector: {
            matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' },
          },
        },
        port: 6080,
        proxyProtocol: false,
        replicas: 2,
        service: { port: 8443, type: 'ClusterIP' },
        targets: { allow: ['10.0.0.0/8:5900'] },
        tls: {
          dnsNames: ['a.example.com'],
          issuerRef: { group: 'cert-manager.io', kind: 'Issuer', name: 'ca' },
          privateKey: { algorithm: 'ECDSA', rotationPolicy: 'Always', size: 384 },
        },
        tokens: {
          jwt: {
            algorithms: ['ES256'],
            allowNoExp: false,
            keySecretRef: { key: 'p', name: 'k' },
            singleUse: false,
          },
        },
      },
    ],
    [
      'null is defaulted; given values and zeros are kept',
      spec(`
        replicas: 0
        logLevel: null
        tokens: {http: {url: 'http://x/'}}
        targets: {allow: ['10.0.0.0/8:5900']}
        tls: {secretName: mine}
        metrics: {}
      `),
      {
        allowMissingOrigin: false,
        drainTimeoutSeconds: 30,
        logLevel: 'info',
        metrics: { serviceMonitor: { enabled: false } },
        networkPolicy: {
          enabled: true,
          metricsNamespaceSelector: {
            matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' },
          },
        },
        port: 6080,
        proxyProtocol: false,
        replicas: 0,
        service: { type: 'ClusterIP' },
        targets: { allow: ['10.0.0.0/8:5900'] },
        tls: { privateKey: { algorithm: 'ECDSA', rotationPolicy: 'Always' }, secretName: 'mine' },
        tokens: { http: { url: 'http://x/' } },
      },
    ],
    [
      'autoscaling and networkPolicy children (checked with a server-side dry run)',
      spec(`
        tokens: {file: {secretRef: {name: tok, key: tokens}}}
        autoscaling: {maxReplicas: 5}
        networkPolicy: {metricsNamespaceSelector: {}, extraEgress: [{ports: [{port: 443}]}]}
      `),
      {
        allowMissingOrigin: false,
        autoscaling: {
          maxReplicas: 5,
          minReplicas: 2,
          sessionsMetric: 'wsgate_connections_active',
          targetCPUUtilizationPercentage: 70,
        },
        drainTimeoutSeconds: 30,
        logLevel: 'info',
        metrics: { serviceMonitor: { enabled: false } },
        networkPolicy: {
          enabled: true,
          extraEgress: [{ ports: [{ port: 443, protocol: 'TCP' }] }],
          metricsNamespaceSelector: {},
        },
        port: 6080,
        proxyProtocol: false,
        replicas: 2,
        service: { type: 'ClusterIP' },
        tokens: { file: { secretRef: { key: 'tokens', name: 'tok' } } },
      },
    ],
  ];
  for (const [name, input, expected] of cases) {
    test(name, () => {
      const before = structuredClone(input);
      const out = applyDefaults({ apiVersion: API_VERSION, kind: KIND, spec: input });
      assert.deepEqual(out.spec, expected);
      assert.deepEqual(input, before, 'input must not change');
      assert.deepEqual(applyDefaults(out), out, 'defaulting is idempotent');
    });
  }
});

describe('applyDefaults on any schema node', () => {
  const node: DefaultsNode = {
    properties: {
      list: { items: { properties: { a: { default: 1 } } } },
      plain: {},
      map: { additionalProperties: { properties: { b: { default: 'x' } } } },
      n: { default: 5 },
    },
  };
  test('array items get their defaults; arrays without an items schema are left alone', () =>
    assert.deepEqual(applyDefaults({ list: [{}, { a: 2 }], plain: [{}], n: null }, node), {
      list: [{ a: 1 }, { a: 2 }],
      plain: [{}],
      n: 5,
    }));
  test('additionalProperties values get their defaults', () =>
    assert.deepEqual(applyDefaults({ map: { k: {}, l: { b: 'y' } }, n: 1 }, node), {
      map: { k: { b: 'x' }, l: { b: 'y' } },
      n: 1,
    }));
  test('null and scalars are returned as they are, whatever the node', () => {
    assert.equal(applyDefaults(null, node), null);
    assert.equal(applyDefaults('text', node), 'text');
    assert.equal(applyDefaults(7, node), 7);
    assert.deepEqual(applyDefaults({ list: [null, 3] }, node), { list: [null, 3], n: 5 });
  });
});

describe('toWebSocketProxy', () => {
  const bad: [string, unknown, RegExp][] = [
    ['not an object', 'x', /must be an object/],
    ['null', null, /^a WebSocketProxy must be an object$/],
    ['a null spec', { apiVersion: API_VERSION, kind: KIND, spec: null }, /spec must be an object/],
    ['an array spec', { apiVersion: API_VERSION, kind: KIND, spec: [] }, /spec must be an object/],
    ['wrong apiVersion', { apiVersion: 'v1', kind: KIND, spec: {} }, /apiVersion is v1/],
    ['wrong kind', { apiVersion: API_VERSION, kind: 'Pod', spec: {} }, /kind is Pod/],
    ['no spec', { apiVersion: API_VERSION, kind: KIND }, /spec must be an object/],
  ];
  for (const [name, input, message] of bad) {
    test(`refuses ${name}`, () =>
      assert.throws(() => toWebSocketProxy(input), { name: 'TypeError', message }));
  }

  test('withDefaults fills apiVersion and kind', () => {
    const wsp = withDefaults({ metadata: { name: 'a' }, spec: {} });
    assert.equal(wsp.apiVersion, API_VERSION);
    assert.equal(wsp.kind, KIND);
    assert.deepEqual(wsp.spec.tokens, {});
    assert.equal(wsp.spec.replicas, 2);
  });
});
