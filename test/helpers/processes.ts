/**
 * The servers the end-to-end helpers spawn (Xvfb, x11vnc, QEMU): `track()` keeps what
 * they print for failure messages and makes sure none outlives the test process;
 * `stopProcess()` stops one within a bound (also used for the `wsgate` daemon). One copy,
 * so that every server a test starts is tracked and stopped the same way.
 */
import type { ChildProcess } from 'node:child_process';
import { boundedOnRead, EXIT_DEADLINE_MS } from './wait.js';

const OUTPUT_LIMIT = 64 * 1024;

/** A spawned child, what it printed (bounded), and when it exited. */
export interface TrackedProcess {
  child: ChildProcess;
  /** Each read waits at most EXIT_DEADLINE_MS (a hung exit fails, named). */
  readonly exited: Promise<void>;
  /** What it printed on stdout and stderr (the first 64 KiB), headed `--- <name>`. */
  out(): string;
}

/** Has `child` exited (or been killed)? */
export const hasExited = (child: ChildProcess) =>
  child.exitCode !== null || child.signalCode !== null;

/** Collects the output of `child` (called `name` in `out()`) and ties it to this process. */
export function track(name: string, child: ChildProcess): TrackedProcess {
  let out = '';
  const collect = (d: Buffer) => {
    if (out.length < OUTPUT_LIMIT) out += d.toString();
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = new Promise<void>((resolve) => {
    if (hasExited(child)) resolve();
    else child.once('exit', () => resolve());
  });
  // Whatever happens to the test, the server never keeps this process alive, and this
  // process's exit takes it down. (Every wait here is bounded by its own timer.)
  child.unref();
  for (const s of child.stdio) (s as { unref?(): void } | null)?.unref?.();
  const onExit = () => child.kill('SIGKILL');
  process.once('exit', onExit);
  void exited.then(() => process.off('exit', onExit));
  const bounded = boundedOnRead(exited, EXIT_DEADLINE_MS, `${name} to exit`);
  return {
    child,
    get exited() {
      return bounded();
    },
    out: () => `--- ${name}\n${out}`,
  };
}

/** SIGTERM, then SIGKILL if `p` has not exited after `graceMs`; resolves once it has. */
export async function stopProcess(
  p: { child: ChildProcess; exited: Promise<unknown> },
  graceMs: number,
): Promise<void> {
  if (hasExited(p.child)) return;
  p.child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((r) => (timer = setTimeout(() => r('late'), graceMs)));
  if ((await Promise.race([p.exited, late])) === 'late') {
    p.child.kill('SIGKILL');
    await p.exited;
  }
  clearTimeout(timer);
}
