/** Settings: precedence, validation messages that name the setting, websockify forms. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { ConfigError, helpText, loadConfig } from '../../proxy/src/config/load.js';
import { SETTINGS } from '../../proxy/src/config/flags.js';
import { formatHostPort, parseHostPort, parseListen } from '../../lib/address.js';
import { parseDuration } from '../../lib/duration.js';

const load = (argv: string[], env: Record<string, string> = {}, file?: string) =>
  loadConfig({ argv, env, readFile: () => file ?? '' }).config;

describe('loadConfig', () => {
  test('defaults', () => {
    const c = load(['--token-file', 't']);
    assert.equal(c.listen, '127.0.0.1:6080');
    assert.equal(c.metricsListen, '0.0.0.0:9090');
    assert.equal(c.handshakeTimeout, 10);
    assert.equal(c.heartbeat, 30);
    assert.equal(c.workers, 1);
    assert.equal(c.jwtSingleUseWindow, 5, 'one console: 5 s for the same client');
    assert.equal(c.maxMessageBytes, 16 * 1024 * 1024);
    assert.ok(Object.isFrozen(c));
  });

  test('flag > environment > file', () => {
    const file = 'tokenFile: f\nidleTimeout: 30\nheartbeat: 5\nworkers: 3\n';
    const env = { WSGATE_IDLE_TIMEOUT: '20s', WSGATE_HEARTBEAT: '7' };
    const c = load(['--config', 'x.yaml', '--idle-timeout', '10s'], env, file);
    assert.equal(c.idleTimeout, 10, 'flag wins');
    assert.equal(c.heartbeat, 7, 'environment beats file');
    assert.equal(c.workers, 3, 'file beats default');
    assert.equal(c.tokenFile, 'f');
  });

  test('WSGATE_CONFIG names the file', () => {
    assert.equal(load([], { WSGATE_CONFIG: 'c.yaml' }, 'tokenFile: t\n').tokenFile, 't');
  });

  test('websockify positional forms', () => {
    const c = load(['127.0.0.1:6080', '10.0.0.5:5900']);
    assert.equal(c.listen, '127.0.0.1:6080');
    assert.equal(c.target, '10.0.0.5:5900');
    assert.equal(load(['6080', '[::1]:5900']).listen, '6080');
    assert.deepEqual(parseListen('6080'), { host: '0.0.0.0', port: 6080 });
  });

  test('websockify aliases: --target-config', () => {
    assert.equal(load(['--target-config', 'tokens.txt']).tokenFile, 'tokens.txt');
  });

  test('byte sizes and durations with units', () => {
    const c = load([
      '--token-file',
      't',
      '--max-message-bytes',
      '4MiB',
      '--drain-timeout',
      '2m',
      '--heartbeat',
      '500ms',
    ]);
    assert.equal(c.maxMessageBytes, 4 * 1024 * 1024);
    assert.equal(c.drainTimeout, 120);
    assert.equal(c.heartbeat, 0.5);
  });

  const errors: [string, string[], Record<string, string>, string | undefined, RegExp][] = [
    ['unknown flag', ['--bogus'], {}, undefined, /--bogus/],
    [
      'bad duration',
      ['--token-file', 't', '--idle-timeout', 'soon'],
      {},
      undefined,
      /^--idle-timeout: /,
    ],
    [
      'bad env duration',
      ['--token-file', 't'],
      { WSGATE_HEARTBEAT: 'x' },
      undefined,
      /^WSGATE_HEARTBEAT: /,
    ],
    [
      'workers below 1',
      ['--token-file', 't', '--workers', '0'],
      {},
      undefined,
      /^--workers: must be at least 1/,
    ],
    [
      'bad log level',
      ['--token-file', 't', '--log-level', 'loud'],
      {},
      undefined,
      /^--log-level: "loud" is not one of/,
    ],
    ['bad listen', ['--token-file', 't', '--listen', 'nowhere'], {}, undefined, /^--listen: /],
    [
      'port out of range',
      ['--token-file', 't', '--listen', '1.2.3.4:70000'],
      {},
      undefined,
      /^--listen: .*1-65535/,
    ],
    ['no token source', [], {}, undefined, /no token source/],
    [
      'both token file and target',
      ['--token-file', 't', '127.0.0.1:1', 'h:2'],
      {},
      undefined,
      /exclude each other/,
    ],
    [
      'unknown file key',
      ['--config', 'c'],
      {},
      'tokenFile: t\nlisten_port: 1\n',
      /unknown key "listen_port"/,
    ],
    [
      'file value of wrong type',
      ['--config', 'c'],
      {},
      'tokenFile: t\nworkers: many\n',
      /config key "workers"/,
    ],
    ['file not a mapping', ['--config', 'c'], {}, '- a\n', /mapping/],
    ['too many positionals', ['a:1', 'b:2', 'c:3'], {}, undefined, /unexpected argument "c:3"/],
    [
      'replay store without single use',
      ['--jwt-key', 'k', '--replay-store', 'redis://r:6379/0'],
      {},
      undefined,
      /^--replay-store needs --jwt-single-use/,
    ],
    [
      'replay store not Redis',
      ['--jwt-key', 'k', '--jwt-single-use', '--replay-store', 'memcached://r'],
      {},
      undefined,
      /^--replay-store: must be a redis:\/\/ or rediss:\/\/ URL/,
    ],
    [
      'replay store password in the URL',
      ['--jwt-key', 'k', '--jwt-single-use'],
      { WSGATE_REPLAY_STORE: 'redis://:pw@r/0' },
      undefined,
      /^--replay-store: put the password in --replay-store-password-file/,
    ],
    [
      'password file without a store',
      ['--jwt-key', 'k', '--jwt-single-use', '--replay-store-password-file', 'p'],
      {},
      undefined,
      /^--replay-store-password-file needs --replay-store/,
    ],
    [
      'CA for a plain redis:// store',
      [
        '--jwt-key',
        'k',
        '--jwt-single-use',
        '--replay-store',
        'redis://r',
        '--replay-store-ca',
        'c',
      ],
      {},
      undefined,
      /^--replay-store-ca needs a rediss:\/\/ --replay-store/,
    ],
    [
      'single-use window too long',
      ['--jwt-key', 'k', '--jwt-single-use-window', '2m'],
      {},
      undefined,
      /^--jwt-single-use-window: must be at most 60/,
    ],
  ];
  for (const [name, argv, env, file, message] of errors) {
    test(`rejects: ${name}`, () => {
      assert.throws(
        () => load(argv, env, file),
        (e: Error) => e instanceof ConfigError && message.test(e.message),
      );
    });
  }

  test('the shipped examples/proxy.yaml (npm start) is valid', () => {
    const path = new URL('../../../examples/proxy.yaml', import.meta.url).pathname;
    const c = loadConfig({ argv: ['--config', path], env: {} }).config;
    assert.equal(c.listen, '127.0.0.1:6080');
    assert.equal(c.tokenFile, 'examples/tokens.txt');
    assert.deepEqual(c.allowOrigin, ['http://127.0.0.1:8080', 'http://localhost:8080']);
    assert.equal(c.idleTimeout, 900);
  });

  test('--help and the README list every setting', () => {
    const help = helpText();
    const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
    for (const s of SETTINGS) {
      assert.ok(help.includes(`--${s.flag}`), `--help lists --${s.flag}`);
      assert.ok(readme.includes(`| \`--${s.flag}`), `README documents --${s.flag}`);
    }
  });
});

describe('addresses and durations', () => {
  test('parseHostPort', () => {
    assert.deepEqual(parseHostPort('h:1'), { host: 'h', port: 1 });
    assert.deepEqual(parseHostPort('[::1]:5900'), { host: '::1', port: 5900 });
    assert.equal(formatHostPort({ host: '::1', port: 5900 }), '[::1]:5900');
    for (const bad of ['h', ':1', 'h:0', 'h:x', '[::1]5900', '::1:5900']) {
      assert.throws(() => parseHostPort(bad), RangeError, bad);
    }
  });
  test('parseDuration', () => {
    assert.equal(parseDuration('1500ms'), 1.5);
    assert.equal(parseDuration('2h'), 7200);
    assert.equal(parseDuration('10'), 10);
    assert.equal(parseDuration(3), 3);
    assert.throws(() => parseDuration('-1s'), RangeError);
    assert.throws(() => parseDuration('1 week'), RangeError);
  });
});
