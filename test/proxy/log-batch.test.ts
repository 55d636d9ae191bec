import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

import { pino } from 'pino';

import { DeferredCalls, LineBatch, writeAllSync } from '../../lib/log.js';

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

test('LineBatch with flushMs 0 has no timer: lines wait for flush', async () => {
  const { writes, out } = collector();
  const batch = new LineBatch(out, { minWrite: 1 << 20, flushMs: 0 });
  batch.write('kept\n');
  await sleep(50);
  assert.deepEqual(writes, []);
  batch.flush();
  assert.deepEqual(writes, ['kept\n']);
});

test('LineBatch.hold keeps every line: nothing starts a write at exit', () => {
  const { writes, out } = collector();
  const batch = new LineBatch(out, { minWrite: 4, flushMs: 60_000 });
  batch.hold();
  batch.write('12345\n');
  batch.flush();
  assert.deepEqual(writes, []);
});

test('DeferredCalls: calls are formatted on replay, in order, each with the time it was made', async () => {
  const lines: string[] = [];
  const deferred = new DeferredCalls({ flushMs: 60_000, maxCalls: 1000 });
  const log = pino(
    { level: 'info', base: null, timestamp: deferred.timestamp, hooks: deferred.hooks },
    { write: (s: string) => lines.push(s) },
  );
  const child = log.child({ conn: 'c1' });
  log.info({ n: 1 }, 'first');
  await sleep(30);
  child.warn('second');
  log.debug('below the level');
  assert.deepEqual(lines, [], 'nothing is formatted before the replay');
  deferred.replay();
  const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.deepEqual(
    parsed.map(({ msg, n, conn }) => ({ msg, n, conn })),
    [
      { msg: 'first', n: 1, conn: undefined },
      { msg: 'second', n: undefined, conn: 'c1' },
    ],
  );
  const [a, b] = parsed.map((l) => l.time as number);
  assert.ok(b! - a! >= 25, `times ${a} and ${b} are the calls', not the replay's`);
  deferred.replay();
  assert.equal(lines.length, 2, 'a replay formats each call once');
});

test('DeferredCalls replays by itself once maxCalls wait, and on its timer', async () => {
  const lines: string[] = [];
  const deferred = new DeferredCalls({ flushMs: 20, maxCalls: 3 });
  let ticks = 0;
  deferred.onTick = () => ticks++;
  const log = pino(
    { timestamp: deferred.timestamp, hooks: deferred.hooks },
    { write: (s: string) => lines.push(s) },
  );
  log.info('1');
  log.info('2');
  assert.equal(lines.length, 0);
  log.info('3');
  assert.equal(lines.length, 3);
  log.info('4');
  for (let i = 0; i < 50 && lines.length < 4; i++) await sleep(10);
  assert.equal(lines.length, 4);
  assert.ok(ticks > 0);
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
  // Calls not yet formatted, lines below the batch size, no time for the timers: only the
  // exit hooks can write them. A real process, so the real exit path runs.
  const script = `
    const { createLogger } = await import(${JSON.stringify(LOG_MODULE)});
    const logger = createLogger('info', undefined, { batch: true });
    for (let i = 0; i < 5; i++) logger.info({ i }, 'line');
    const t = Date.now();
    while (Date.now() < t + 30);
    logger.info({ i: 5 }, 'line');
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
    [0, 1, 2, 3, 4, 5],
  );
  assert.ok(lines.every((l) => l.msg === 'line'));
  const times = lines.map((l) => (l as unknown as { time: number }).time);
  assert.ok(times[5]! - times[4]! >= 30, `each line keeps its call's time: ${times.join(', ')}`);
});
