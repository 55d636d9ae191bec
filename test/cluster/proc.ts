import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * A process we started, identified by PID plus its kernel start time, so a
 * recycled PID belonging to somebody else is never signalled.
 */
export interface ProcRecord {
  readonly name: string;
  readonly pid: number;
  /** Field 22 of /proc/<pid>/stat (clock ticks since boot); null off Linux. */
  readonly start: string | null;
}

interface ProcStat {
  readonly state: string;
  readonly start: string;
}

function readStat(pid: number): ProcStat | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // The command name (field 2) may hold spaces and parentheses; the fields
  // after the last ")" are plain. Field 3 is index 0 there, field 22 index 19.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const state = fields[0];
  const start = fields[19];
  return state !== undefined && start !== undefined ? { state, start } : null;
}

/** The start time to record for a PID we just spawned. */
export function startTimeOf(pid: number): string | null {
  return readStat(pid)?.start ?? null;
}

/** True while the recorded process exists, is not a zombie and is the same process. */
export function isRunning(rec: Pick<ProcRecord, 'pid' | 'start'>): boolean {
  const stat = readStat(rec.pid);
  if (stat === null) {
    // No /proc (not Linux): fall back to signal 0, which cannot tell a recycled PID.
    if (rec.start !== null) return false;
    try {
      process.kill(rec.pid, 0);
      return true;
    } catch {
      return false;
    }
  }
  if (stat.state === 'Z' || stat.state === 'X') return false;
  return rec.start === null || stat.start === rec.start;
}

/**
 * Starts a long-running process that outlives the caller: its own process
 * group (so a Ctrl-C aimed at the test runner does not reach it first), output
 * to a log file, and no handle keeping the caller's event loop alive.
 */
export function spawnDetached(
  name: string,
  bin: string,
  args: readonly string[],
  logFile: string,
  env: NodeJS.ProcessEnv = process.env,
): ProcRecord {
  const fd = openSync(logFile, 'w');
  try {
    const child = spawn(bin, args, { detached: true, stdio: ['ignore', fd, fd], env });
    if (child.pid === undefined) throw new Error(`cannot start ${name} (${bin})`);
    child.on('error', () => {
      // Reported through the health checks; an unhandled 'error' would crash the caller.
    });
    child.unref();
    return { name, pid: child.pid, start: startTimeOf(child.pid) };
  } finally {
    closeSync(fd);
  }
}

/**
 * Stops one recorded process: SIGTERM, up to `graceMs` for it to exit, then
 * SIGKILL. Only ever signals the exact PID, and only if it is still the
 * process that was recorded.
 */
export async function terminate(rec: ProcRecord, graceMs = 10_000): Promise<void> {
  if (!isRunning(rec)) return;
  const signal = (sig: NodeJS.Signals): void => {
    try {
      process.kill(rec.pid, sig);
    } catch {
      // Already gone.
    }
  };
  signal('SIGTERM');
  const step = 100;
  for (let waited = 0; waited < graceMs; waited += step) {
    if (!isRunning(rec)) return;
    await sleep(step);
  }
  signal('SIGKILL');
  for (let i = 0; i < 50 && isRunning(rec); i++) await sleep(step);
}

export interface RunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs a short command to completion and captures its output; kills it (by
 * PID) after `timeoutMs`.
 */
export function run(
  cmd: string,
  args: readonly string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number; input?: string } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      timeout: opts.timeoutMs ?? 60_000,
      killSignal: 'SIGKILL',
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on('data', (b: Buffer) => out.push(b));
    child.stderr?.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    child.on('close', (code) =>
      resolve({
        code,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      }),
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

/** Like run(), but throws with the command's stderr when it fails. */
export async function runOk(
  cmd: string,
  args: readonly string[],
  opts: Parameters<typeof run>[2] = {},
): Promise<string> {
  const res = await run(cmd, args, opts);
  if (res.code !== 0) {
    const tail = res.stderr.trim().split('\n').slice(-20).join('\n');
    throw new Error(`${cmd} ${args.join(' ')} exited with ${res.code}:\n${tail}`);
  }
  return res.stdout;
}
