/** ConfigValid: validation first, then the Secrets the spec names. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { configValidCondition } from '../../operator/src/status/config.js';
import { secretsToCheck } from '../../operator/src/status/secrets.js';
import type { Observed } from '../../operator/src/status/types.js';
import { validate } from '../../operator/src/api/validate.js';
import { fixture } from './helpers.js';

const base: Observed = { certManagerInstalled: true, serviceMonitorInstalled: true };
const tokenFound = { 'console-tokens': { state: 'found' as const, keys: ['tokens'] } };

describe('configValidCondition', () => {
  const cases: [
    string,
    Parameters<typeof fixture>[0],
    Partial<Observed>,
    string,
    string,
    RegExp,
  ][] = [
    ['valid and checked', {}, { secrets: tokenFound }, 'True', 'Valid', /^the spec is valid$/],
    [
      'invalid spec wins',
      { allowedOrigins: ['https://a.b/path'] },
      { secrets: {} },
      'False',
      'InvalidOrigin',
      /allowedOrigins\[0\]/,
    ],
    [
      'token Secret missing',
      {},
      { secrets: { 'console-tokens': { state: 'missing' } } },
      'False',
      'SecretNotFound',
      /Secret console-tokens \(spec.tokens.file.secretRef\) not found/,
    ],
    [
      'token Secret lacks the key',
      {},
      { secrets: { 'console-tokens': { state: 'found', keys: ['other'] } } },
      'False',
      'SecretKeyNotFound',
      /has no key tokens/,
    ],
    [
      'Secrets unreadable',
      {},
      { secrets: { 'console-tokens': { state: 'unknown', why: '403' } } },
      'True',
      'Valid',
      /^the spec is valid; Secrets not verified: console-tokens$/,
    ],
    [
      'ServiceMonitor asked for without its CRD',
      { metrics: { serviceMonitor: { enabled: true } } },
      { serviceMonitorInstalled: false, secrets: tokenFound },
      'True',
      'ServiceMonitorUnavailable',
      /monitoring.coreos.com CRD is not installed/,
    ],
    [
      'no ServiceMonitor asked for: its missing CRD is not reported',
      { metrics: { serviceMonitor: { enabled: false } } },
      { serviceMonitorInstalled: false, secrets: tokenFound },
      'True',
      'Valid',
      /^the spec is valid$/,
    ],
    [
      'ServiceMonitor asked for with its CRD installed',
      { metrics: { serviceMonitor: { enabled: true } } },
      { serviceMonitorInstalled: true, secrets: tokenFound },
      'True',
      'Valid',
      /^the spec is valid$/,
    ],
    [
      'ServiceMonitor without its CRD and Secrets unreadable: both said, one per clause',
      { metrics: { serviceMonitor: { enabled: true } } },
      {
        serviceMonitorInstalled: false,
        secrets: { 'console-tokens': { state: 'unknown', why: '403' } },
      },
      'True',
      'ServiceMonitorUnavailable',
      /^ServiceMonitor skipped: the monitoring.coreos.com CRD is not installed; Secrets not verified: console-tokens$/,
    ],
    [
      'two Secrets unreadable: both named',
      {
        tokens: {
          jwt: {
            keySecretRef: { name: 'jwt', key: 'k' },
            singleUse: true,
            replayStore: { secretRef: { name: 'redis', key: 'url' } },
          },
        },
        targets: { allow: ['10.0.0.0/8'] },
      },
      {
        secrets: { jwt: { state: 'unknown', why: '403' }, redis: { state: 'unknown', why: '403' } },
      },
      'True',
      'Valid',
      /^the spec is valid; Secrets not verified: jwt, redis$/,
    ],
    [
      'a brought TLS Secret is not ConfigValid business',
      { tls: { secretName: 'mine' } },
      { secrets: { ...tokenFound, mine: { state: 'missing' } } },
      'True',
      'Valid',
      /valid/,
    ],
    [
      "the replay store's URL Secret missing (it is an env var, not a volume, but checked alike)",
      {
        tokens: {
          jwt: {
            keySecretRef: { name: 'jwt', key: 'k' },
            singleUse: true,
            replayStore: { secretRef: { name: 'redis', key: 'url' } },
          },
        },
        targets: { allow: ['10.0.0.0/8'] },
      },
      { secrets: { jwt: { state: 'found', keys: ['k'] }, redis: { state: 'missing' } } },
      'False',
      'SecretNotFound',
      /Secret redis \(spec.tokens.jwt.replayStore.secretRef\) not found/,
    ],
  ];
  for (const [name, spec, observed, status, reason, message] of cases) {
    test(name, () => {
      const wsp = fixture(spec);
      const c = configValidCondition(wsp, validate(wsp), { ...base, ...observed });
      assert.equal(c.status, status, c.message);
      assert.equal(c.reason, reason);
      assert.match(c.message, message);
    });
  }
});

describe('secretsToCheck', () => {
  test("everything but a Certificate's own Secret", () => {
    const names = (spec: Parameters<typeof fixture>[0]) =>
      secretsToCheck(fixture(spec)).map((m) => m.secretName);
    assert.deepEqual(names({ tls: { issuerRef: { name: 'ca' } } }), ['console-tokens']);
    assert.deepEqual(names({ tls: { secretName: 'mine' } }), ['mine', 'console-tokens']);
  });
});
