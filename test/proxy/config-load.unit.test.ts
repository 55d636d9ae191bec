/**
 * The config loader (proxy/src/config/load.ts) at its edges: how each kind of value is
 * read from a flag, a WSGATE_* variable and the YAML file, the exact message of every
 * refusal (naming the flag, variable or key), the settings that need one another, and the
 * layout of --help.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError, helpText, loadConfig } from '../../proxy/src/config/load.js';

/** Loads with `file` as the YAML of any --config path. */
const load = (argv: string[], env: Record<string, string> = {}, file = '') =>
  loadConfig({ argv, env, readFile: () => file }).config;

/** The ConfigError message loading fails with, or fails. */
function refusal(argv: string[], env: Record<string, string> = {}, file = ''): string {
  try {
    load(argv, env, file);
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    assert.equal(e.name, 'ConfigError');
    return e.message;
  }
  assert.fail(`${argv.join(' ')} was accepted`);
}

const T = ['--token-file', 't'];
/** YAML of a config file: `tokenFile: t` plus `lines`. */
const yaml = (...lines: string[]) => ['tokenFile: t', ...lines].join('\n') + '\n';

describe('booleans', () => {
  for (const v of ['true', 'TRUE', '1', 'yes', 'Yes']) {
    test(`WSGATE_PROXY_PROTOCOL=${v} is true`, () =>
      assert.equal(load(T, { WSGATE_PROXY_PROTOCOL: v }).proxyProtocol, true));
  }
  for (const v of ['false', 'False', '0', 'no', 'NO']) {
    test(`WSGATE_RECORD_INPUT=${v} is false`, () =>
      assert.equal(load(T, { WSGATE_RECORD_INPUT: v }).recordInput, false));
  }
  for (const v of ['on', 'truthy', 'yes!', ' true', '2']) {
    test(`WSGATE_PROXY_PROTOCOL=${JSON.stringify(v)} is refused, naming the variable`, () =>
      assert.equal(
        refusal(T, { WSGATE_PROXY_PROTOCOL: v }),
        `WSGATE_PROXY_PROTOCOL: "${v}" is not true or false`,
      ));
  }
  test('YAML true/false are booleans', () => {
    assert.equal(load(['--config', 'c'], {}, yaml('proxyProtocol: true')).proxyProtocol, true);
    assert.equal(load(['--config', 'c'], {}, yaml('recordInput: false')).recordInput, false);
  });
  test('a YAML number for a switch is refused, naming the key', () =>
    assert.equal(
      refusal(['--config', 'c'], {}, yaml('proxyProtocol: 2')),
      'config key "proxyProtocol": "2" is not true or false',
    ));
  test('YAML 1 and 0 for a switch are numbers, not true/false: refused, naming the key', () => {
    assert.equal(
      refusal(['--config', 'c'], {}, yaml('proxyProtocol: 1')),
      'config key "proxyProtocol": "1" is not true or false',
    );
    assert.equal(
      refusal(['--config', 'c'], {}, yaml('recordInput: 0')),
      'config key "recordInput": "0" is not true or false',
    );
  });
  for (const v of ['xfalse', 'falsey', 'nope']) {
    test(`WSGATE_RECORD_INPUT=${v} is refused (the whole value must match)`, () =>
      assert.equal(
        refusal(T, { WSGATE_RECORD_INPUT: v }),
        `WSGATE_RECORD_INPUT: "${v}" is not true or false`,
      ));
  }
  test('--switch=xyes is refused (the whole value must match)', () =>
    assert.match(refusal([...T, '--proxy-protocol=xyes']), /"xyes" is not true or false/));
  test('an unknown --flag=value: the parser message', () =>
    assert.equal(refusal([...T, '--bogus=1']), "Unknown option '--bogus'"));
  test('a flag value that contains --switch=value is a value', () =>
    assert.equal(
      load([...T, '--jwt-audience', 'x--proxy-protocol=maybe']).jwtAudience,
      'x--proxy-protocol=maybe',
    ));
  test('-- between the positionals: LISTEN and TARGET as given, once each', () => {
    const c = load(['127.0.0.1:7000', '--', '10.0.0.5:5900']);
    assert.deepEqual([c.listen, c.target], ['127.0.0.1:7000', '10.0.0.5:5900']);
  });
  test('--switch=yes, --switch=1 and --switch=TRUE turn it on', () => {
    for (const arg of ['--proxy-protocol=yes', '--proxy-protocol=1', '--proxy-protocol=TRUE'])
      assert.equal(load([...T, arg]).proxyProtocol, true, arg);
  });
  test('--switch=NO turns it off', () =>
    assert.equal(load([...T, '--record-input=NO']).recordInput, false));
  test('--switch=nope is refused, naming the flag', () =>
    assert.equal(
      refusal([...T, '--proxy-protocol=nope']),
      '--proxy-protocol: "nope" is not true or false',
    ));
  test('--switch=truex and --switch=xno are refused (the whole value must match)', () => {
    assert.match(refusal([...T, '--proxy-protocol=truex']), /"truex" is not true or false/);
    assert.match(refusal([...T, '--proxy-protocol=xno']), /"xno" is not true or false/);
  });
  test('--alias=value of a string flag is passed on as its value', () =>
    assert.equal(load(['--target-config=tokens.txt']).tokenFile, 'tokens.txt'));
  test('a --switch=value after -- is a positional (here LISTEN), not a switch', () =>
    assert.match(refusal([...T, '--', '--proxy-protocol=maybe']), /^--listen: /));
});

describe('lists', () => {
  test('a variable is split at commas, trimmed, empty items dropped', () =>
    assert.deepEqual(
      load(T, { WSGATE_ALLOW_ORIGIN: ' https://a.example ,, https://b.example,' }).allowOrigin,
      ['https://a.example', 'https://b.example'],
    ));
  test('a repeated flag gives every value, in order', () =>
    assert.deepEqual(
      load([...T, '--trusted-proxy', '10.0.0.0/8', '--trusted-proxy', '192.0.2.1']).trustedProxy,
      ['10.0.0.0/8', '192.0.2.1'],
    ));
  test('a YAML list of numbers becomes strings', () =>
    assert.deepEqual(load(['--config', 'c'], {}, yaml('jwtAlgorithms: [1, RS256]')).jwtAlgorithms, [
      '1',
      'RS256',
    ]));
  test('a YAML string is split like a variable', () =>
    assert.deepEqual(
      load(
        ['--config', 'c'],
        {},
        yaml('tlsClientSubject: a, b', 'tlsClientCa: ca', 'tlsCert: c', 'tlsKey: k'),
      ).tlsClientSubject,
      ['a', 'b'],
    ));
  test('a YAML number for a list is refused, naming the key', () =>
    assert.equal(
      refusal(['--config', 'c'], {}, yaml('allowTarget: 5')),
      'config key "allowTarget": expected a list',
    ));
});

describe('strings', () => {
  test('a YAML number is taken as a string', () =>
    assert.equal(load(['--config', 'c'], {}, yaml('jwtAudience: 42')).jwtAudience, '42'));
  test('a YAML list for a string is refused, naming the key', () =>
    assert.equal(
      refusal(['--config', 'c'], {}, yaml('jwtAudience: [a]')),
      'config key "jwtAudience": expected a string',
    ));
  test('a choice from the environment is checked, naming the variable', () =>
    assert.equal(
      refusal(T, { WSGATE_LOG_LEVEL: 'loud' }),
      'WSGATE_LOG_LEVEL: "loud" is not one of fatal, error, warn, info, debug, trace, silent',
    ));
  test('an empty variable is no setting: the default stays', () =>
    assert.equal(load(T, { WSGATE_LOG_LEVEL: '' }).logLevel, 'info'));
});

describe('whole numbers and byte sizes', () => {
  const bytes: [string, number][] = [
    ['2048', 2048],
    [' 2048 ', 2048],
    ['4k', 4096],
    ['4K', 4096],
    ['4kb', 4096],
    ['4KiB', 4096],
    ['2m', 2 * 1024 ** 2],
    ['2 MiB', 2 * 1024 ** 2],
    ['1g', 1024 ** 3],
    ['1GB', 1024 ** 3],
  ];
  for (const [text, n] of bytes) {
    test(`--max-message-bytes ${JSON.stringify(text)} is ${n}`, () =>
      assert.equal(load([...T, '--max-message-bytes', text]).maxMessageBytes, n));
  }
  for (const text of ['4t', '4kx', 'k', '4.5k', '4 k b', 'x4', '4 kib b']) {
    test(`--max-message-bytes ${JSON.stringify(text)} is refused`, () =>
      assert.equal(
        refusal([...T, '--max-message-bytes', text]),
        `--max-message-bytes: "${text}" is not a whole number`,
      ));
  }
  test('a negative size is refused', () =>
    assert.equal(
      refusal([...T, '--max-message-bytes=-4']),
      '--max-message-bytes: "-4" is not a whole number',
    ));
  test('a whole number takes no unit', () =>
    assert.equal(refusal([...T, '--workers', '2k']), '--workers: "2k" is not a whole number'));
  test('a whole number from YAML', () =>
    assert.equal(load(['--config', 'c'], {}, yaml('maxConnections: 12')).maxConnections, 12));
  test('a minimum is inclusive, a maximum too', () => {
    assert.equal(load([...T, '--workers', '1']).workers, 1);
    assert.equal(load([...T, '--workers', '256']).workers, 256);
  });
});

describe('durations', () => {
  test('a YAML number is seconds', () =>
    assert.equal(load(['--config', 'c'], {}, yaml('idleTimeout: 1.5')).idleTimeout, 1.5));
  test('a bad one is refused with the reason, naming the flag', () =>
    assert.equal(
      refusal([...T, '--idle-timeout', 'soon']),
      '--idle-timeout: "soon" is not a duration (examples: 500ms, 10s, 15m, 2h)',
    ));
  test('a negative YAML number is refused, naming the key', () =>
    assert.equal(
      refusal(['--config', 'c'], {}, yaml('idleTimeout: -1')),
      'config key "idleTimeout": -1 is not a duration',
    ));
});

describe('the config file', () => {
  test('one that cannot be read: its path and errno', () => {
    const readFile = () => {
      throw Object.assign(new Error('nope'), { code: 'ENOENT' });
    };
    assert.throws(
      () => loadConfig({ argv: ['--config', '/etc/w.yaml'], env: {}, readFile }),
      (e: Error) =>
        e instanceof ConfigError && e.message === '--config: cannot read /etc/w.yaml: ENOENT',
    );
  });
  test('one that is not YAML: its path and the parser message', () =>
    assert.match(
      refusal(['--config', 'c.yaml'], {}, 'a: [1\n'),
      /^--config: c\.yaml is not valid YAML: \S/,
    ));
  test('an empty file (or only comments) sets nothing', () =>
    assert.equal(load(['--config', 'c', ...T], {}, '# nothing\n').listen, '127.0.0.1:6080'));
  test('a scalar or a list is refused: it must be a mapping', () => {
    assert.equal(
      refusal(['--config', 'c.yaml'], {}, 'hello\n'),
      '--config: c.yaml must hold a mapping of settings',
    );
    assert.equal(
      refusal(['--config', 'c.yaml'], {}, '- a\n'),
      '--config: c.yaml must hold a mapping of settings',
    );
  });
  test('an unknown key names the key and the file', () =>
    assert.equal(
      refusal(['--config', 'c.yaml'], {}, yaml('listenPort: 1')),
      '--config: unknown key "listenPort" in c.yaml',
    ));
  test('--config beats WSGATE_CONFIG', () => {
    const read = (p: string) => (p === 'flag.yaml' ? 'tokenFile: f\n' : 'tokenFile: e\n');
    const c = loadConfig({
      argv: ['--config', 'flag.yaml'],
      env: { WSGATE_CONFIG: 'env.yaml' },
      readFile: read,
    });
    assert.equal(c.config.tokenFile, 'f');
  });
  test('no --config and no WSGATE_CONFIG: no file is read', () => {
    const c = loadConfig({
      argv: T,
      env: {},
      readFile: () => assert.fail('read a file'),
    });
    assert.equal(c.config.tokenFile, 't');
  });
});

describe('flags', () => {
  test('an unknown flag: the parser message, first sentence only', () =>
    assert.equal(refusal(['--bogus']), "Unknown option '--bogus'"));
  test('--help: help is asked for, no config is checked', () => {
    const loaded = loadConfig({ argv: ['--help'], env: {} });
    assert.equal(loaded.help, true);
    assert.deepEqual({ ...loaded.config }, {});
    assert.ok(Object.isFrozen(loaded.config));
  });
  test('without --help, help is false', () =>
    assert.equal(loadConfig({ argv: T, env: {} }).help, false));
  test('an alias after the flag wins (last one given)', () =>
    assert.equal(load(['--token-file', 'a', '--target-config', 'b']).tokenFile, 'b'));
  test('positionals: LISTEN alone keeps the default target (none)', () => {
    const c = load([...T, '127.0.0.1:7000']);
    assert.equal(c.listen, '127.0.0.1:7000');
    assert.equal(c.target, undefined);
  });
});

describe('settings that need one another', () => {
  const cases: [string, string[], string][] = [
    [
      'no token source at all',
      [],
      'no token source: give --token-file, --jwt-key, --ovirt-cert or --token-url, or a target as in "wsgate proxy LISTEN TARGET"',
    ],
    [
      'a target and --jwt-key',
      ['--jwt-key', 'k', '--target', 'h:1'],
      'a single target and --jwt-key exclude each other',
    ],
    ['a bad target', ['--target', 'nowhere'], 'target: "nowhere" is not HOST:PORT'],
    [
      'a bad --metrics-listen',
      [...T, '--metrics-listen', 'x'],
      '--metrics-listen: "x" is not HOST:PORT',
    ],
    [
      'a bad --allow-target',
      [...T, '--allow-target', '10.0.0.0/33'],
      '--allow-target: "10.0.0.0/33": prefix /33 is longer than 32',
    ],
    [
      'a relative --allow-unix-dir',
      [...T, '--allow-unix-dir', 'run'],
      '--allow-unix-dir: "run" must be an absolute path',
    ],
    ['a bad --allow-origin', [...T, '--allow-origin', 'a.example'], '--allow-origin: '],
    ['a bad --trusted-proxy', [...T, '--trusted-proxy', 'lb'], '--trusted-proxy: '],
    ['a --token-url that is no URL', ['--token-url', 'nope'], '--token-url: Invalid URL'],
    [
      'a --token-url that is not http(s)',
      ['--token-url', 'ftp://x/{token}'],
      '--token-url: must be an http(s) URL',
    ],
    [
      '--tls-cert without --tls-key',
      [...T, '--tls-cert', 'c'],
      '--tls-cert and --tls-key go together',
    ],
    [
      '--tls-key without --tls-cert',
      [...T, '--tls-key', 'k'],
      '--tls-cert and --tls-key go together',
    ],
    [
      '--tls-client-ca without --tls-cert',
      [...T, '--tls-client-ca', 'ca'],
      '--tls-client-ca needs --tls-cert',
    ],
    [
      '--tls-ciphers without --tls-cert',
      [...T, '--tls-ciphers', 'HIGH'],
      '--tls-ciphers needs --tls-cert',
    ],
    [
      '--tls-client-subject without --tls-client-ca',
      [...T, '--tls-cert', 'c', '--tls-key', 'k', '--tls-client-subject', 'cn'],
      '--tls-client-subject needs --tls-client-ca',
    ],
    [
      '--replay-store-ca without --replay-store',
      [...T, '--replay-store-ca', 'ca'],
      '--replay-store-ca needs --replay-store',
    ],
    [
      '--record-max-bytes 4095',
      [...T, '--record-max-bytes', '4095'],
      '--record-max-bytes: must be 0 or at least 4096',
    ],
    [
      '--admin-listen without a token file',
      [...T, '--admin-listen', '127.0.0.1:9000'],
      '--admin-listen needs --admin-token-file',
    ],
    [
      '--admin-token-file without --admin-listen',
      [...T, '--admin-token-file', 'f'],
      '--admin-token-file needs --admin-listen',
    ],
    [
      'a bad --admin-listen',
      [...T, '--admin-listen', 'x', '--admin-token-file', 'f'],
      '--admin-listen: "x" is not HOST:PORT',
    ],
  ];
  for (const [name, argv, message] of cases) {
    test(`refused: ${name}`, () => {
      const got = refusal(argv);
      if (message.endsWith(': '))
        assert.ok(got.startsWith(message) && got.length > message.length, got);
      else assert.equal(got, message);
    });
  }

  const accepted: [string, string[]][] = [
    ['each token source alone', ['--ovirt-cert', 'c']],
    ['--token-url with {token}', ['--token-url', 'https://t.example/{token}']],
    ['--token-url over http', ['--token-url', 'http://t.example/lookup']],
    ['--metrics-listen "" (off)', [...T, '--metrics-listen', '']],
    ['--record-max-bytes 0 and 4096', [...T, '--record-max-bytes', '4096']],
    [
      'TLS with client CA and subjects',
      [
        ...T,
        '--tls-cert',
        'c',
        '--tls-key',
        'k',
        '--tls-client-ca',
        'ca',
        '--tls-client-subject',
        'cn',
        '--tls-ciphers',
        'HIGH',
      ],
    ],
    [
      'a rediss:// store with its CA',
      [
        '--jwt-key',
        'k',
        '--jwt-single-use',
        '--replay-store',
        'rediss://r:6380/1',
        '--replay-store-ca',
        'ca',
        '--replay-store-password-file',
        'p',
      ],
    ],
    [
      'the admin API with its token file',
      [...T, '--admin-listen', '127.0.0.1:9000', '--admin-token-file', 'f'],
    ],
    ['an absolute --allow-unix-dir', [...T, '--allow-unix-dir', '/run/vms']],
    [
      'a redis:// store without a CA',
      ['--jwt-key', 'k', '--jwt-single-use', '--replay-store', 'redis://r:6379/0'],
    ],
    ['--token-url with {token} as the host', ['--token-url', 'http://{token}']],
  ];
  for (const [name, argv] of accepted) {
    test(`accepted: ${name}`, () => assert.equal(typeof load(argv), 'object'));
  }
  test('--record-max-bytes 0 means no limit', () =>
    assert.equal(load([...T, '--record-max-bytes', '0']).recordMaxBytes, 0));
});

describe('--help text', () => {
  const help = helpText();
  const lines = help.split('\n');
  test('starts with the usage and the precedence note, ends with a newline', () => {
    assert.deepEqual(lines.slice(0, 5), [
      'Usage: wsgate proxy [options] [LISTEN [TARGET]]',
      '',
      'Every flag --foo-bar may also come from WSGATE_FOO_BAR or key fooBar in --config FILE',
      '(precedence: flag > environment > file). Durations: 500ms, 10s, 15m, 2h.',
      '',
    ]);
    assert.ok(help.endsWith('\n') && !help.endsWith('\n\n'));
  });
  test('flags fit a 34-column left side', () => {
    assert.equal(lines[5], '  --config FILE'.padEnd(34) + 'YAML file of settings');
    assert.equal(
      lines.find((l) => l.startsWith('  --listen ')),
      '  --listen HOST:PORT'.padEnd(34) +
        'address to accept WebSocket upgrades on (default 127.0.0.1:6080)',
    );
    assert.equal(
      lines.find((l) => l.startsWith('  --proxy-protocol')),
      '  --proxy-protocol'.padEnd(34) +
        'expect a PROXY protocol v1/v2 header on every connection (default false)',
    );
  });
  test('an empty list default is not shown; a zero byte size shows as 0, a whole MiB as MiB', () => {
    const line = (flag: string) => lines.find((l) => l.startsWith(`  ${flag} `));
    assert.equal(
      line('--allow-unix-dir'),
      '  --allow-unix-dir DIR'.padEnd(34) +
        'directories whose Unix sockets may be dialled (repeatable)',
    );
    assert.doesNotMatch(help, /\(default \)/);
    assert.match(line('--record-max-bytes')!, /\(0 = unlimited\) \(default 0\)$/);
    assert.match(line('--max-message-bytes')!, /\(default \d+MiB\)$/);
  });
  test('a flag of 33 columns or more puts its help on the next line', () => {
    const i = lines.indexOf('  --jwt-single-use-window DURATION');
    assert.ok(i > 0);
    assert.equal(
      lines[i + 1],
      ' '.repeat(34) +
        "after a single-use ticket's first use, accept it again from the same client this long (default 5s)",
    );
    assert.equal(
      lines.find((l) => l.startsWith('  --token-url-cache-ttl')),
      '  --token-url-cache-ttl DURATION  how long a --token-url answer is reused (default 5s)',
    );
  });
  test('defaults are shown in their unit: seconds, MiB, or as they are; none when there is none', () => {
    const line = (flag: string) => lines.find((l) => l.startsWith(`  --${flag} `))!;
    assert.match(line('handshake-timeout'), / \(default 10s\)$/);
    assert.match(line('max-message-bytes'), / \(default 16MiB\)$/);
    assert.match(line('workers'), / \(default 1\)$/);
    assert.match(line('log-level'), / \(default info\)$/);
    assert.equal(
      line('jwt-key'),
      '  --jwt-key FILE'.padEnd(34) +
        'verify signed tickets (JWT) with this PEM/JWK/JWKS/secret file',
    );
  });
});
