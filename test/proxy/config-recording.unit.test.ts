/** The --record-* settings and `--switch=false`, through the one config loader. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError, loadConfig } from '../../proxy/src/config/load.js';

const load = (argv: string[], env: NodeJS.ProcessEnv = {}) =>
  loadConfig({ argv: ['--target', '127.0.0.1:5900', ...argv], env }).config;

describe('recording settings', () => {
  test('defaults: off, every session when on, input kept, no size or age limit', () => {
    const c = load([]);
    assert.equal(c.recordDir, undefined);
    assert.equal(c.recordWhen, 'always');
    assert.equal(c.recordInput, true);
    assert.equal(c.recordMaxBytes, 0);
    assert.equal(c.recordRetention, 0);
  });

  test('flags, environment and units', () => {
    const c = load(
      ['--record-dir', '/r', '--record-when', 'ticket', '--record-max-bytes', '64MiB'],
      { WSGATE_RECORD_RETENTION: '2h' },
    );
    assert.equal(c.recordDir, '/r');
    assert.equal(c.recordWhen, 'ticket');
    assert.equal(c.recordMaxBytes, 64 * 1024 * 1024);
    assert.equal(c.recordRetention, 7200);
    assert.equal(load(['--record-retention', '7d']).recordRetention, 7 * 86400);
  });

  test('--record-input=false, =0, =no, --no-record-input all turn input off; =true keeps it', () => {
    for (const arg of [
      '--record-input=false',
      '--record-input=0',
      '--record-input=no',
      '--no-record-input',
    ])
      assert.equal(load([arg]).recordInput, false, arg);
    assert.equal(load(['--record-input=true']).recordInput, true);
    assert.equal(load(['--allow-missing-origin=yes']).allowMissingOrigin, true);
  });

  test('bad values name the flag', () => {
    const bad: [string[], RegExp][] = [
      [['--record-input=maybe'], /--record-input: "maybe" is not true or false/],
      [['--record-when', 'sometimes'], /--record-when: "sometimes" is not one of always, ticket/],
      [['--record-max-bytes', '100'], /--record-max-bytes: must be 0 or at least 4096/],
      [['--record-retention', 'soon'], /--record-retention/],
    ];
    for (const [argv, message] of bad) {
      assert.throws(
        () => load(argv),
        (e: Error) => e instanceof ConfigError && message.test(e.message),
        argv.join(' '),
      );
    }
  });
});
