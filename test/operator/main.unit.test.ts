/** `wsgate operator` flags: defaults, environment, and errors that name the flag. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DEFAULT_IMAGE, parseFlags, UsageError } from '../../operator/src/main.js';

describe('parseFlags', () => {
  test('defaults', () => {
    const f = parseFlags([], {});
    assert.equal(f.kubeconfig, undefined);
    assert.deepEqual(f.namespaces, []);
    assert.equal(f.leaderElection, undefined, 'leader election is off unless asked for');
    assert.deepEqual(f.metricsListen, { host: '0.0.0.0', port: 8080 });
    assert.equal(f.healthListen, undefined);
    assert.equal(f.metricsSecure, undefined, 'plain HTTP metrics unless asked for');
    assert.equal(f.image, DEFAULT_IMAGE);
    assert.match(DEFAULT_IMAGE, /^wsgate:\d+\.\d+\.\d+/);
    assert.equal(f.resyncMs, 600_000);
    assert.equal(f.pollMs, 5_000);
    assert.deepEqual(f.secretsNamespaces, []);
    assert.equal(f.workers, 4);
    assert.equal(f.logLevel, 'info');
  });

  test('the environment the chart sets', () => {
    const f = parseFlags(['--leader-elect'], {
      POD_NAMESPACE: 'wsgate-system',
      POD_NAME: 'wsgate-operator-abc',
      WSGATE_IMAGE: 'registry.example.com/wsgate:1.2.3',
      WSGATE_LOG_LEVEL: 'debug',
    });
    assert.equal(f.image, 'registry.example.com/wsgate:1.2.3');
    assert.equal(f.logLevel, 'debug');
    assert.deepEqual(f.leaderElection, {
      namespace: 'wsgate-system',
      name: 'wsgate-operator',
      identity: 'wsgate-operator-abc',
      leaseDurationMs: 15_000,
      renewDeadlineMs: 10_000,
      retryPeriodMs: 2_000,
    });
  });

  test('flags win over the environment', () => {
    const f = parseFlags(
      [
        '--image=mine:1',
        '--log-level=warn',
        '--leader-elect',
        '--leader-election-namespace=ops',
        '--lease-name=other',
        '--lease-duration=30s',
        '--renew-deadline=20s',
        '--retry-period=5s',
        '--metrics-listen=127.0.0.1:9000',
        '--health-listen=127.0.0.1:9001',
        '--resync=1m',
        '--workers=8',
      ],
      { WSGATE_IMAGE: 'env:1', WSGATE_LOG_LEVEL: 'debug', POD_NAMESPACE: 'ns' },
    );
    assert.equal(f.image, 'mine:1');
    assert.equal(f.logLevel, 'warn');
    assert.equal(f.leaderElection?.namespace, 'ops');
    assert.equal(f.leaderElection?.name, 'other');
    assert.equal(f.leaderElection?.leaseDurationMs, 30_000);
    assert.deepEqual(f.healthListen, { host: '127.0.0.1', port: 9001 });
    assert.equal(f.resyncMs, 60_000);
    assert.equal(f.workers, 8);
  });

  test('--secrets-namespace repeats; --poll-interval takes a duration', () => {
    const f = parseFlags(
      [
        '--secrets-namespace=a',
        '--secrets-namespace',
        'b',
        '--secrets-namespace=a',
        '--poll-interval=2s',
      ],
      {},
    );
    assert.deepEqual(f.secretsNamespaces, ['a', 'b']);
    assert.equal(f.pollMs, 2_000);
  });

  test('--namespace and --watch-namespace repeat and merge', () => {
    const f = parseFlags(['--namespace', 'a', '--watch-namespace=b', '--namespace=a'], {});
    assert.deepEqual(f.namespaces, ['a', 'b']);
  });

  test('--metrics-secure with --health-listen, and an optional certificate directory', () => {
    const base = ['--metrics-secure', '--health-listen=0.0.0.0:8081'];
    assert.deepEqual(parseFlags(base, {}).metricsSecure, { certDir: undefined });
    assert.deepEqual(parseFlags([...base, '--metrics-cert-dir=/tls'], {}).metricsSecure, {
      certDir: '/tls',
    });
  });

  const errors: [string[], RegExp][] = [
    [['--bogus'], /--bogus/],
    [['extra'], /extra/],
    [['--workers=0'], /^--workers:/],
    [['--workers=x'], /^--workers:/],
    [['--log-level=loud'], /^--log-level:/],
    [['--resync=soon'], /^--resync:/],
    [['--resync=0s'], /^--resync:/],
    [['--metrics-listen=nowhere'], /^--metrics-listen:/],
    [['--namespace=Bad_Name'], /^--namespace:/],
    [['--secrets-namespace=Bad_Name'], /^--secrets-namespace:/],
    [['--poll-interval=0s'], /^--poll-interval:/],
    [['--image='], /^--image:/],
    [['--metrics-secure'], /^--metrics-secure needs --health-listen/],
    [['--metrics-cert-dir=/tls'], /^--metrics-cert-dir: only with --metrics-secure/],
    [['--leader-elect'], /^--leader-election-namespace: required outside a cluster/],
    [
      ['--leader-elect', '--leader-election-namespace=x', '--renew-deadline=20s'],
      /each must be longer than the next/,
    ],
  ];
  for (const [argv, message] of errors) {
    test(`refuses ${argv.join(' ')}`, () => {
      assert.throws(
        () => parseFlags(argv, {}),
        (e: unknown) => e instanceof UsageError && message.test(e.message),
      );
    });
  }
});
