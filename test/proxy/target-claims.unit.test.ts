/**
 * The checks a target named inside a token goes through (tokens/target-claims.ts): the
 * host, port and tls claims of JWTs and oVirt tickets, the subject kept for the audit log,
 * Unix socket paths, token-file targets, and how a target is named in logs.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  auditSubject,
  parseTokenTarget,
  targetFrom,
  targetName,
  unixTargetFrom,
} from '../../proxy/src/tokens/target-claims.js';

describe('targetFrom: host', () => {
  const accepted: [string, string, string][] = [
    [
      'a hostname with dots, dashes and underscores',
      'vm-1.example_lab.test',
      'vm-1.example_lab.test',
    ],
    ['upper case letters and digits', 'HOST9', 'HOST9'],
    ['an IPv4 address', '192.0.2.10', '192.0.2.10'],
    ['an unbracketed IPv6 address with a zone', 'fe80::1%eth0', 'fe80::1%eth0'],
    ['a bracketed IPv6 address, brackets removed', '[fd00::5]', 'fd00::5'],
    ['a one-character host', 'h', 'h'],
    ['a host of 253 characters', 'a'.repeat(253), 'a'.repeat(253)],
  ];
  for (const [name, host, want] of accepted) {
    test(`accepts ${name}`, () => {
      assert.deepEqual(targetFrom(host, 5900), { host: want, port: 5900 });
    });
  }

  const refused: [string, unknown, string][] = [
    ['a number', 42, 'target host missing'],
    ['undefined', undefined, 'target host missing'],
    ['an empty string', '', 'target host invalid'],
    ['empty brackets', '[]', 'target host invalid'],
    ['a host of 254 characters', 'a'.repeat(254), 'target host invalid'],
    ['a leading space', ' host', 'target host invalid'],
    ['a trailing space', 'host ', 'target host invalid'],
    ['a slash', 'host/path', 'target host invalid'],
    ['a newline at the end', 'host\n', 'target host invalid'],
    ['an opening bracket only', '[fd00::5', 'target host invalid'],
    ['a closing bracket only', 'fd00::5]', 'target host invalid'],
  ];
  for (const [name, host, reason] of refused) {
    test(`refuses ${name} as host with "${reason}"`, () => {
      assert.equal(targetFrom(host, 5900), reason);
    });
  }
});

describe('targetFrom: port', () => {
  const accepted: [string, unknown, number][] = [
    ['the number 1', 1, 1],
    ['the number 65535', 65535, 65535],
    ['the decimal string "5900" (oVirt sends strings)', '5900', 5900],
    ['a five-digit string with a leading zero', '05900', 5900],
    ['the string "1"', '1', 1],
  ];
  for (const [name, port, want] of accepted) {
    test(`accepts ${name}`, () => {
      assert.deepEqual(targetFrom('h', port), { host: 'h', port: want });
    });
  }

  const refused: [string, unknown, string][] = [
    ['0', 0, 'target port out of range'],
    ['65536', 65536, 'target port out of range'],
    ['-1', -1, 'target port out of range'],
    ['1.5', 1.5, 'target port out of range'],
    ['NaN', NaN, 'target port out of range'],
    ['the string "0"', '0', 'target port out of range'],
    ['the string "65536"', '65536', 'target port out of range'],
    ['a six-digit string', '005900', 'target port missing or invalid'],
    ['an empty string', '', 'target port missing or invalid'],
    ['a string with a leading letter', 'x5900', 'target port missing or invalid'],
    ['a string with a trailing letter', '5900x', 'target port missing or invalid'],
    ['a string with a space', ' 5900', 'target port missing or invalid'],
    ['undefined', undefined, 'target port missing or invalid'],
    ['a boolean', true, 'target port missing or invalid'],
    ['an array holding a decimal string', ['5900'], 'target port missing or invalid'],
  ];
  for (const [name, port, reason] of refused) {
    test(`refuses port ${name} with "${reason}"`, () => {
      assert.equal(targetFrom('h', port), reason);
    });
  }
});

describe('targetFrom: tls', () => {
  test('tls true is kept on the target', () => {
    assert.deepEqual(targetFrom('h', 1, true), { host: 'h', port: 1, tls: true });
  });
  test('tls false and an absent tls leave no tls key on the target', () => {
    assert.deepEqual(targetFrom('h', 1, false), { host: 'h', port: 1 });
    assert.deepEqual(targetFrom('h', 1), { host: 'h', port: 1 });
  });
  test('a tls claim that is not a boolean is refused', () => {
    assert.equal(targetFrom('h', 1, 'true'), 'target tls flag invalid');
    assert.equal(targetFrom('h', 1, null), 'target tls flag invalid');
    assert.equal(targetFrom('h', 1, 1), 'target tls flag invalid');
  });
});

describe('auditSubject', () => {
  test('keeps printable strings of 1 to 256 characters', () => {
    assert.equal(auditSubject('a'), 'a');
    assert.equal(auditSubject('alice@example.com (ops)'), 'alice@example.com (ops)');
    assert.equal(auditSubject('x'.repeat(256)), 'x'.repeat(256));
    assert.equal(auditSubject(' ~'), ' ~');
    assert.equal(auditSubject('Grüße'), 'Grüße');
  });
  test('leaves out the empty string, 257 characters and non-strings', () => {
    assert.equal(auditSubject(''), undefined);
    assert.equal(auditSubject('x'.repeat(257)), undefined);
    assert.equal(auditSubject(7), undefined);
    assert.equal(auditSubject(undefined), undefined);
  });
  test('leaves out a subject holding NUL, a C0 control character or DEL anywhere', () => {
    for (const bad of ['a\u0000b', 'line\nforged', '\u001f', 'end\u007f', '\tstart']) {
      assert.equal(auditSubject(bad), undefined, JSON.stringify(bad));
    }
  });
});

describe('unixTargetFrom', () => {
  test('an absolute path is normalised into a unix target', () => {
    assert.deepEqual(unixTargetFrom('/run//vm/../consoles/x.sock'), {
      host: '',
      port: 0,
      unix: '/run/consoles/x.sock',
    });
  });
  test('a missing or empty path is "unix socket path missing"', () => {
    assert.equal(unixTargetFrom(undefined), 'unix socket path missing');
    assert.equal(unixTargetFrom(''), 'unix socket path missing');
    assert.equal(unixTargetFrom(['/run/x.sock']), 'unix socket path missing');
  });
  test('a relative path is "unix socket path must be absolute"', () => {
    assert.equal(unixTargetFrom('run/x.sock'), 'unix socket path must be absolute');
  });
  test('107 bytes are accepted, 108 bytes are "too long", counted in UTF-8 bytes', () => {
    const p107 = '/' + 'x'.repeat(106);
    assert.deepEqual(unixTargetFrom(p107), { host: '', port: 0, unix: p107 });
    assert.equal(unixTargetFrom('/' + 'x'.repeat(107)), 'unix socket path too long');
    // 1 + 2 * 54 = 109 bytes in 55 characters.
    assert.equal(unixTargetFrom('/' + 'é'.repeat(54)), 'unix socket path too long');
  });
  test('a path with a NUL byte or a colon is "unix socket path invalid"', () => {
    assert.equal(unixTargetFrom('/run/a\0b'), 'unix socket path invalid');
    assert.equal(unixTargetFrom('/run/a:b.sock'), 'unix socket path invalid');
  });
});

describe('parseTokenTarget', () => {
  test('host:port and [v6]:port, surrounding spaces trimmed', () => {
    assert.deepEqual(parseTokenTarget(' h.example:5901 '), { host: 'h.example', port: 5901 });
    assert.deepEqual(parseTokenTarget('[::1]:5900'), { host: '::1', port: 5900 });
  });
  test('unix_socket:/path, surrounding spaces trimmed', () => {
    assert.deepEqual(parseTokenTarget('  unix_socket:/run/x.sock\t'), {
      host: '',
      port: 0,
      unix: '/run/x.sock',
    });
  });
  test('a bad unix_socket path throws a RangeError quoting the value and the reason', () => {
    assert.throws(() => parseTokenTarget(' unix_socket:run/x.sock '), {
      name: 'RangeError',
      message: '"unix_socket:run/x.sock": unix socket path must be absolute',
    });
    assert.throws(() => parseTokenTarget('unix_socket:'), {
      name: 'RangeError',
      message: '"unix_socket:": unix socket path missing',
    });
  });
  test("a bad host:port throws the address parser's RangeError", () => {
    assert.throws(() => parseTokenTarget('h:0'), {
      name: 'RangeError',
      message: '"h:0": port must be 1-65535',
    });
  });
});

describe('targetName', () => {
  test('unix:<path> for a socket, host:port otherwise, IPv6 bracketed', () => {
    assert.equal(targetName({ host: '', port: 0, unix: '/run/x.sock' }), 'unix:/run/x.sock');
    assert.equal(targetName({ host: 'h', port: 1 }), 'h:1');
    assert.equal(targetName({ host: '::1', port: 5900 }), '[::1]:5900');
  });
});
