/**
 * Bounded polling for what the end-to-end tests can only observe by asking again (a
 * canvas, QEMU's screen, spice-html5's channel states): one loop, so that every such
 * wait reads at least once, stops at its deadline and fails with what it saw last.
 */

import { sleep } from './wait.js';

export interface PollOptions<T> {
  timeoutMs: number;
  intervalMs: number;
  /** The error to throw at the deadline, given the last reading. */
  fail(last: T): Error | Promise<Error>;
}

/**
 * Calls `read` every `intervalMs` until `done` holds for what it returned, and resolves
 * with that; rejects with `fail(last reading)` once `timeoutMs` have passed.
 */
export async function pollUntil<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean | Promise<boolean>,
  opts: PollOptions<T>,
): Promise<T> {
  const deadline = Date.now() + opts.timeoutMs;
  for (;;) {
    const value = await read();
    if (await done(value)) return value;
    if (Date.now() >= deadline) throw await opts.fail(value);
    await sleep(opts.intervalMs);
  }
}
