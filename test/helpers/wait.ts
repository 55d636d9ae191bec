/**
 * The tests' one way to wait: `sleep` (a pause the test means), `waitFor` (poll until a
 * value turns up) and `within` (one promise, bounded). Every wait has a deadline and fails
 * with what it waited for, so a regression fails its test instead of hanging the run.
 */
import { setTimeout as delay } from 'node:timers/promises';

/** Resolves after `ms` milliseconds. */
export const sleep = (ms: number): Promise<void> => delay(ms);

/**
 * Polls `check` until it returns a non-undefined value, for at most `timeoutMs`. `check`
 * may throw; the last error is reported on timeout, with `what` saying what was awaited.
 */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined>,
  { timeoutMs = 30_000, intervalMs = 200 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  const maxTries = Math.ceil(timeoutMs / intervalMs) + 1;
  for (let i = 0; i < maxTries; i++) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() >= deadline) break;
    await sleep(intervalMs);
  }
  const why = last instanceof Error ? `: ${last.message}` : '';
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${why}`);
}

/**
 * Settles as `promise` does, or rejects with "timed out after N ms waiting for `what`"
 * once `timeoutMs` have passed. The timer never keeps the process alive.
 */
export function within<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)),
      timeoutMs,
    );
    timer.unref();
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/** How long an awaited process exit may take before the wait fails. */
export const EXIT_DEADLINE_MS = 60_000;

/**
 * A property whose every read is `promise` bounded from that moment by `timeoutMs`: for
 * "has it exited" promises of processes that legitimately run for long, so only an
 * actual wait is bounded. A read that nobody awaits (lost a race) rejects unobserved.
 */
export function boundedOnRead<T>(
  promise: Promise<T>,
  timeoutMs: number,
  what: string,
): () => Promise<T> {
  return () => {
    const bounded = within(promise, timeoutMs, what);
    bounded.catch(() => {}); // the reader that awaits it still gets the rejection
    return bounded;
  };
}
