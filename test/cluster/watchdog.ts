import { setTimeout as sleep } from 'node:timers/promises';
import { stopAndRemove } from './control-plane.js';
import { withLock } from './lock.js';
import { CLUSTER_LOCK } from './paths.js';
import { isRunning } from './proc.js';
import { readPidFiles, readState, WATCHDOG } from './state.js';

const POLL_MS = 1_000;
/** Upper bound on a test run; past it the plane is stopped regardless. */
const MAX_LIFETIME_MS = 12 * 60 * 60_000;

type Verdict = 'keep-watching' | 'leave' | 'stopped';

/** Decides, under the cluster lock, whether the plane must go now. */
async function check(): Promise<Verdict> {
  const state = readState();
  // Torn down by `cluster:down`, or adopted by `cluster:up`: not ours to stop.
  if (state === null || state.keep) return 'leave';
  // A newer plane has its own watchdog.
  const me = readPidFiles().find((r) => r.name === WATCHDOG);
  if (me === undefined || me.pid !== process.pid) return 'leave';
  if (state.owners.some(isRunning)) return 'keep-watching';
  return withLock(CLUSTER_LOCK, 'the control plane', 5 * 60_000, async () => {
    // Re-read under the lock: a new test run may have joined meanwhile.
    const now = readState();
    if (now === null || now.keep) return 'leave';
    if (now.owners.some(isRunning)) return 'keep-watching';
    await stopAndRemove();
    return 'stopped';
  });
}

/**
 * Runs detached next to a control plane that a test run started: once every
 * owner (test runner process) has exited, it stops the plane, so `npm test`
 * leaves nothing behind even though each test file runs in its own process.
 */
export async function watch(log: (line: string) => void): Promise<void> {
  const deadline = Date.now() + MAX_LIFETIME_MS;
  for (let i = 0; i < MAX_LIFETIME_MS / POLL_MS && Date.now() < deadline; i++) {
    await sleep(POLL_MS);
    const verdict = await check();
    if (verdict === 'leave') {
      log('plane kept or replaced; watchdog leaving');
      return;
    }
    if (verdict === 'stopped') {
      log('all owners exited; control plane stopped');
      return;
    }
  }
  log('maximum lifetime reached; stopping the control plane');
  await withLock(CLUSTER_LOCK, 'the control plane', 5 * 60_000, stopAndRemove);
}
