/**
 * The one file watcher (proxy/src/util/watched-file.ts) on real files in a temp dir, woken
 * by the real directory watch: a rewrite in place, an atomic rename over the file, a
 * Kubernetes `..data` symlink swap of a pair, and a broken rewrite that keeps the last
 * good value and is reported once. Every wait is for the watcher's own report, with a
 * deadline.
 */
import assert from 'node:assert/strict';
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { SettingError } from '../../proxy/src/config/setting-error.js';
import { filesSource, WatchedFile, type Reload } from '../../proxy/src/util/watched-file.js';
import { eventually } from '../helpers/proxy.js';
import { tempDir, writeSecretMount } from './tokens-fixtures.js';

const RELOAD_MS = 5000; // inotify answers in ~100 ms (debounced); the poll backs it up

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const dir = () => {
  const d = tempDir('wsgate-watched-');
  dirs.push(d);
  return d;
};

/** Parses "n=<number>" files; anything else is rejected. */
const parseNumbers = (contents: Buffer[]) =>
  contents.map((c) => {
    const m = /^n=(\d+)\n$/.exec(c.toString());
    if (!m) throw new Error('not "n=<number>"');
    return Number(m[1]);
  });

/** A WatchedFile over `paths` holding their numbers, recording every report. */
function watchNumbers(paths: string[], check?: (ns: number[]) => void) {
  const reloads: Reload<number[]>[] = [];
  const file = new WatchedFile<Buffer[], number[]>({
    setting: '--numbers',
    source: filesSource(
      paths,
      (path, e) =>
        new SettingError('--numbers', `cannot read ${path}: ${(e as NodeJS.ErrnoException).code}`),
    ),
    parse: (contents) => {
      const ns = parseNumbers(contents);
      check?.(ns);
      return ns;
    },
    onReload: (r) => reloads.push(r),
  });
  return { file, reloads };
}

describe('WatchedFile on real files', () => {
  test('a rewrite in place is installed and reported ok', async () => {
    const path = join(dir(), 'n');
    writeFileSync(path, 'n=1\n');
    const { file, reloads } = watchNumbers([path]);
    try {
      assert.deepEqual(file.value, [1]);
      writeFileSync(path, 'n=2\n');
      await eventually(() => reloads.length === 1, RELOAD_MS, 'the rewrite to be reported');
      assert.equal(reloads[0]!.result, 'ok');
      assert.deepEqual(reloads[0]!.value, [2]);
      assert.deepEqual(file.value, [2]);
    } finally {
      file.close();
    }
  });

  test('an atomic rename over the file (a new inode) is installed', async () => {
    const d = dir();
    const path = join(d, 'n');
    writeFileSync(path, 'n=1\n');
    const { file, reloads } = watchNumbers([path]);
    try {
      writeFileSync(join(d, 'n.tmp'), 'n=3\n');
      renameSync(join(d, 'n.tmp'), path);
      await eventually(() => reloads.length === 1, RELOAD_MS, 'the rename to be reported');
      assert.equal(reloads[0]!.result, 'ok');
      assert.deepEqual(file.value, [3]);
    } finally {
      file.close();
    }
  });

  test('a Kubernetes ..data swap of a pair is installed as one consistent pair', async () => {
    const mount = dir();
    writeSecretMount(mount, { a: 'n=1\n', b: 'n=1\n' });
    const pairs: number[][] = [];
    const { file, reloads } = watchNumbers([join(mount, 'a'), join(mount, 'b')], (ns) => {
      pairs.push(ns);
      if (ns[0] !== ns[1]) throw new Error(`mixed pair ${ns.join('/')}`);
    });
    try {
      writeSecretMount(mount, { a: 'n=2\n', b: 'n=2\n' });
      await eventually(() => reloads.length === 1, RELOAD_MS, 'the swap to be reported');
      assert.deepEqual(
        reloads.map((r) => r.result),
        ['ok'],
      );
      assert.deepEqual(file.value, [2, 2]);
      assert.deepEqual(pairs.at(-1), [2, 2]);
    } finally {
      file.close();
    }
  });

  test('a broken rewrite keeps the last good value and is reported once, with the setting', async () => {
    const path = join(dir(), 'n');
    writeFileSync(path, 'n=1\n');
    const { file, reloads } = watchNumbers([path]);
    try {
      writeFileSync(path, 'garbage\n');
      await eventually(() => reloads.length === 1, RELOAD_MS, 'the broken rewrite to be reported');
      const [r] = reloads;
      assert.equal(r!.result, 'error');
      assert.ok(r!.error instanceof SettingError);
      assert.equal(r!.error.setting, '--numbers');
      assert.match(r!.error.detail, /not "n=<number>"/);
      assert.deepEqual(r!.value, [1], 'the report says what stays in use');
      assert.deepEqual(file.value, [1], 'the last good value is kept');
      // A poll while the file stays broken: still an error, not reported again.
      assert.equal(file.check(), 'error');
      assert.equal(file.check(), 'error');
      assert.equal(reloads.length, 1);
      // A good rewrite recovers.
      writeFileSync(path, 'n=4\n');
      await eventually(() => reloads.length === 2, RELOAD_MS, 'the recovery to be reported');
      assert.equal(reloads[1]!.result, 'ok');
      assert.deepEqual(file.value, [4]);
    } finally {
      file.close();
    }
  });

  test('a deleted file keeps the last good value and reports the read error; the same content back is no reload', async () => {
    const path = join(dir(), 'n');
    writeFileSync(path, 'n=1\n');
    const { file, reloads } = watchNumbers([path]);
    try {
      rmSync(path);
      await eventually(() => reloads.length === 1, RELOAD_MS, 'the deletion to be reported');
      assert.equal(reloads[0]!.error?.message, `--numbers: cannot read ${path}: ENOENT`);
      assert.deepEqual(file.value, [1]);
      writeFileSync(path, 'n=1\n');
      // Proof the watcher had its chance: check() runs the same path the watcher does.
      await eventually(() => file.check() === 'unchanged', RELOAD_MS, 'the file to be back');
      assert.equal(reloads.length, 1, 'back to the content in use: nothing to report');
    } finally {
      file.close();
    }
  });

  test('at start, an unreadable or unparsable file throws a SettingError naming the setting', () => {
    const d = dir();
    assert.throws(() => watchNumbers([join(d, 'none')]), {
      name: 'SettingError',
      setting: '--numbers',
      message: `--numbers: cannot read ${join(d, 'none')}: ENOENT`,
    });
    writeFileSync(join(d, 'bad'), 'nope');
    assert.throws(() => watchNumbers([join(d, 'bad')]), {
      name: 'SettingError',
      setting: '--numbers',
      message: '--numbers: not "n=<number>"',
    });
  });
});
