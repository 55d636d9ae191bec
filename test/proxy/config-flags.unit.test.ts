/**
 * The settings table (proxy/src/config/flags.ts) as a user meets it: the defaults in
 * effect, the names a flag answers to (aliases, WSGATE_* variables), the values a choice
 * accepts, and what `wsgate proxy --help` shows for each flag.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { envName, kebab, settingByFlag, SETTINGS } from '../../proxy/src/config/flags.js';
import { ConfigError, helpText, loadConfig } from '../../proxy/src/config/load.js';

const load = (argv: string[], env: Record<string, string> = {}) =>
  loadConfig({ argv, env, readFile: () => '' }).config;

/** The message loadConfig fails with, or fails. */
function refusal(argv: string[], env: Record<string, string> = {}): string {
  try {
    load(argv, env);
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    return e.message;
  }
  assert.fail(`${argv.join(' ')} was accepted`);
}

describe('defaults', () => {
  test('with only a token source, every other setting has its documented default', () => {
    assert.deepEqual(
      { ...load(['--token-file', 't']) },
      {
        listen: '127.0.0.1:6080',
        metricsListen: '0.0.0.0:9090',
        handshakeTimeout: 10,
        connectTimeout: 5,
        idleTimeout: 0,
        heartbeat: 30,
        maxMessageBytes: 16 * 1024 * 1024,
        drainTimeout: 30,
        jwtAllowNoExp: false,
        jwtSingleUse: false,
        jwtSingleUseWindow: 5,
        tokenUrlTimeout: 2,
        tokenUrlCacheTtl: 5,
        allowTarget: [],
        allowUnixDir: [],
        allowOrigin: [],
        allowMissingOrigin: false,
        maxConnections: 0,
        maxConnectionsPerIp: 0,
        handshakeRate: 0,
        maxSession: 0,
        maxSessionsPerTarget: 0,
        targetLimitPolicy: 'refuse',
        endAtTicketExpiry: false,
        trustedProxy: [],
        proxyProtocol: false,
        tlsMinVersion: 'TLSv1.2',
        tlsClientSubject: [],
        targetTls: false,
        recordWhen: 'always',
        recordInput: true,
        recordMaxBytes: 0,
        recordRetention: 0,
        workers: 1,
        logLevel: 'info',
        tokenFile: 't',
      },
    );
  });
});

describe('bounds', () => {
  const cases: [string, string, string][] = [
    ['--handshake-timeout', '0', 'must be at least 0.001'],
    ['--connect-timeout', '0', 'must be at least 0.001'],
    ['--token-url-timeout', '0', 'must be at least 0.001'],
    ['--max-message-bytes', '1023', 'must be at least 1024'],
    ['--max-message-bytes', '2g', 'must be at most 1073741824'],
    ['--jwt-single-use-window', '61', 'must be at most 60'],
    ['--workers', '0', 'must be at least 1'],
    ['--workers', '257', 'must be at most 256'],
  ];
  for (const [flag, value, why] of cases) {
    test(`${flag} ${value}: "${why}"`, () =>
      assert.equal(refusal(['--token-file', 't', flag, value]), `${flag}: ${why}`));
  }
  test('the bounds themselves are accepted', () => {
    const c = load([
      '--token-file',
      't',
      '--handshake-timeout',
      '1ms',
      '--max-message-bytes',
      '1024',
      '--workers',
      '256',
      '--jwt-single-use-window',
      '60',
    ]);
    assert.deepEqual(
      [c.handshakeTimeout, c.maxMessageBytes, c.workers, c.jwtSingleUseWindow],
      [0.001, 1024, 256, 60],
    );
    assert.equal(
      load(['--token-file', 't', '--max-message-bytes', '1GiB']).maxMessageBytes,
      2 ** 30,
    );
  });
});

describe('choices', () => {
  const cases: [string, string[]][] = [
    ['--target-limit-policy', ['refuse', 'replace']],
    ['--tls-min-version', ['TLSv1.2', 'TLSv1.3']],
    ['--record-when', ['always', 'ticket']],
    ['--log-level', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']],
  ];
  for (const [flag, values] of cases) {
    const key = SETTINGS.find((s) => `--${s.flag}` === flag)!.key;
    test(`${flag} accepts ${values.join(', ')} and nothing else, listing them`, () => {
      for (const v of values) assert.equal(load(['--token-file', 't', flag, v])[key], v);
      assert.equal(
        refusal(['--token-file', 't', flag, 'other']),
        `${flag}: "other" is not one of ${values.join(', ')}`,
      );
    });
  }
});

describe('names', () => {
  test('kebab: camelCase keys become dashed flags', () => {
    assert.equal(kebab('maxConnectionsPerIp'), 'max-connections-per-ip');
    assert.equal(kebab('listen'), 'listen');
  });

  test('every setting answers to --KEY-IN-KEBAB-CASE and WSGATE_KEY_IN_SNAKE_CASE', () => {
    for (const s of SETTINGS) {
      assert.equal(s.flag, kebab(s.key), s.key);
      assert.equal(envName(s), `WSGATE_${s.flag.toUpperCase().replaceAll('-', '_')}`, s.key);
    }
    assert.equal(
      envName(settingByFlag('max-connections-per-ip')!),
      'WSGATE_MAX_CONNECTIONS_PER_IP',
    );
  });

  test('settingByFlag finds a setting by its flag or an alias, and nothing for other names', () => {
    assert.equal(settingByFlag('token-file')?.key, 'tokenFile');
    assert.equal(settingByFlag('target-config')?.key, 'tokenFile');
    assert.equal(settingByFlag('cert')?.key, 'tlsCert');
    assert.equal(settingByFlag('key')?.key, 'tlsKey');
    assert.equal(settingByFlag('listen')?.key, 'listen');
    assert.equal(settingByFlag('tokenFile'), undefined);
    assert.equal(settingByFlag('bogus'), undefined);
  });

  test('websockify aliases --target-config, --cert and --key set the same settings', () => {
    const c = load(['--target-config', 't', '--cert', 'c.pem', '--key', 'k.pem']);
    assert.deepEqual([c.tokenFile, c.tlsCert, c.tlsKey], ['t', 'c.pem', 'k.pem']);
  });

  test('a WSGATE_* variable with a multi-word name sets its setting', () =>
    assert.equal(
      load(['--token-file', 't'], { WSGATE_MAX_CONNECTIONS_PER_IP: '7' }).maxConnectionsPerIp,
      7,
    ));

  test('no two settings share a flag, alias or key', () => {
    const names = SETTINGS.flatMap((s) => [s.flag, ...(s.aliases ?? [])]);
    assert.equal(new Set(names).size, names.length);
    assert.equal(new Set(SETTINGS.map((s) => s.key)).size, SETTINGS.length);
  });
});

describe('each kind of setting read from its flag', () => {
  const cases: [string[], string, unknown][] = [
    [['--jwt-issuer', 'iss'], 'jwtIssuer', 'iss'],
    [['--jwt-audience', 'aud'], 'jwtAudience', 'aud'],
    [['--target-ca', 'ca.pem'], 'targetCa', 'ca.pem'],
    [['--record-dir', '/rec'], 'recordDir', '/rec'],
    [['--jwt-allow-no-exp'], 'jwtAllowNoExp', true],
    [['--jwt-single-use'], 'jwtSingleUse', true],
    [['--allow-missing-origin'], 'allowMissingOrigin', true],
    [['--end-at-ticket-expiry'], 'endAtTicketExpiry', true],
    [['--proxy-protocol'], 'proxyProtocol', true],
    [['--target-tls'], 'targetTls', true],
    [['--no-record-input'], 'recordInput', false],
    [['--handshake-rate', '5'], 'handshakeRate', 5],
    [['--max-connections', '4'], 'maxConnections', 4],
    [['--max-connections-per-ip', '2'], 'maxConnectionsPerIp', 2],
    [['--max-sessions-per-target', '3'], 'maxSessionsPerTarget', 3],
    [['--max-session', '2m'], 'maxSession', 120],
    [['--record-retention', '1h'], 'recordRetention', 3600],
    [['--token-url-cache-ttl', '500ms'], 'tokenUrlCacheTtl', 0.5],
    [['--record-max-bytes', '1MiB'], 'recordMaxBytes', 1024 ** 2],
    [['--allow-target', '10.0.0.0/8'], 'allowTarget', ['10.0.0.0/8']],
  ];
  for (const [argv, key, value] of cases) {
    test(`${argv.join(' ')}: ${key} is ${JSON.stringify(value)}`, () =>
      assert.deepEqual(
        load(['--token-file', 't', ...argv])[key as keyof ReturnType<typeof load>],
        value,
      ));
  }
});

describe('--help', () => {
  /** The flags shown with a placeholder other than their kind. */
  const METAVARS: [string, string][] = [
    ['listen', 'HOST:PORT'],
    ['target', 'HOST:PORT'],
    ['token-file', 'FILE|DIR'],
    ['metrics-listen', 'HOST:PORT'],
    ['jwt-key', 'FILE'],
    ['jwt-algorithms', 'ALG,...'],
    ['jwt-audience', 'AUD'],
    ['jwt-issuer', 'ISS'],
    ['replay-store', 'redis[s]://HOST:PORT/DB'],
    ['replay-store-password-file', 'FILE'],
    ['replay-store-ca', 'FILE'],
    ['ovirt-cert', 'FILE'],
    ['token-url', 'URL'],
    ['allow-target', 'CIDR[:PORT[-PORT]]'],
    ['allow-unix-dir', 'DIR'],
    ['allow-origin', 'ORIGIN'],
    ['target-limit-policy', 'POLICY'],
    ['trusted-proxy', 'CIDR'],
    ['tls-cert', 'FILE'],
    ['tls-key', 'FILE'],
    ['tls-ciphers', 'LIST'],
    ['tls-client-ca', 'FILE'],
    ['tls-client-subject', 'CN'],
    ['target-ca', 'FILE'],
    ['record-dir', 'DIR'],
    ['admin-listen', 'HOST:PORT'],
    ['admin-token-file', 'FILE'],
  ];
  const lines = helpText().split('\n');
  /** The help line (or two) of `--flag`, joined. */
  const entry = (flag: string) => {
    const i = lines.findIndex((l) => l.startsWith(`  --${flag} `) || l === `  --${flag}`);
    assert.ok(i >= 0, `--${flag} in --help`);
    return lines[i + 1]?.startsWith(' '.repeat(34)) ? `${lines[i]} ${lines[i + 1]}` : lines[i]!;
  };

  for (const [flag, metavar] of METAVARS) {
    test(`--${flag} is shown as "--${flag} ${metavar}"`, () =>
      assert.ok(entry(flag).startsWith(`  --${flag} ${metavar} `), entry(flag)));
  }

  /** The other flags: their kind as placeholder; a switch (undefined) shows none. */
  const KINDS: [string, string | undefined][] = [
    ['handshake-timeout', 'DURATION'],
    ['connect-timeout', 'DURATION'],
    ['idle-timeout', 'DURATION'],
    ['heartbeat', 'DURATION'],
    ['max-message-bytes', 'BYTES'],
    ['drain-timeout', 'DURATION'],
    ['jwt-allow-no-exp', undefined],
    ['jwt-single-use', undefined],
    ['jwt-single-use-window', 'DURATION'],
    ['token-url-timeout', 'DURATION'],
    ['token-url-cache-ttl', 'DURATION'],
    ['allow-missing-origin', undefined],
    ['max-connections', 'INT'],
    ['max-connections-per-ip', 'INT'],
    ['handshake-rate', 'INT'],
    ['max-session', 'DURATION'],
    ['max-sessions-per-target', 'INT'],
    ['end-at-ticket-expiry', undefined],
    ['proxy-protocol', undefined],
    ['tls-min-version', 'STRING'],
    ['target-tls', undefined],
    ['record-when', 'STRING'],
    ['record-input', undefined],
    ['record-max-bytes', 'BYTES'],
    ['record-retention', 'DURATION'],
    ['workers', 'INT'],
    ['log-level', 'STRING'],
  ];

  test('the two tables cover every flag', () =>
    assert.deepEqual(
      [...METAVARS, ...KINDS].map(([f]) => f).sort(),
      SETTINGS.map((s) => s.flag).sort(),
    ));

  for (const [flag, kind] of KINDS) {
    const shown = kind === undefined ? `  --${flag}` : `  --${flag} ${kind}`;
    test(`--${flag} is shown as "${shown.trim()}"`, () =>
      assert.ok(
        entry(flag).startsWith(shown.length < 33 ? shown.padEnd(34) : `${shown} `),
        entry(flag),
      ));
  }

  test('every flag has a help text of its own: words, no final period', () => {
    const helps = SETTINGS.map((s) => s.help);
    for (const h of helps) assert.match(h, /^[A-Za-z][^\n]{5,}[^.]$/);
    assert.equal(new Set(helps).size, helps.length);
    for (const s of SETTINGS) assert.ok(entry(s.flag).includes(s.help), s.flag);
  });
});
