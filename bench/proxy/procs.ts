/**
 * Child processes for the benchmark: the echo target, the proxy under test and
 * websockify. Every process is started with a raised open-file limit, tracked by PID,
 * and killed by PID (with the descendants it forked) when its phase ends or the bench
 * exits. Nothing here kills a process the bench did not start.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';

export interface Proc {
  name: string;
  pid: number;
  child: ChildProcess;
  /** Last 64 KiB of stdout+stderr, for error messages. */
  output(): string;
  exited: Promise<number | null>;
  exitCode: number | null | undefined;
}

const OUTPUT_TAIL = 64 * 1024;
const running = new Set<Proc>();

/** Raise the soft limit as far as allowed, then exec the command (same PID). */
const ULIMIT_EXEC =
  'ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$0" "$@"';

/**
 * Starts `command` with a raised open-file limit; `cpus` (a taskset list such as `1` or
 * `1-3`) confines it and everything it forks to those CPUs. taskset and bash both exec,
 * so the PID tracked is the command's own. With `logFile`, stdout and stderr go to that
 * file, not through this process: a proxy's log lines (two per session for wsgate) must
 * not wake the load generator, as a container's log does not wake its clients.
 */
export function start(
  name: string,
  command: string,
  args: readonly string[],
  {
    env = process.env,
    cpus,
    logFile,
  }: { env?: NodeJS.ProcessEnv; cpus?: string; logFile?: string } = {},
): Proc {
  const argv = ['bash', '-c', ULIMIT_EXEC, command, ...args];
  if (cpus !== undefined) argv.unshift('taskset', '-c', cpus);
  const fd = logFile === undefined ? undefined : openSync(logFile, 'w');
  const child = spawn(argv[0]!, argv.slice(1), {
    stdio: fd === undefined ? ['ignore', 'pipe', 'pipe'] : ['ignore', fd, fd],
    env,
  });
  if (fd !== undefined) closeSync(fd);
  if (child.pid === undefined) throw new Error(`${name}: spawn failed`);
  let tail = '';
  const keep = (chunk: Buffer) => {
    tail += chunk.toString('utf8');
    if (tail.length > OUTPUT_TAIL) tail = tail.slice(-OUTPUT_TAIL);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const proc: Proc = {
    name,
    pid: child.pid,
    child,
    output: () =>
      logFile === undefined ? tail : readFileSync(logFile, 'utf8').slice(-OUTPUT_TAIL),
    exitCode: undefined,
    exited: new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        proc.exitCode = code ?? (signal ? -1 : null);
        running.delete(proc);
        resolve(code);
      });
    }),
  };
  running.add(proc);
  return proc;
}

/** Waits for the first stdout line matching `re` (the echo server prints its port). */
export function waitForLine(proc: Proc, re: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`${proc.name}: no ${re} within ${timeoutMs} ms; output:\n${proc.output()}`));
    }, timeoutMs);
    const onData = (chunk: Buffer) => {
      text += chunk.toString('utf8');
      const m = text.match(re);
      if (m) {
        cleanup();
        resolve(m);
      }
    };
    const onExit = () => {
      cleanup();
      reject(new Error(`${proc.name} exited early; output:\n${proc.output()}`));
    };
    const cleanup = () => {
      clearTimeout(timer);
      proc.child.stdout?.off('data', onData);
      proc.child.off('exit', onExit);
    };
    proc.child.stdout?.on('data', onData);
    proc.child.once('exit', onExit);
  });
}

/** Polls until a TCP connect to the port succeeds (the process is listening). */
export async function waitForPort(proc: Proc, port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (proc.exitCode !== undefined) {
      throw new Error(`${proc.name} exited (${proc.exitCode}); output:\n${proc.output()}`);
    }
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect({ host: '127.0.0.1', port });
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) {
      throw new Error(
        `${proc.name}: port ${port} not open within ${timeoutMs} ms; output:\n${proc.output()}`,
      );
    }
    await sleep(50);
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Parent PID of every process, read from /proc (for websockify's forked children). */
function parents(): Map<number, number[]> {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    // Field 4 follows the command name, which is in parentheses and may contain spaces.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    const list = children.get(ppid) ?? [];
    list.push(Number(entry));
    children.set(ppid, list);
  }
  return children;
}

/** The process and all its descendants. */
export function processTree(pid: number): number[] {
  const children = parents();
  const out: number[] = [];
  const todo = [pid];
  while (todo.length > 0) {
    const p = todo.pop()!;
    out.push(p);
    todo.push(...(children.get(p) ?? []));
  }
  return out;
}

function statusField(pid: number, file: string, field: string): number {
  try {
    const text = readFileSync(`/proc/${pid}/${file}`, 'utf8');
    const m = text.match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

export interface Memory {
  /** Sum of VmRSS over the process tree, KiB. */
  rssKiB: number;
  /** Sum of Pss (shared pages split among sharers), KiB: fair for forking servers. */
  pssKiB: number;
  processes: number;
}

export function memory(pid: number): Memory {
  const tree = processTree(pid);
  let rssKiB = 0;
  let pssKiB = 0;
  for (const p of tree) {
    rssKiB += statusField(p, 'status', 'VmRSS');
    pssKiB += statusField(p, 'smaps_rollup', 'Pss');
  }
  return { rssKiB, pssKiB, processes: tree.length };
}

/** Kills the process and its descendants by PID: SIGTERM, then SIGKILL after `graceMs`. */
export async function stop(
  proc: Proc,
  graceMs = 3000,
  signal: NodeJS.Signals = 'SIGTERM',
): Promise<void> {
  if (proc.exitCode !== undefined) return;
  const tree = processTree(proc.pid);
  signalAll(tree, signal);
  const timedOut = await Promise.race([
    proc.exited.then(() => false),
    sleep(graceMs).then(() => true),
  ]);
  // Forked children (websockify) may outlive their parent; they are ours too.
  signalAll(
    tree.filter((p) => p !== proc.pid || timedOut),
    'SIGKILL',
  );
  if (timedOut) await Promise.race([proc.exited, sleep(1000)]);
}

function signalAll(pids: readonly number[], signal: NodeJS.Signals): void {
  for (const p of pids) {
    try {
      process.kill(p, signal);
    } catch {
      // already gone
    }
  }
}

/** Synchronous last resort (process 'exit' handler): SIGKILL everything still running. */
export function killAllNow(): void {
  for (const proc of running) {
    if (proc.exitCode === undefined) signalAll(processTree(proc.pid), 'SIGKILL');
  }
}

/** The soft open-file limit of this process. */
export function openFileLimit(pid: number | 'self' = 'self'): number {
  const text = readFileSync(`/proc/${pid}/limits`, 'utf8');
  const m = text.match(/^Max open files\s+(\d+|unlimited)/m);
  if (!m || m[1] === 'unlimited') return Infinity;
  return Number(m[1]);
}

/** CPU seconds used so far by the process tree (live processes, plus reaped children). */
export function cpuSeconds(pid: number): { user: number; system: number; faults: number } {
  let user = 0;
  let system = 0;
  let faults = 0;
  for (const p of processTree(pid)) {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      // Fields after the command: state(3) ppid(4) ... utime(14) stime(15) cutime(16) cstime(17).
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      user += Number(f[11]) + Number(f[13]);
      system += Number(f[12]) + Number(f[14]);
      faults += Number(f[7]); // minflt(10): page faults served without I/O
    } catch {
      // exited meanwhile
    }
  }
  return { user: user / CLOCK_TICKS, system: system / CLOCK_TICKS, faults };
}

/** USER_HZ: 100 on every Linux architecture Node supports. */
const CLOCK_TICKS = 100;

/** CPU seconds all CPUs have spent busy (not idle or waiting for I/O), from /proc/stat. */
export function systemBusySeconds(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
  // cpu user nice system idle iowait irq softirq steal ...
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
  return (total - f[3]! - f[4]!) / CLOCK_TICKS;
}
