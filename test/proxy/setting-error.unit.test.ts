/**
 * What a SettingError says (proxy/src/config/setting-error.ts), for the inputs the
 * watched-file tests do not reach: errors with only a path, non-errors, nothing at all.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  describeError,
  flagOf,
  SettingError,
  settingError,
} from '../../proxy/src/config/setting-error.js';

describe('describeError', () => {
  test('an error with a path but no code is not a failed read: its message', () =>
    assert.equal(
      describeError(Object.assign(new Error('bad PEM'), { path: '/k.pem' })),
      'bad PEM',
    ));
  test('undefined and null are spelled out, not a crash', () => {
    assert.equal(describeError(undefined), 'undefined');
    assert.equal(describeError(null), 'null');
  });
  test('a thrown string or number is itself', () => {
    assert.equal(describeError('no key'), 'no key');
    assert.equal(describeError(42), '42');
  });
});

describe('SettingError', () => {
  test('is named SettingError in stack traces and logs', () => {
    const e = new SettingError('--tls-cert', 'cannot read /c: EACCES');
    assert.equal(e.name, 'SettingError');
    assert.match(String(e), /^SettingError: --tls-cert: cannot read \/c: EACCES$/);
  });
  test('settingError of a thrown string names the setting and keeps the string as cause', () => {
    const e = settingError('jwtKey', 'oops');
    assert.equal(e.message, 'jwtKey: oops');
    assert.equal(e.setting, 'jwtKey');
    assert.equal(e.cause, 'oops');
  });
  test('flagOf: a setting that merely contains -- is still spelled as a flag', () =>
    assert.equal(flagOf('a--b'), '--a--b'));
});
