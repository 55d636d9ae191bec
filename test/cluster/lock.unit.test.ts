import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, describe, it } from 'node:test';
import { withLock } from './lock.js';
import { isRunning, startTimeOf } from './proc.js';

const dir = mkdtempSync(join(tmpdir(), 'wsgate-lock-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** The PID of a process that has already exited (and been reaped). */
function deadPid(): number {
  const res = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  return Number(res.stdout.toString());
}

describe('withLock', () => {
  it('runs callers one at a time', async () => {
    const path = join(dir, 'serial.lock');
    const events: string[] = [];
    const job = (name: string) =>
      withLock(path, name, 5_000, async () => {
        events.push(`${name} in`);
        await sleep(50);
        events.push(`${name} out`);
      });
    await Promise.all([job('a'), job('b')]);
    assert.deepEqual(events, ['a in', 'a out', 'b in', 'b out']);
    assert.equal(existsSync(path), false, 'the lock file is removed');
  });

  it('breaks a lock left by a process that has exited', async () => {
    const path = join(dir, 'stale.lock');
    writeFileSync(path, JSON.stringify({ pid: deadPid(), start: null }));
    assert.equal(await withLock(path, 'stale', 2_000, async () => 'ran'), 'ran');
  });

  it('gives up after its timeout while a live process holds the lock', async () => {
    const path = join(dir, 'held.lock');
    writeFileSync(path, JSON.stringify({ pid: process.pid, start: startTimeOf(process.pid) }));
    await assert.rejects(
      withLock(path, 'held', 300, async () => 'ran'),
      /timed out after 300 ms waiting for held/,
    );
    assert.match(readFileSync(path, 'utf8'), new RegExp(`"pid":${process.pid}`));
  });
});

describe('isRunning', () => {
  it('tells a live process from an exited one and from a recycled PID', () => {
    const start = startTimeOf(process.pid);
    assert.equal(isRunning({ pid: process.pid, start }), true);
    assert.equal(isRunning({ pid: deadPid(), start: null }), false);
    if (start !== null) assert.equal(isRunning({ pid: process.pid, start: `${start}0` }), false);
  });
});
