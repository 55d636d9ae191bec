/** JSON logs on stdout (pino). Tokens never reach a log: callers log tokenHash() (admission.ts), not tokens. */
import { writeSync } from 'node:fs';
import { pino, type Logger } from 'pino';

/** Batched stdout: lines are written once this much is buffered, or after FLUSH_MS. */
const MIN_WRITE = 4096;
const FLUSH_MS = 100;
/** At exit, how long a full pipe (EAGAIN) may hold up the last lines. */
const EXIT_RETRY_MS = 2000;

/**
 * Logs to `destination`, or to stdout through pino's asynchronous destination, which
 * writes what it holds synchronously when the process exits. With `batch` (the proxy), log
 * calls are formatted later in groups (DeferredCalls) and their lines written in batches
 * (LineBatch): a line appears at most FLUSH_MS late. Either way no line is lost on exit.
 */
export function createLogger(
  level: string,
  destination?: NodeJS.WritableStream,
  { batch = false }: { batch?: boolean } = {},
): Logger {
  const options: pino.LoggerOptions = {
    level,
    base: { pid: process.pid },
    // Belt and braces: redact any token-bearing field a future caller might pass.
    redact: { paths: ['token_value', 'req.headers.cookie', 'req.url'], censor: '[redacted]' },
  };
  if (destination) return pino(options, destination as pino.DestinationStream);
  if (!batch) return pino(options, pino.destination({ dest: 1, sync: false }));
  // Exit hooks run in the order registered: the deferred calls are formatted first (into
  // the held batch), then the destination writes what it holds, then the batch the rest.
  const deferred = new DeferredCalls({ flushMs: FLUSH_MS, onExit: () => lines.hold() });
  const out = pino.destination({ dest: 1, sync: false });
  // The deferred calls' timer flushes the batch right after each replay: it needs no timer.
  const lines = new LineBatch(out, { flushMs: 0, onExit: writeStdoutAtExit });
  deferred.onTick = () => lines.flush();
  return pino({ ...options, timestamp: deferred.timestamp, hooks: deferred.hooks }, lines);
}

/** A failure at exit has nowhere to be reported: the process is ending. */
function writeStdoutAtExit(text: string): void {
  try {
    writeAllSync(1, text);
  } catch {
    /* stdout is gone */
  }
}

type LogMethod = (...args: unknown[]) => void;

/**
 * Keeps pino's log calls as they are made and replays them every `flushMs` (or once
 * `maxCalls` wait), each with the time it was made. Measured on the connect path, where
 * the proxy's code runs with cold caches between the other processes' turns: pino took
 * 7-12 µs per line there (under 1 µs in a loop), and the two session lines cost 5-8 % of
 * the connection rate; formatted in a group they cost about nothing (bench/README.md).
 * Callers pass objects they do not change afterwards (every call site builds a fresh one).
 */
export class DeferredCalls {
  /** Called after each timed replay (the proxy flushes its line batch there). */
  onTick: () => void = () => {};
  private calls: { at: number; self: unknown; args: unknown[]; method: LogMethod }[] = [];
  private replaying = 0;
  private readonly maxCalls: number;

  constructor({
    flushMs = FLUSH_MS,
    maxCalls = 64,
    onExit = () => {},
  }: { flushMs?: number; maxCalls?: number; onExit?: () => void } = {}) {
    this.maxCalls = maxCalls;
    const push = (self: unknown, args: unknown[], method: LogMethod) =>
      this.push(self, args, method);
    this.hooks = {
      logMethod(args, method) {
        push(this, args, method);
      },
    };
    setInterval(() => {
      this.replay();
      this.onTick();
    }, flushMs).unref();
    process.once('exit', () => {
      onExit();
      this.replay();
    });
  }

  /** pino's `timestamp` option: the time of the call being replayed. */
  readonly timestamp = (): string => `,"time":${this.replaying || Date.now()}`;

  /** pino's `hooks` option: keeps the call (and its logger) instead of formatting it now. */
  readonly hooks: { logMethod: (this: unknown, args: unknown[], method: LogMethod) => void };

  private push(self: unknown, args: unknown[], method: LogMethod): void {
    this.calls.push({ at: Date.now(), self, args, method });
    if (this.calls.length >= this.maxCalls) this.replay();
  }

  replay(): void {
    const calls = this.calls;
    this.calls = [];
    for (const c of calls) {
      this.replaying = c.at;
      c.method.apply(c.self, c.args);
    }
    this.replaying = 0;
  }
}

/**
 * Collects log lines and hands them on `minWrite` characters at a time; a line waits at
 * most `flushMs` (0: no timer, the owner calls `flush`). Measured on the connect path (two
 * lines per session): a write per line was about a tenth of the proxy's CPU, and pino's
 * own batching (`minLength`) re-measured its whole pending buffer on every line
 * (flattening it: 4 KiB of garbage per session). Here a batch is one `join`. The
 * destination writes asynchronously, so a pipe read by a slow log collector does not
 * stall the event loop; at exit the lines not yet handed on are written synchronously
 * (`onExit`).
 */
export class LineBatch implements pino.DestinationStream {
  private lines: string[] = [];
  private length = 0;
  private held = false;
  private readonly minWrite: number;

  constructor(
    private readonly out: { write(data: string): unknown },
    {
      minWrite = MIN_WRITE,
      flushMs = FLUSH_MS,
      onExit = (text: string) => this.out.write(text),
    }: { minWrite?: number; flushMs?: number; onExit?: (text: string) => void } = {},
  ) {
    this.minWrite = minWrite;
    if (flushMs > 0) setInterval(() => this.flush(), flushMs).unref();
    process.once('exit', () => {
      const text = this.take();
      if (text) onExit(text);
    });
  }

  write(line: string): void {
    this.lines.push(line);
    this.length += line.length;
    if (this.length >= this.minWrite) this.flush();
  }

  flush(): void {
    if (this.held) return;
    const text = this.take();
    if (text) this.out.write(text);
  }

  /** From now on keeps every line for the exit hook (nothing may start a write at exit). */
  hold(): void {
    this.held = true;
  }

  private take(): string {
    const text = this.lines.length === 1 ? this.lines[0]! : this.lines.join('');
    this.lines = [];
    this.length = 0;
    return text;
  }
}

/** Writes all of `text` to `fd`, waiting out EAGAIN (a non-blocking pipe that is full) for a while. */
export function writeAllSync(fd: number, text: string, retryMs = EXIT_RETRY_MS): void {
  let rest = Buffer.from(text);
  const deadline = Date.now() + retryMs;
  const pause = new Int32Array(new SharedArrayBuffer(4));
  while (rest.length > 0) {
    try {
      rest = rest.subarray(writeSync(fd, rest));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN' || Date.now() > deadline) throw e;
      Atomics.wait(pause, 0, 0, 10);
    }
  }
}
