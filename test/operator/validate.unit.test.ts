/** Semantic validation beyond the CRD schema. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  checkOrigin,
  isLabelValue,
  isQualifiedName,
  parseTargetRule,
  validate,
} from '../../operator/src/validate.js';
import { withDefaults } from '../../operator/src/api/defaults.js';
import { example, fixture } from './helpers.js';

describe('parseTargetRule', () => {
  const good: [string, ReturnType<typeof parseTargetRule>][] = [
    [
      '10.0.0.0/8:5900-5999',
      { address: '10.0.0.0', family: 4, prefix: 8, portMin: 5900, portMax: 5999 },
    ],
    [
      '192.0.2.7:5900',
      { address: '192.0.2.7', family: 4, prefix: 32, portMin: 5900, portMax: 5900 },
    ],
    ['[fd00::/8]:5900', { address: 'fd00::', family: 6, prefix: 8, portMin: 5900, portMax: 5900 }],
    ['[::1]:1-65535', { address: '::1', family: 6, prefix: 128, portMin: 1, portMax: 65535 }],
    ['fd00::/64:5900', { address: 'fd00::', family: 6, prefix: 64, portMin: 5900, portMax: 5900 }],
  ];
  for (const [rule, parsed] of good)
    test(rule, () => assert.deepEqual(parseTargetRule(rule), parsed));

  const bad: [string, RegExp][] = [
    ['10.0.0.0/33:5900', /prefix \/33 is not 0-32/],
    ['10.0.0.0/8:0', /port 0 is not 1-65535/],
    ['10.0.0.0/8:5999-5900', /reversed/],
    ['10.0.0.0/8:70000', /not 1-65535/],
    ['300.0.0.1:5900', /not an IP address/],
    ['fd00::1:5900', /\[ADDRESS\]:PORT/],
    ['host.example.com:5900', /not an IP address/],
    ['10.0.0.0/8', /CIDR:PORT/],
  ];
  for (const [rule, message] of bad) {
    test(`refuses ${rule}`, () =>
      assert.throws(() => parseTargetRule(rule), { name: 'RangeError', message }));
  }
});

describe('checkOrigin', () => {
  for (const origin of [
    'https://manager.example.com',
    'http://localhost:8080',
    'https://*.example.com',
    'https://192.0.2.1',
    'https://[::1]:8443',
  ]) {
    test(origin, () => assert.doesNotThrow(() => checkOrigin(origin)));
  }
  const bad: [string, RegExp][] = [
    ['https://a.example.com/path', /no path/],
    ['https://A.example.com', /lowercase/],
    ['https://*.192.0.2.1', /wildcard needs a domain/],
    ['https://a..example.com', /not a host name/],
    ['https://a.example.com:99999', /not 1-65535/],
    ['ftp://a.example.com', /scheme/],
  ];
  for (const [origin, message] of bad)
    test(`refuses ${origin}`, () => assert.throws(() => checkOrigin(origin), message));
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
      { allowedOrigins: ['https://A.example.com'] },
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
  ];
  for (const [name, spec, message] of warned) {
    test(`warns: ${name}`, () => {
      const result = validate(fixture(spec));
      assert.equal(result.valid, true);
      assert.equal(result.warnings.length, 1, result.warnings.join('\n'));
      assert.match(result.warnings[0]!, message);
    });
  }

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
