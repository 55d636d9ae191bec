/** The proxy config rendered into the ConfigMap (keys of proxy/src/config/types.ts). */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createHash } from 'node:crypto';
import { parse } from 'yaml';
import {
  configHash,
  renderConfigMap,
  renderProxyConfig,
  type ProxyConfigFile,
} from '../../operator/src/render/configmap.js';
import { secretMounts } from '../../operator/src/objects/mounts.js';
import { loadConfig } from '../../proxy/src/config/load.js';
import { example, fixture } from './helpers.js';

const base = {
  listen: '0.0.0.0:6080',
  metricsListen: '0.0.0.0:9090',
  logLevel: 'info',
  drainTimeout: 30,
  tokenFile: '/etc/wsgate/tokens/tokens',
};

describe('renderProxyConfig', () => {
  const cases: [string, Parameters<typeof fixture>[0], ProxyConfigFile][] = [
    ['minimal: listeners, drain and the token file', {}, base],
    [
      'port, log level and drain',
      { port: 7000, logLevel: 'debug', drainTimeoutSeconds: 5 },
      { ...base, listen: '0.0.0.0:7000', logLevel: 'debug', drainTimeout: 5 },
    ],
    [
      'TLS from a Certificate, with a minimum version',
      { tls: { issuerRef: { name: 'ca' }, dnsNames: ['a.example.com'], minVersion: 'TLSv1.3' } },
      {
        ...base,
        tlsCert: '/etc/wsgate/tls/tls.crt',
        tlsKey: '/etc/wsgate/tls/tls.key',
        tlsMinVersion: 'TLSv1.3',
      },
    ],
    [
      'TLS from a brought Secret',
      { tls: { secretName: 'mine' } },
      { ...base, tlsCert: '/etc/wsgate/tls/tls.crt', tlsKey: '/etc/wsgate/tls/tls.key' },
    ],
    [
      'every token source',
      {
        tokens: {
          file: { secretRef: { name: 't', key: 'list.txt' } },
          jwt: {
            keySecretRef: { name: 'k', key: 'public.pem' },
            algorithms: ['RS256', 'ES256'],
            audience: 'wsgate',
            issuer: 'engine',
            allowNoExp: true,
            singleUse: true,
          },
          ovirt: { certificateSecretRef: { name: 'e', key: 'engine.cer' } },
          http: { url: 'https://manager/console-target', timeoutSeconds: 3, cacheSeconds: 0 },
        },
        targets: { allow: ['10.0.0.0/8:5900-5999'] },
      },
      {
        ...base,
        tokenFile: '/etc/wsgate/tokens/list.txt',
        jwtKey: '/etc/wsgate/jwt/public.pem',
        jwtAlgorithms: ['RS256', 'ES256'],
        jwtAudience: 'wsgate',
        jwtIssuer: 'engine',
        jwtAllowNoExp: true,
        jwtSingleUse: true,
        ovirtCert: '/etc/wsgate/ovirt/engine.cer',
        tokenUrl: 'https://manager/console-target',
        tokenUrlTimeout: 3,
        tokenUrlCacheTtl: 0,
        allowTarget: ['10.0.0.0/8:5900-5999'],
      },
    ],
    [
      'false booleans stay out (the proxy defaults them)',
      {
        tokens: { jwt: { keySecretRef: { name: 'k', key: 'k' }, algorithms: ['EdDSA'] } },
        targets: { allow: ['192.0.2.1:5900'] },
      },
      {
        listen: '0.0.0.0:6080',
        metricsListen: '0.0.0.0:9090',
        logLevel: 'info',
        drainTimeout: 30,
        jwtKey: '/etc/wsgate/jwt/k',
        jwtAlgorithms: ['EdDSA'],
        allowTarget: ['192.0.2.1:5900'],
      },
    ],
    [
      'target TLS with and without a CA',
      { targets: { tls: { caSecretRef: { name: 'ca', key: 'ca.crt' } } } },
      { ...base, targetTls: true, targetCa: '/etc/wsgate/target-ca/ca.crt' },
    ],
    ['target TLS with system CAs', { targets: { tls: {} } }, { ...base, targetTls: true }],
    [
      'origins, client addresses',
      {
        allowedOrigins: ['https://a.example.com'],
        allowMissingOrigin: true,
        trustedProxies: ['10.0.0.0/8'],
        proxyProtocol: true,
      },
      {
        ...base,
        allowOrigin: ['https://a.example.com'],
        allowMissingOrigin: true,
        trustedProxy: ['10.0.0.0/8'],
        proxyProtocol: true,
      },
    ],
    [
      'limits map to seconds-valued keys',
      {
        limits: {
          maxConnections: 100,
          maxConnectionsPerIp: 5,
          handshakeRate: 2,
          connectTimeoutSeconds: 6,
          handshakeTimeoutSeconds: 4,
          idleTimeoutSeconds: 600,
          maxSessionSeconds: 3600,
          maxMessageBytes: 65536,
        },
      },
      {
        ...base,
        maxConnections: 100,
        maxConnectionsPerIp: 5,
        handshakeRate: 2,
        connectTimeout: 6,
        handshakeTimeout: 4,
        idleTimeout: 600,
        maxSession: 3600,
        maxMessageBytes: 65536,
      },
    ],
    [
      "JWT algorithms left to the proxy's default",
      {
        tokens: { jwt: { keySecretRef: { name: 'k', key: 'k' } } },
        targets: { allow: ['192.0.2.1'] },
      },
      {
        listen: '0.0.0.0:6080',
        metricsListen: '0.0.0.0:9090',
        logLevel: 'info',
        drainTimeout: 30,
        jwtKey: '/etc/wsgate/jwt/k',
        allowTarget: ['192.0.2.1'],
      },
    ],
    ['a zero limit is kept', { limits: { idleTimeoutSeconds: 0 } }, { ...base, idleTimeout: 0 }],
    [
      'single-use tickets in a shared Redis: password and CA as files (the URL is an env var)',
      {
        replicas: 3,
        tokens: {
          jwt: {
            keySecretRef: { name: 'k', key: 'k' },
            singleUse: true,
            replayStore: {
              secretRef: { name: 'redis', key: 'url' },
              passwordSecretRef: { name: 'redis', key: 'password' },
              caSecretRef: { name: 'redis-ca', key: 'ca.crt' },
            },
          },
        },
        targets: { allow: ['192.0.2.1'] },
      },
      {
        listen: '0.0.0.0:6080',
        metricsListen: '0.0.0.0:9090',
        logLevel: 'info',
        drainTimeout: 30,
        jwtKey: '/etc/wsgate/jwt/k',
        jwtSingleUse: true,
        replayStorePasswordFile: '/etc/wsgate/replay-store-password/password',
        replayStoreCa: '/etc/wsgate/replay-store-ca/ca.crt',
        allowTarget: ['192.0.2.1'],
      },
    ],
    [
      'per-target limit and its policy',
      { limits: { maxSessionsPerTarget: 1, targetLimitPolicy: 'replace' } },
      { ...base, maxSessionsPerTarget: 1, targetLimitPolicy: 'replace' },
    ],
  ];
  for (const [name, spec, expected] of cases) {
    test(name, () => assert.deepEqual(renderProxyConfig(fixture(spec)), expected));
  }

  // The contract with the proxy: its own loader takes every config the operator writes.
  for (const [name, spec] of [
    ...cases.map(([n, s]) => [n, fixture(s)] as const),
    ['example', example()] as const,
  ]) {
    test(`the proxy loads it: ${name}`, () => {
      const yaml = renderConfigMap(spec).data['proxy.yaml']!;
      // What the pod's environment adds from Secrets (the replay store's URL).
      const env = Object.fromEntries(
        secretMounts(spec)
          .filter((m) => m.env)
          .map((m) => [m.env!, 'rediss://redis.example:6380/0']),
      );
      const { config } = loadConfig({
        argv: ['--config', '/etc/wsgate/config/proxy.yaml'],
        env,
        readFile: () => yaml,
      });
      for (const [key, value] of Object.entries(renderProxyConfig(spec))) {
        assert.deepEqual(config[key as keyof typeof config], value, key);
      }
    });
  }
});

describe('renderConfigMap', () => {
  test('holds the config as YAML under proxy.yaml', () => {
    const cm = renderConfigMap(fixture({ allowedOrigins: ['https://a.example.com'] }));
    assert.equal(cm.kind, 'ConfigMap');
    assert.equal(cm.metadata.name, 'console');
    assert.deepEqual(Object.keys(cm.data), ['proxy.yaml']);
    assert.deepEqual(parse(cm.data['proxy.yaml']!), {
      ...base,
      allowOrigin: ['https://a.example.com'],
    });
  });
});

describe('configHash', () => {
  test('sha256 hex, independent of key order', () => {
    const a = configHash({ x: '1', y: '2' });
    assert.match(a, /^[0-9a-f]{64}$/);
    assert.equal(configHash({ y: '2', x: '1' }), a);
    assert.notEqual(configHash({ x: '1', y: '3' }), a);
    assert.notEqual(configHash({ x: '12' }), configHash({ x: '1', '2': '' }));
  });
});

describe('renderProxyConfig: only what the resource sets', () => {
  test('an HTTP token lookup without timeoutSeconds or cacheSeconds writes neither', () => {
    const config = renderProxyConfig(fixture({ tokens: { http: { url: 'https://manager/t' } } }));
    assert.deepEqual(config, {
      listen: '0.0.0.0:6080',
      metricsListen: '0.0.0.0:9090',
      logLevel: 'info',
      drainTimeout: 30,
      tokenUrl: 'https://manager/t',
    });
  });
});

describe('renderConfigMap: line width', () => {
  test('a long setting stays on one line of proxy.yaml (no folding)', () => {
    const issuer = `the ${'very '.repeat(30)}long issuer`;
    const jwt = { keySecretRef: { name: 'k', key: 'k.pem' }, issuer };
    const yaml = renderConfigMap(fixture({ tokens: { jwt } })).data['proxy.yaml']!;
    assert.ok(yaml.split('\n').includes(`jwtIssuer: ${issuer}`), yaml);
  });
});

describe('configHash: the canonical form', () => {
  test('sha256 hex of the JSON of the [key, value] entries sorted by key', () => {
    const expected = createHash('sha256')
      .update(
        JSON.stringify([
          ['a', '1'],
          ['b', '2'],
        ]),
      )
      .digest('hex');
    assert.equal(configHash({ b: '2', a: '1' }), expected);
    assert.equal(configHash({ a: '1', b: '2' }), expected);
  });
});
