/**
 * `--allow-unix-dir` (proxy/src/policy/unix-dirs.ts) against a real temporary directory
 * (no sockets needed: the policy only resolves paths): what is inside, what a symlink or
 * `..` leads to, and the exact refusals. Fast enough for the mutation run.
 */
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { inside, UnixDirPolicy } from '../../proxy/src/policy/unix-dirs.js';
import { tempDir } from './tokens-fixtures.js';

describe('inside()', () => {
  const cases: [string, string, boolean][] = [
    ['/a/b', '/a/b/c', true],
    ['/a/b', '/a/b/c/d', true],
    ['/a/b', '/a/b', false],
    ['/a/b', '/a/bc', false],
    ['/a/b', '/a', false],
    ['/a/b', '/a/c/b', false],
    ['/a/b', '/', false],
  ];
  for (const [dir, path, expected] of cases) {
    test(`${path} ${expected ? 'is' : 'is not'} inside ${dir}`, () =>
      assert.equal(inside(dir, path), expected));
  }
});

let root: string;
/** The allowed directory's real path, with `vm.sock` (a plain file will do) inside. */
let allowed: string;
/** A symlink to `allowed`, given as the directory in some tests. */
let link: string;
let outside: string;

before(() => {
  root = tempDir('wsgate-unix-dirs-');
  allowed = join(root, 'allowed');
  outside = join(root, 'outside');
  mkdirSync(allowed);
  mkdirSync(outside);
  writeFileSync(join(allowed, 'vm.sock'), '');
  writeFileSync(join(outside, 'secret.sock'), '');
  symlinkSync(join(outside, 'secret.sock'), join(allowed, 'escape.sock'));
  symlinkSync(join(allowed, 'vm.sock'), join(allowed, 'alias.sock'));
  link = join(root, 'link');
  symlinkSync(allowed, link);
});
after(() => rmSync(root, { recursive: true, force: true }));

describe('UnixDirPolicy: the directories', () => {
  test('keeps every directory as its real path, in order', () => {
    const p = new UnixDirPolicy([link, outside]);
    assert.deepEqual(p.dirs, [allowed, outside]);
  });

  test('a relative directory is refused, naming it', () =>
    assert.throws(
      () => new UnixDirPolicy([allowed, 'run/vms']),
      (e: Error) => e instanceof RangeError && e.message === '"run/vms" must be an absolute path',
    ));

  test('a missing directory is refused with its errno, naming it', () => {
    const missing = join(root, 'nope');
    assert.throws(
      () => new UnixDirPolicy([missing]),
      (e: Error) =>
        e instanceof RangeError &&
        e.message === `"${missing}": ENOENT` &&
        (e.cause as NodeJS.ErrnoException).code === 'ENOENT',
    );
  });

  test('no directories: every path is refused', async () => {
    assert.deepEqual(await new UnixDirPolicy([]).check(join(allowed, 'vm.sock')), {
      ok: false,
      reason: `${join(allowed, 'vm.sock')} is not under --allow-unix-dir`,
    });
  });
});

describe('UnixDirPolicy.check', () => {
  test('a socket inside: allowed, with its real path', async () =>
    assert.deepEqual(await new UnixDirPolicy([allowed]).check(join(allowed, 'vm.sock')), {
      ok: true,
      path: join(allowed, 'vm.sock'),
    }));

  test('a path outside: refused, naming the path as given', async () => {
    const path = join(outside, 'secret.sock');
    assert.deepEqual(await new UnixDirPolicy([allowed]).check(path), {
      ok: false,
      reason: `${path} is not under --allow-unix-dir`,
    });
  });

  test('a missing path outside is refused as outside: its errno is not told', async () => {
    const path = join(outside, 'gone.sock');
    assert.deepEqual(await new UnixDirPolicy([allowed]).check(path), {
      ok: false,
      reason: `${path} is not under --allow-unix-dir`,
    });
  });

  test('the directory itself is not a socket inside it', async () =>
    assert.equal((await new UnixDirPolicy([allowed]).check(allowed)).ok, false));

  test('.. out of the directory is refused before the filesystem is asked', async () => {
    const path = `${allowed}/../outside/secret.sock`;
    assert.deepEqual(await new UnixDirPolicy([allowed]).check(path), {
      ok: false,
      reason: `${path} is not under --allow-unix-dir`,
    });
  });

  test('.. that stays inside is allowed: resolved lexically, even through a missing directory', async () =>
    assert.deepEqual(await new UnixDirPolicy([allowed]).check(`${allowed}/sub/../vm.sock`), {
      ok: true,
      path: join(allowed, 'vm.sock'),
    }));

  test('a symlink inside that leads outside: refused, naming the path as given', async () => {
    const path = join(allowed, 'escape.sock');
    assert.deepEqual(await new UnixDirPolicy([allowed]).check(path), {
      ok: false,
      reason: `${path} is not under --allow-unix-dir`,
    });
  });

  test('a symlink inside that leads inside: allowed, with the real path', async () =>
    assert.deepEqual(await new UnixDirPolicy([allowed]).check(join(allowed, 'alias.sock')), {
      ok: true,
      path: join(allowed, 'vm.sock'),
    }));

  test('a missing socket inside: refused with its errno as reason and code', async () => {
    const path = join(allowed, 'gone.sock');
    assert.deepEqual(await new UnixDirPolicy([allowed]).check(path), {
      ok: false,
      reason: `${path}: ENOENT`,
      code: 'ENOENT',
    });
  });

  test('a directory given through a symlink: a path spelled through the symlink is allowed', async () =>
    assert.deepEqual(await new UnixDirPolicy([link]).check(join(link, 'vm.sock')), {
      ok: true,
      path: join(allowed, 'vm.sock'),
    }));

  test('a directory given through a symlink: a path spelled by the real directory is allowed', async () =>
    assert.deepEqual(await new UnixDirPolicy([link]).check(join(allowed, 'vm.sock')), {
      ok: true,
      path: join(allowed, 'vm.sock'),
    }));

  test('a directory given with a trailing slash and ..: resolved, paths inside allowed', async () =>
    assert.equal(
      (await new UnixDirPolicy([`${outside}/../allowed/`]).check(join(allowed, 'vm.sock'))).ok,
      true,
    ));

  test('any one of several directories will do', async () => {
    const p = new UnixDirPolicy([outside, allowed]);
    assert.equal((await p.check(join(allowed, 'vm.sock'))).ok, true);
    assert.equal((await p.check(join(outside, 'secret.sock'))).ok, true);
  });
});
