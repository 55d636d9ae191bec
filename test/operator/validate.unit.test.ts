/** Semantic validation beyond the CRD schema. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isLabelValue, isQualifiedName, validate } from '../../operator/src/api/validate.js';
import { withDefaults } from '../../operator/src/api/defaults.js';
import { example, fixture } from './helpers.js';

describe('targets and origins (parsed by the proxy)', () => {
  const accepted: [string, Parameters<typeof fixture>[0]][] = [
    ['CIDR with a port range', { targets: { allow: ['10.0.0.0/8:5900-5999'] } }],
    ['address without a port', { targets: { allow: ['192.0.2.7'] } }],
    ['bracketed IPv6 with a port', { targets: { allow: ['[fd00::/64]:5900'] } }],
    ['bare IPv6 CIDR', { targets: { allow: ['fd00::/64'] } }],
    [
      'exact and wildcard origins',
      { allowedOrigins: ['https://manager.example.com', 'https://*.example.com'] },
    ],
    ['any origin', { allowedOrigins: ['*'] }],
    [
      'origin with a port and IPv6',
      { allowedOrigins: ['http://localhost:8080', 'https://[::1]:8443'] },
    ],
  ];
  for (const [name, spec] of accepted) {
    test(`accepts ${name}`, () => assert.deepEqual(validate(fixture(spec)).problems, []));
  }
  const refused: [string, Parameters<typeof fixture>[0], string, RegExp][] = [
    [
      'a prefix too long',
      { targets: { allow: ['10.0.0.0/33:5900'] } },
      'InvalidTarget',
      /spec\.targets\.allow\[0\]: .*prefix/,
    ],
    [
      'a reversed port range',
      { targets: { allow: ['10.0.0.0/8:5999-5900'] } },
      'InvalidTarget',
      /low to high/,
    ],
    ['port 0', { targets: { allow: ['10.0.0.0/8:0'] } }, 'InvalidTarget', /1-65535/],
    [
      'a bad address',
      { targets: { allow: ['300.0.0.1:5900'] } },
      'InvalidTarget',
      /not an IP address/,
    ],
    [
      'an origin with a path',
      { allowedOrigins: ['https://a.example.com/path'] },
      'InvalidOrigin',
      /spec\.allowedOrigins\[0\]/,
    ],
  ];
  for (const [name, spec, reason, message] of refused) {
    test(`refuses ${name}`, () => {
      const result = validate(fixture(spec));
      assert.equal(result.reason, reason);
      assert.match(result.message, message);
    });
  }
});

describe('label syntax', () => {
  const keys: [string, boolean][] = [
    ['app', true],
    ['example.com/team', true],
    ['a/b/c', false],
    ['-a', false],
    ['Example.com/x', false],
    ['x'.repeat(64), false],
  ];
  for (const [key, ok] of keys)
    test(`key ${key.slice(0, 20)}`, () => assert.equal(isQualifiedName(key), ok));
  const values: [string, boolean][] = [
    ['', true],
    ['v1.2_3-x', true],
    ['has space', false],
    ['x'.repeat(64), false],
  ];
  for (const [value, ok] of values)
    test(`value "${value.slice(0, 20)}"`, () => assert.equal(isLabelValue(value), ok));

  test('a name or value of exactly 63 characters is valid', () => {
    assert.equal(isQualifiedName('x'.repeat(63)), true);
    assert.equal(isQualifiedName(`example.com/${'x'.repeat(63)}`), true);
    assert.equal(isLabelValue('x'.repeat(63)), true);
  });

  test('a prefix of one-character DNS labels is valid', () => {
    assert.equal(isQualifiedName('a/x'), true);
    assert.equal(isQualifiedName('a.b/x'), true);
  });

  test('a prefix must be a DNS subdomain to its end', () => {
    assert.equal(isQualifiedName('example.com_/x'), false);
    assert.equal(isQualifiedName('example.com./x'), false);
  });

  test('a prefix may have 253 characters, not 254', () => {
    const prefix = (length: number) => `${'a'.repeat(length - 2)}.b`;
    assert.equal(isQualifiedName(`${prefix(253)}/x`), true);
    assert.equal(isQualifiedName(`${prefix(254)}/x`), false);
  });
});

describe('validate', () => {
  test('the example is valid without warnings', () => {
    const result = validate(example());
    assert.deepEqual(result, {
      valid: true,
      reason: 'Valid',
      message: 'the spec is valid',
      problems: [],
      warnings: [],
    });
  });

  const invalid: [string, Parameters<typeof fixture>[0], string, RegExp][] = [
    [
      'bad target',
      { targets: { allow: ['10.0.0.0/8:5900', '10.0.0.0/8:0'] } },
      'InvalidTarget',
      /spec\.targets\.allow\[1\]/,
    ],
    [
      'bad origin',
      { allowedOrigins: ['ftp://a.example.com'] },
      'InvalidOrigin',
      /spec\.allowedOrigins\[0\]/,
    ],
    [
      'bad pod label',
      { podLabels: { 'bad key!': 'x' } },
      'InvalidLabels',
      /spec\.podLabels: label key/,
    ],
    [
      'bad label value',
      { metrics: { serviceMonitor: { enabled: true, labels: { a: 'b c' } } } },
      'InvalidLabels',
      /value "b c"/,
    ],
    [
      'bad annotation',
      { service: { annotations: { '/x': 'y' } } },
      'InvalidAnnotations',
      /spec\.service\.annotations/,
    ],
    ['no token source', { tokens: {} }, 'InvalidSpec', /no token source/],
    [
      'bad trusted proxy',
      { trustedProxies: ['10.0.0.0/40'] },
      'InvalidSpec',
      /spec\.trustedProxies\[0\]/,
    ],
  ];
  for (const [name, spec, reason, message] of invalid) {
    test(name, () => {
      const result = validate(fixture(spec));
      assert.equal(result.valid, false);
      assert.equal(result.reason, reason);
      assert.match(result.message, message);
    });
  }

  test('many problems are summarised', () => {
    const allow = Array.from({ length: 7 }, (_, i) => `10.0.0.${i}:0`);
    const result = validate(fixture({ targets: { allow } }));
    assert.equal(result.problems.length, 7);
    assert.match(result.message, /; and 2 more$/);
  });

  test('the message lists the first five problems, separated by "; ", then how many more', () => {
    const problems = (n: number) =>
      validate(
        fixture({
          podLabels: Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, `bad ${i}`])),
        }),
      );
    const listed = (n: number) =>
      Array.from(
        { length: n },
        (_, i) => `spec.podLabels: label k${i}: value "bad ${i}" is invalid`,
      ).join('; ');
    assert.equal(problems(1).message, listed(1));
    assert.equal(problems(5).message, listed(5));
    assert.equal(problems(6).message, `${listed(5)}; and 1 more`);
  });

  test('each problem names its field and says what is wrong', () => {
    const messages: [string, Parameters<typeof fixture>[0], string][] = [
      [
        'a ServiceMonitor label',
        { metrics: { serviceMonitor: { enabled: true, labels: { a: 'b c' } } } },
        'spec.metrics.serviceMonitor.labels: label a: value "b c" is invalid',
      ],
      [
        'a pod annotation key',
        { podAnnotations: { '/x': 'y' } },
        'spec.podAnnotations: annotation key "/x" is invalid',
      ],
      [
        'a Service annotation key',
        { service: { annotations: { 'a b': 'y' } } },
        'spec.service.annotations: annotation key "a b" is invalid',
      ],
      ['no token source', { tokens: {} }, 'spec.tokens: no token source is set'],
    ];
    for (const [name, spec, message] of messages) {
      assert.equal(validate(fixture(spec)).message, message, name);
    }
  });

  const warned: [string, Parameters<typeof fixture>[0], RegExp][] = [
    [
      'single-use tickets across replicas',
      {
        replicas: 3,
        tokens: {
          jwt: { keySecretRef: { name: 'k', key: 'k' }, algorithms: ['RS256'], singleUse: true },
        },
      },
      /once per pod/,
    ],
    [
      'a budget that blocks drains',
      { replicas: 2, podDisruptionBudget: { minAvailable: 2 } },
      /no eviction/,
    ],
    [
      'maxUnavailable 0%',
      { replicas: 2, podDisruptionBudget: { maxUnavailable: '0%' } },
      /no eviction/,
    ],
    [
      'maxUnavailable 0',
      { replicas: 2, podDisruptionBudget: { maxUnavailable: 0 } },
      /no eviction/,
    ],
    [
      'minAvailable 100%',
      { replicas: 2, podDisruptionBudget: { minAvailable: '100%' } },
      /no eviction/,
    ],
    ['autoscaling without resources', { autoscaling: { maxReplicas: 4 } }, /requests\.cpu/],
    [
      'autoscaling with resource limits but no requests',
      { autoscaling: { maxReplicas: 4 }, resources: { limits: { cpu: '1' } } },
      /requests\.cpu/,
    ],
    [
      'selector labels in podLabels',
      { podLabels: { 'app.kubernetes.io/name': 'x' } },
      /operator's values/,
    ],
    [
      'config hash in podAnnotations',
      { podAnnotations: { 'wsgate.dev/config-hash': 'x' } },
      /operator's value/,
    ],
    [
      'per-IP above total',
      { limits: { maxConnections: 10, maxConnectionsPerIp: 20 } },
      /no effect/,
    ],
    ['plain ws on a LoadBalancer', { service: { type: 'LoadBalancer' } }, /plain ws/],
    [
      'autoscaling without a CPU request',
      { autoscaling: { maxReplicas: 4 }, resources: { requests: { memory: '64Mi' } } },
      /requests\.cpu/,
    ],
    [
      'single-use tickets with an autoscaler that may add pods',
      {
        replicas: 1,
        autoscaling: { minReplicas: 1, maxReplicas: 3 },
        resources: { requests: { cpu: '100m' } },
        tokens: {
          jwt: { keySecretRef: { name: 'k', key: 'k' }, algorithms: ['RS256'], singleUse: true },
        },
      },
      /once per pod/,
    ],
    [
      "a budget that blocks drains at the autoscaler's minimum",
      {
        autoscaling: { minReplicas: 2, maxReplicas: 6 },
        resources: { requests: { cpu: '100m' } },
        podDisruptionBudget: { minAvailable: 2 },
      },
      /no eviction/,
    ],
  ];
  for (const [name, spec, message] of warned) {
    test(`warns: ${name}`, () => {
      const result = validate(fixture(spec));
      assert.equal(result.valid, true);
      assert.equal(result.warnings.length, 1, result.warnings.join('\n'));
      assert.match(result.warnings[0]!, message);
    });
  }

  test('the replay-cache warning says each pod keeps its own cache and names replayStore', () => {
    const jwt = {
      keySecretRef: { name: 'k', key: 'k' },
      algorithms: ['RS256' as const],
      singleUse: true,
    };
    assert.deepEqual(validate(fixture({ replicas: 2, tokens: { jwt } })).warnings, [
      'tokens.jwt.singleUse: each pod keeps its own replay cache, so a ticket works once per pod (tokens.jwt.replayStore shares one)',
    ]);
  });

  test('the reserved-label warning names every selector label set in podLabels, comma-separated', () => {
    const podLabels = { 'app.kubernetes.io/name': 'x', 'app.kubernetes.io/instance': 'y' };
    assert.deepEqual(validate(fixture({ podLabels })).warnings, [
      "podLabels app.kubernetes.io/name, app.kubernetes.io/instance: the operator's values are used",
    ]);
  });

  test('no per-IP warning when limits.maxConnectionsPerIp equals limits.maxConnections', () => {
    assert.deepEqual(
      validate(fixture({ limits: { maxConnections: 10, maxConnectionsPerIp: 10 } })).warnings,
      [],
    );
  });

  test('no replay-cache warning when replicas share a replay store', () => {
    const jwt = {
      keySecretRef: { name: 'k', key: 'k' },
      algorithms: ['RS256' as const],
      singleUse: true,
      replayStore: { secretRef: { name: 'redis', key: 'url' } },
    };
    assert.deepEqual(validate(fixture({ replicas: 3, tokens: { jwt } })).warnings, []);
  });

  test('no warning for a budget that allows one eviction', () => {
    assert.deepEqual(
      validate(fixture({ replicas: 3, podDisruptionBudget: { minAvailable: 2 } })).warnings,
      [],
    );
  });

  test('works on an object that never met the schema', () => {
    const wsp = withDefaults({ metadata: { name: 'a', namespace: 'b', uid: 'c' }, spec: {} });
    assert.equal(validate(wsp).reason, 'InvalidSpec');
  });
});
