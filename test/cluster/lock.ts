import {
  mkdirSync,
  openSync,
  readFileSync,
  statSync,
  unlinkSync,
  writeSync,
  closeSync,
} from 'node:fs';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { isRunning, startTimeOf } from './proc.js';

interface Holder {
  readonly pid: number;
  readonly start: string | null;
}

const POLL_MS = 250;
/** A lock file that stays unreadable this long was left by a crash mid-write. */
const UNREADABLE_STALE_MS = 10_000;

function tryCreate(path: string, content: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'wx');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  try {
    writeSync(fd, content);
  } finally {
    closeSync(fd);
  }
  return true;
}

function readHolder(path: string): Holder | null {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Holder;
  } catch {
    return null;
  }
}

function ageMs(path: string): number {
  try {
    return Date.now() - statSync(path).mtimeMs;
  } catch {
    return 0;
  }
}

function isStale(path: string): boolean {
  const holder = readHolder(path);
  if (holder === null) return ageMs(path) > UNREADABLE_STALE_MS;
  return !isRunning(holder);
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Already removed by someone else.
  }
}

/**
 * Removes a lock whose holder died. A second lock file serialises the
 * removal, so two waiters cannot both decide the lock is stale and the slower
 * one delete the lock the faster one has just taken.
 */
function breakIfStale(path: string, me: string): void {
  const steal = `${path}.steal`;
  if (!tryCreate(steal, me)) {
    if (ageMs(steal) > UNREADABLE_STALE_MS) unlinkQuietly(steal);
    return;
  }
  try {
    if (isStale(path)) unlinkQuietly(path);
  } finally {
    unlinkQuietly(steal);
  }
}

/**
 * Runs `fn` while holding an exclusive lock file, so that concurrent callers
 * (two test files, or a test run and `npm run cluster:up`) take turns. A lock
 * left by a dead process is broken. Waits at most `timeoutMs`.
 */
export async function withLock<T>(
  path: string,
  what: string,
  timeoutMs: number,
  fn: () => Promise<T>,
): Promise<T> {
  mkdirSync(dirname(path), { recursive: true });
  const me = JSON.stringify({ pid: process.pid, start: startTimeOf(process.pid) });
  const deadline = Date.now() + timeoutMs;
  let told = false;
  while (!tryCreate(path, me)) {
    breakIfStale(path, me);
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (lock ${path})`);
    }
    if (!told) {
      const holder = readHolder(path);
      process.stderr.write(`waiting for ${what}: held by pid ${holder?.pid ?? '?'}\n`);
      told = true;
    }
    await sleep(POLL_MS);
  }
  try {
    return await fn();
  } finally {
    // Remove it only if it is still ours (it could have been broken as stale
    // if this process was stopped for a long time).
    try {
      if (readFileSync(path, 'utf8') === me) unlinkSync(path);
    } catch {
      // Gone already.
    }
  }
}
