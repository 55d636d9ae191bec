/** Runs the real `wsgate` executable (bin/wsgate.js under this Node) as a subprocess. */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { boundedOnRead, EXIT_DEADLINE_MS, sleep } from './wait.js';

export const WSGATE = fileURLToPath(new URL('../../../bin/wsgate.js', import.meta.url));

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs to completion (bounded by `timeoutMs`, then killed). */
export function runWsgate(args: string[], timeoutMs = 20_000): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [WSGATE, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

export interface Daemon {
  child: ChildProcess;
  logs: Record<string, unknown>[];
  /** Resolves with the first log line matching `pred` (bounded). */
  waitFor(
    pred: (line: Record<string, unknown>) => boolean,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>;
  /**
   * Resolves with the matching lines once there are at least `n` (bounded). The proxy
   * writes its log in batches (up to 100 ms late), so lines are counted by waiting.
   */
  waitForCount(
    pred: (line: Record<string, unknown>) => boolean,
    n: number,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>[]>;
  /** The exit code; each read waits at most EXIT_DEADLINE_MS (a hung exit fails, named). */
  readonly exited: Promise<number | null>;
  stderr(): string;
}

/**
 * Starts a long-running command and parses its JSON log lines from stdout. `via` runs
 * it under another command (e.g. `['prlimit', '--fsize=32768']`).
 */
export function startWsgate(args: string[], via: string[] = []): Daemon {
  const argv = [...via, process.execPath, WSGATE, ...args];
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: Record<string, unknown>[] = [];
  const waiters: {
    pred: (l: Record<string, unknown>) => boolean;
    resolve: (l: Record<string, unknown>) => void;
  }[] = [];
  let partial = '';
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  child.stdout!.on('data', (d: Buffer) => {
    const lines = (partial + d.toString()).split('\n');
    partial = lines.pop()!;
    for (const text of lines) {
      if (!text.trim()) continue;
      const line = JSON.parse(text) as Record<string, unknown>;
      logs.push(line);
      for (const w of [...waiters]) {
        if (w.pred(line)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(line);
        }
      }
    }
  });
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const exited = boundedOnRead(exit, EXIT_DEADLINE_MS, `wsgate ${args[0] ?? ''} to exit`);
  // Never leave a test's daemon behind, whatever happens to the test: its pipes must
  // not keep this process alive, and our exit takes it down.
  child.unref();
  (child.stdout as unknown as { unref(): void }).unref();
  (child.stderr as unknown as { unref(): void }).unref();
  process.once('exit', () => child.kill('SIGKILL'));
  return {
    child,
    logs,
    get exited() {
      return exited();
    },
    stderr: () => err,
    async waitForCount(pred, n, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = logs.filter(pred);
        if (found.length >= n) return found;
        if (Date.now() > deadline)
          throw new Error(`${found.length} of ${n} matching log lines after ${timeoutMs} ms`);
        await sleep(20);
      }
    },
    waitFor(pred, timeoutMs = 10_000) {
      const found = logs.find(pred);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no matching log line; stderr: ${err}`)),
          timeoutMs,
        );
        waiters.push({
          pred,
          resolve: (l) => {
            clearTimeout(timer);
            resolve(l);
          },
        });
      });
    },
  };
}

/**
 * `wsgate proxy` on an ephemeral port with the token file `tokens`, no metrics endpoint and
 * non-browser clients allowed, plus `extra` flags: the daemon most CLI tests need.
 */
export function startTokenFileProxy(tokens: string, extra: string[] = []): Daemon {
  return startWsgate([
    'proxy',
    '--listen',
    '127.0.0.1:0',
    '--token-file',
    tokens,
    '--metrics-listen',
    '',
    '--allow-missing-origin',
    ...extra,
  ]);
}

/** The port from a `proxy listening` / `metrics listening` line. */
export const portOf = (line: Record<string, unknown>) => (line.listen as { port: number }).port;
