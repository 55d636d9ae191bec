import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

import { LineBatch, writeAllSync } from '../../lib/log.js';

const LOG_MODULE = fileURLToPath(new URL('../../lib/log.js', import.meta.url));

function collector() {
  const writes: string[] = [];
  return { writes, out: { write: (s: string) => writes.push(s) } };
}

test('LineBatch holds lines until minWrite characters, then hands them on as one write, in order', () => {
  const { writes, out } = collector();
  const batch = new LineBatch(out, { minWrite: 10, flushMs: 60_000 });
  batch.write('aaa\n');
  batch.write('bbb\n');
  assert.deepEqual(writes, []);
  batch.write('ccc\n');
  assert.deepEqual(writes, ['aaa\nbbb\nccc\n']);
  batch.write('d\n');
  batch.flush();
  batch.flush();
  assert.deepEqual(writes, ['aaa\nbbb\nccc\n', 'd\n'], 'flush hands on what is pending, once');
});

test('LineBatch: a line waits at most flushMs', async () => {
  const { writes, out } = collector();
  const batch = new LineBatch(out, { minWrite: 1 << 20, flushMs: 20 });
  batch.write('late\n');
  for (let i = 0; i < 50 && writes.length === 0; i++) await sleep(10);
  assert.deepEqual(writes, ['late\n']);
});

test('writeAllSync writes the whole text, multi-byte characters included', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wsgate-log-'));
  try {
    const file = join(dir, 'out');
    const fd = openSync(file, 'w');
    const text = 'é€😀 line\n'.repeat(5000);
    writeAllSync(fd, text);
    closeSync(fd);
    assert.equal(readFileSync(file, 'utf8'), text);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the batched stdout logger loses no line when the process exits right after logging', () => {
  // Lines below the batch size and no time for the flush timer: only the exit hook can
  // write them. A real process, so the real exit path runs.
  const script = `
    const { createLogger } = await import(${JSON.stringify(LOG_MODULE)});
    const logger = createLogger('info', undefined, { batch: true });
    for (let i = 0; i < 5; i++) logger.info({ i }, 'line');
    process.exit(0);
  `;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    encoding: 'utf8',
    timeout: 20_000,
  });
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { i: number; msg: string });
  assert.deepEqual(
    lines.map((l) => l.i),
    [0, 1, 2, 3, 4],
  );
  assert.ok(lines.every((l) => l.msg === 'line'));
});
