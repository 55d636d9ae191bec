/**
 * The pure parts of websockify token files (tokens/file.ts): parsing one file's text,
 * judging one file's bytes, and merging readings over the last good entries.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import {
  judgeTokenFile,
  mergeReadings,
  parseTokenFile,
  type FileReading,
} from '../../proxy/src/tokens/file.js';
import type { Target } from '../../proxy/src/tokens/types.js';

const entries = (m: Map<string, Target> | undefined) => m && Object.fromEntries(m);

describe('parseTokenFile', () => {
  test('a token may hold ":" when ": " separates it from the target', () => {
    assert.deepEqual(entries(parseTokenFile('ns:vm: h:1').tokens), {
      'ns:vm': { host: 'h', port: 1 },
    });
  });
  test('spaces around the token and the target are trimmed', () => {
    assert.deepEqual(entries(parseTokenFile('  vm :   h:1  \n\tb\t:h:2').tokens), {
      vm: { host: 'h', port: 1 },
      b: { host: 'h', port: 2 },
    });
  });
  test('a comment may be indented; a line starting with "#" is never an entry', () => {
    const parsed = parseTokenFile('   # vm: h:1\n#x: h:2\nvm: h:3');
    assert.deepEqual(entries(parsed.tokens), { vm: { host: 'h', port: 3 } });
    assert.deepEqual(parsed.problems, []);
  });
  test('a unix_socket target is read as a socket path', () => {
    assert.deepEqual(entries(parseTokenFile('vm: unix_socket:/run/vm.sock').tokens), {
      vm: { host: '', port: 0, unix: '/run/vm.sock' },
    });
  });
  test('a line without ":" and one with an empty token are problems at their 1-based line', () => {
    const parsed = parseTokenFile('a: h:1\nlonely\n: h:2\n:h:3\n');
    assert.deepEqual(entries(parsed.tokens), { a: { host: 'h', port: 1 } });
    assert.deepEqual(parsed.problems, [
      { line: 2, message: 'expected "token: host:port"' },
      { line: 3, message: 'expected "token: host:port"' },
      { line: 4, message: 'expected "token: host:port"' },
    ]);
  });
  test('a bad target is reported with the value replaced by "target"', () => {
    const parsed = parseTokenFile('vm: unix_socket:run/x.sock\r\nw: secret-host:0\r\n');
    assert.deepEqual(parsed.problems, [
      { line: 1, message: 'target: unix socket path must be absolute' },
      { line: 2, message: 'target: port must be 1-65535' },
    ]);
    for (const p of parsed.problems) assert.ok(!p.message.includes('secret-host'));
  });
  test('entries are added to the map passed in, which is returned', () => {
    const into = new Map<string, Target>([['old', { host: 'o', port: 9 }]]);
    const parsed = parseTokenFile('new: n:1', into);
    assert.equal(parsed.tokens, into);
    assert.deepEqual(entries(into), { old: { host: 'o', port: 9 }, new: { host: 'n', port: 1 } });
  });
  test('without a map, each call starts from an empty one', () => {
    parseTokenFile('first: h:1');
    assert.deepEqual(entries(parseTokenFile('second: h:2').tokens), {
      second: { host: 'h', port: 2 },
    });
  });
});

describe('judgeTokenFile', () => {
  const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('base64');

  test('a valid file: its entries, no problems, and the SHA-256 of its bytes as print', () => {
    const bytes = Buffer.from('a: h:1\n');
    assert.deepEqual(judgeTokenFile('/t', bytes), {
      file: '/t',
      print: sha(bytes),
      tokens: new Map([['a', { host: 'h', port: 1 }]]),
      problems: [],
    });
  });
  test('an empty file is valid and installs an empty table', () => {
    const r = judgeTokenFile('/t', new Uint8Array());
    assert.deepEqual(r.tokens, new Map());
    assert.deepEqual(r.problems, []);
  });
  test('a NUL byte rejects the file, naming it and why', () => {
    const bytes = Buffer.from('a: h:1\n\0');
    assert.deepEqual(judgeTokenFile('/t', bytes), {
      file: '/t',
      print: sha(bytes),
      problems: [{ file: '/t', message: 'not a text file (NUL byte or invalid UTF-8)' }],
    });
  });
  test('invalid UTF-8 rejects the file with the same message', () => {
    const bytes = Buffer.from([0x61, 0x3a, 0x20, 0x68, 0x3a, 0x31, 0x0a, 0xff]);
    assert.deepEqual(judgeTokenFile('/t', bytes).problems, [
      { file: '/t', message: 'not a text file (NUL byte or invalid UTF-8)' },
    ]);
    assert.equal(judgeTokenFile('/t', bytes).tokens, undefined);
  });
  test('only bad lines: rejected, each problem with its file and line', () => {
    const r = judgeTokenFile('/t', Buffer.from('lonely\nvm: h:0\n'));
    assert.equal(r.tokens, undefined);
    assert.deepEqual(r.problems, [
      { file: '/t', line: 1, message: 'expected "token: host:port"' },
      { file: '/t', line: 2, message: 'target: port must be 1-65535' },
    ]);
  });
  test('valid entries and a bad line: the entries are installed and the line reported', () => {
    const r = judgeTokenFile('/t', Buffer.from('a: h:1\nlonely\n'));
    assert.deepEqual(r.tokens, new Map([['a', { host: 'h', port: 1 }]]));
    assert.deepEqual(r.problems, [{ file: '/t', line: 2, message: 'expected "token: host:port"' }]);
  });
  test('different bytes give different prints, equal bytes equal ones', () => {
    const a = judgeTokenFile('/t', Buffer.from('a: h:1\n')).print;
    assert.equal(judgeTokenFile('/t', Buffer.from('a: h:1\n')).print, a);
    assert.notEqual(judgeTokenFile('/t', Buffer.from('a: h:2\n')).print, a);
  });
});

describe('mergeReadings', () => {
  const t = (port: number): Target => ({ host: 'h', port });
  const ok = (file: string, tokens: [string, number][]): FileReading => ({
    file,
    print: file,
    tokens: new Map(tokens.map(([k, p]) => [k, t(p)])),
    problems: [],
  });
  const rejected = (file: string, message: string): FileReading => ({
    file,
    print: file,
    problems: [{ file, message }],
  });

  test('no readings: an empty table', () => {
    assert.deepEqual(mergeReadings([]), {
      byFile: new Map(),
      tokens: new Map(),
      problems: [],
      kept: [],
    });
  });
  test('every reading contributes its entries by file, problems in order, rejected files kept', () => {
    const withProblem: FileReading = {
      ...ok('/d/b', [['b', 2]]),
      problems: [{ file: '/d/b', line: 3, message: 'x' }],
    };
    const previous = new Map([['/d/c', new Map([['c', t(3)]])]]);
    const table = mergeReadings(
      [ok('/d/a', [['a', 1]]), withProblem, rejected('/d/c', 'EACCES'), rejected('/d/d', 'y')],
      previous,
    );
    assert.deepEqual(table, {
      byFile: new Map([
        ['/d/a', new Map([['a', t(1)]])],
        ['/d/b', new Map([['b', t(2)]])],
        ['/d/c', new Map([['c', t(3)]])],
      ]),
      tokens: new Map([
        ['a', t(1)],
        ['b', t(2)],
        ['c', t(3)],
      ]),
      problems: [
        { file: '/d/b', line: 3, message: 'x' },
        { file: '/d/c', message: 'EACCES' },
        { file: '/d/d', message: 'y' },
      ],
      kept: ['/d/c', '/d/d'],
    });
  });
  test('a file read again replaces its previous entries rather than adding to them', () => {
    const previous = new Map([['/t', new Map([['old', t(1)]])]]);
    const table = mergeReadings([ok('/t', [['new', 2]])], previous);
    assert.deepEqual(table.tokens, new Map([['new', t(2)]]));
    assert.deepEqual(table.kept, []);
  });
});
