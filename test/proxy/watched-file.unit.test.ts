/**
 * The pure parts of the one file watcher (proxy/src/util/watched-file.ts) and of the
 * errors it raises (proxy/src/config/setting-error.ts): deciding what a reading calls
 * for, when a failure is reported, reading a set of files consistently (with the file
 * system played by a table, so a swap can land exactly between two reads).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  describeError,
  flagOf,
  SettingError,
  settingError,
} from '../../proxy/src/config/setting-error.js';
import {
  classify,
  filesSource,
  isNewFailure,
  printOf,
  readConsistently,
  WatchedFile,
  type FileIo,
  type Reload,
  type SeenState,
  type Source,
} from '../../proxy/src/util/watched-file.js';

const state = (s: Partial<SeenState>): SeenState => ({
  stamp: undefined,
  seen: 'A',
  installed: 'A',
  failing: false,
  ...s,
});

describe('classify', () => {
  const cases: [string, SeenState, string, ReturnType<typeof classify>][] = [
    ['the content in use, again', state({}), 'A', 'unchanged'],
    ['new content', state({}), 'B', 'new'],
    ['the rejected content, again', state({ seen: 'B', failing: true }), 'B', 'unchanged'],
    [
      'back to the content in use after a rejection',
      state({ seen: 'B', failing: true }),
      'A',
      'restored',
    ],
    ['back after a failed read', state({ seen: 'error:x', failing: true }), 'A', 'restored'],
    ['other new content after a rejection', state({ seen: 'B', failing: true }), 'C', 'new'],
  ];
  for (const [name, s, print, want] of cases) {
    test(name, () => assert.equal(classify(s, print), want));
  }
});

describe('isNewFailure', () => {
  test('the first failure is reported', () => {
    assert.equal(isNewFailure(state({}), 'B'), true);
  });
  test('the same failure seen last is not reported again (a poll while the file stays bad)', () => {
    assert.equal(isNewFailure(state({ seen: 'B', failing: true }), 'B'), false);
  });
  test('another failure is reported', () => {
    assert.equal(isNewFailure(state({ seen: 'B', failing: true }), 'error:ENOENT'), true);
  });
  test('content that once failed, then good content, then the same failure: reported again', () => {
    assert.equal(isNewFailure(state({ seen: 'A', installed: 'A', failing: false }), 'B'), true);
  });
});

/** A file system as a table; `onRead` may change it between reads, as a swap would. */
function tableIo(
  files: Map<string, { gen: number; content: string }>,
  onRead: (path: string, reads: number) => void = () => {},
): FileIo & { reads: string[] } {
  const reads: string[] = [];
  return {
    reads,
    stamp: (p) => {
      const f = files.get(p);
      return f ? `gen${f.gen}` : 'missing:ENOENT';
    },
    read(p) {
      reads.push(p);
      const f = files.get(p);
      if (!f) throw Object.assign(new Error('no such file'), { code: 'ENOENT', path: p });
      const content = Buffer.from(f.content);
      onRead(p, reads.length);
      return content;
    },
  };
}

/** Both files of a Secret at generation `gen`. */
const secret = (gen: number) =>
  new Map([
    ['tls.crt', { gen, content: `cert ${gen}` }],
    ['tls.key', { gen, content: `key ${gen}` }],
  ]);

describe('readConsistently', () => {
  test('a set that does not move is read once', () => {
    const io = tableIo(secret(1));
    const got = readConsistently(['tls.crt', 'tls.key'], io);
    assert.deepEqual(got.map(String), ['cert 1', 'key 1']);
    assert.deepEqual(io.reads, ['tls.crt', 'tls.key']);
  });

  test('a swap between the certificate and the key is read again: never a mixed pair', () => {
    const files = secret(1);
    const io = tableIo(files, (path, n) => {
      // The kubelet swaps ..data right after the first read of the certificate.
      if (path === 'tls.crt' && n === 1) for (const [k, v] of secret(2)) files.set(k, v);
    });
    const got = readConsistently(['tls.crt', 'tls.key'], io);
    assert.deepEqual(got.map(String), ['cert 2', 'key 2']);
    assert.equal(io.reads.length, 4, 'read twice');
  });

  test('a set that keeps moving is returned after the last attempt (the next change wakes the watcher)', () => {
    const files = secret(1);
    let gen = 1;
    const io = tableIo(files, (path) => {
      if (path === 'tls.key') for (const [k, v] of secret(++gen)) files.set(k, v);
    });
    readConsistently(['tls.crt', 'tls.key'], io, 3);
    assert.equal(io.reads.length, 6, 'three attempts, no more');
  });

  test('a file that cannot be read throws', () => {
    const io = tableIo(new Map([['tls.crt', { gen: 1, content: 'c' }]]));
    assert.throws(() => readConsistently(['tls.crt', 'tls.key'], io), { code: 'ENOENT' });
  });
});

describe('filesSource', () => {
  test('a failed read becomes the SettingError `describe` gives, naming the file', () => {
    const io = tableIo(new Map([['cert', { gen: 1, content: 'c' }]]));
    const source = filesSource(
      ['cert', 'key'],
      (path, e) => new SettingError(`--${path}`, `cannot read: ${(e as { code: string }).code}`),
      io,
    );
    assert.throws(() => source.read(), {
      name: 'SettingError',
      setting: '--key',
      message: '--key: cannot read: ENOENT',
    });
  });

  test('the stamp covers every file and never throws', () => {
    const files = secret(1);
    const source = filesSource(
      ['tls.crt', 'tls.key'],
      () => new SettingError('x', 'y'),
      tableIo(files),
    );
    const first = source.stamp!();
    files.set('tls.key', { gen: 2, content: 'key 2' });
    assert.notEqual(source.stamp!(), first);
    files.delete('tls.key');
    assert.match(source.stamp!(), /missing:ENOENT/);
  });
});

describe('printOf', () => {
  test('equal contents, equal prints; bytes moved between files change it', () => {
    const b = (s: string) => Buffer.from(s);
    assert.equal(printOf([b('ab'), b('c')]), printOf([b('ab'), b('c')]));
    assert.notEqual(printOf([b('ab'), b('c')]), printOf([b('a'), b('bc')]));
  });
});

describe('SettingError', () => {
  test('carries the setting and the detail as fields; the message joins them', () => {
    const e = new SettingError('jwtKey', '/k.pem: file not found');
    assert.equal(e.setting, 'jwtKey');
    assert.equal(e.detail, '/k.pem: file not found');
    assert.equal(e.message, 'jwtKey: /k.pem: file not found');
    assert.ok(e instanceof TypeError, 'a TypeError, as the option checks always threw');
  });

  test('settingError keeps a SettingError (its setting is the more precise one)', () => {
    const own = new SettingError('--tls-key', 'cannot read /k: EACCES');
    assert.equal(settingError('--tls-cert', own), own);
  });

  test('settingError names other errors after the setting given', () => {
    const read = Object.assign(new Error('ENOENT: no such file'), { code: 'ENOENT', path: '/ca' });
    const e = settingError('--target-ca', read);
    assert.equal(e.message, '--target-ca: cannot read /ca: ENOENT');
    assert.equal(e.cause, read);
    assert.equal(
      settingError('--record-dir', new TypeError('/r is not a directory')).detail,
      '/r is not a directory',
    );
  });

  test('describeError: a failed read says path and code, anything else its message', () => {
    assert.equal(
      describeError(Object.assign(new Error('x'), { code: 'EACCES', path: '/p' })),
      'cannot read /p: EACCES',
    );
    assert.equal(describeError(Object.assign(new Error('x'), { code: 'EACCES' })), 'x');
    assert.equal(describeError('text'), 'text');
  });

  test('flagOf: an option key is spelled as its flag, a flag stays', () => {
    assert.equal(flagOf('jwtKey'), '--jwt-key');
    assert.equal(flagOf('ovirtCert'), '--ovirt-cert');
    assert.equal(flagOf('--tls-cert/--tls-key'), '--tls-cert/--tls-key');
  });
});

/**
 * A source played from a script: `content` is what the file holds (undefined: unreadable),
 * `stamp` moves with every change. With `watch: false` nothing touches the disk.
 */
function scripted(initial: string | undefined) {
  let content = initial;
  let version = 0;
  const source: Source<string> = {
    paths: [],
    stamp: () => `v${version}`,
    read() {
      if (content === undefined) {
        throw Object.assign(new Error('ENOENT: gone'), { code: 'ENOENT', path: '/f' });
      }
      return { data: content, print: content };
    },
  };
  const set = (next: string | undefined) => {
    content = next;
    version++;
  };
  return { source, set };
}

/** Values are the text, uppercased; text starting with "bad" is rejected; "warn" installs with problems. */
function scriptedFile(initial: string | undefined) {
  const { source, set } = scripted(initial);
  const reloads: Reload<string>[] = [];
  const file = new WatchedFile<string, string>({
    setting: 'someKey',
    source,
    parse: (text) => {
      if (text.startsWith('bad')) throw new RangeError(`cannot parse ${text.length} bytes`);
      return text.toUpperCase();
    },
    judge: (value) => (value.startsWith('WARN') ? 'error' : 'ok'),
    onReload: (r) => reloads.push(r),
    watch: false,
  });
  return { file, set, reloads };
}

describe('WatchedFile.check (scripted source, no I/O)', () => {
  test('an unchanged stamp is not read, and nothing is reported', () => {
    const { file, reloads } = scriptedFile('a');
    assert.equal(file.check(), 'unchanged');
    assert.equal(file.value, 'A');
    assert.deepEqual(reloads, []);
  });

  test('new content is installed and reported ok, once', () => {
    const { file, set, reloads } = scriptedFile('a');
    set('b');
    assert.equal(file.check(), 'reloaded');
    assert.equal(file.check(), 'unchanged');
    assert.deepEqual(reloads, [{ result: 'ok', value: 'B' }]);
  });

  test('a rewrite with the same bytes (a new inode) is no reload', () => {
    const { file, set, reloads } = scriptedFile('a');
    set('a');
    assert.equal(file.check(), 'unchanged');
    assert.deepEqual(reloads, []);
  });

  test('rejected content keeps the last good value; the error carries the setting; reported once', () => {
    const { file, set, reloads } = scriptedFile('a');
    set('bad one');
    assert.equal(file.check(), 'error');
    assert.equal(file.check(), 'error', 'still rejected on the next poll');
    assert.equal(file.value, 'A');
    assert.equal(reloads.length, 1);
    const [r] = reloads;
    assert.equal(r!.result, 'error');
    assert.equal(r!.value, 'A');
    assert.ok(r!.error instanceof SettingError);
    assert.equal(r!.error.setting, 'someKey');
    assert.equal(r!.error.message, 'someKey: cannot parse 7 bytes');
    assert.ok(r!.error.cause instanceof RangeError);
  });

  test('another bad version is reported again', () => {
    const { file, set, reloads } = scriptedFile('a');
    set('bad one');
    file.check();
    set('bad two');
    assert.equal(file.check(), 'error');
    assert.equal(reloads.length, 2);
  });

  test('back to the content in use after a rejection: no reload, no report', () => {
    const { file, set, reloads } = scriptedFile('a');
    set('bad');
    file.check();
    set('a');
    assert.equal(file.check(), 'unchanged');
    assert.equal(reloads.length, 1, 'only the rejection');
  });

  test('an unreadable file is reported once with "cannot read", and recovers', () => {
    const { file, set, reloads } = scriptedFile('a');
    set(undefined);
    assert.equal(file.check(), 'error');
    set(undefined);
    assert.equal(file.check(), 'error', 'read again: the stamp of a missing file says little');
    assert.equal(reloads.length, 1);
    assert.equal(reloads[0]!.error?.message, 'someKey: cannot read /f: ENOENT');
    set('c');
    assert.equal(file.check(), 'reloaded');
    assert.equal(file.value, 'C');
  });

  test('content installed with problems is reported as an error, yet in use', () => {
    const { file, set, reloads } = scriptedFile('a');
    set('warn: a line skipped');
    assert.equal(file.check(), 'reloaded');
    assert.equal(file.value, 'WARN: A LINE SKIPPED');
    assert.deepEqual(reloads, [{ result: 'error', value: 'WARN: A LINE SKIPPED' }]);
  });

  test('at start, unreadable or rejected content throws a SettingError naming the setting', () => {
    assert.throws(() => scriptedFile(undefined), {
      name: 'SettingError',
      setting: 'someKey',
      message: 'someKey: cannot read /f: ENOENT',
    });
    assert.throws(() => scriptedFile('bad'), {
      setting: 'someKey',
      detail: 'cannot parse 3 bytes',
    });
  });
});
