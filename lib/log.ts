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
 * writes what it holds synchronously when the process exits. With `batch` (the proxy),
 * lines are collected first (see LineBatch). Either way no line is lost on exit.
 */
export function createLogger(
  level: string,
  destination?: NodeJS.WritableStream,
  { batch = false }: { batch?: boolean } = {},
): Logger {
  const stdout = () => {
    const out = pino.destination({ dest: 1, sync: false });
    // Registered after the destination's own exit hook, so what it holds goes out first.
    // A failure there has nowhere to be reported: the process is ending.
    const onExit = (text: string) => {
      try {
        writeAllSync(1, text);
      } catch {
        /* stdout is gone */
      }
    };
    return batch ? new LineBatch(out, { onExit }) : out;
  };
  return pino(
    {
      level,
      base: { pid: process.pid },
      // Belt and braces: redact any token-bearing field a future caller might pass.
      redact: { paths: ['token_value', 'req.headers.cookie', 'req.url'], censor: '[redacted]' },
    },
    (destination as pino.DestinationStream | undefined) ?? stdout(),
  );
}

/**
 * Collects log lines and hands them on `minWrite` characters at a time; a line waits at
 * most `flushMs`. Measured on the connect path (two lines per session): a write per line
 * was about a tenth of the proxy's CPU, and pino's own batching (`minLength`) re-measured
 * its whole pending buffer on every line (flattening it: 4 KiB of garbage per session).
 * Here a batch is one `join`. The destination writes asynchronously, so a pipe read by a
 * slow log collector does not stall the event loop; at exit the lines not yet handed on
 * are written synchronously (`onExit`).
 */
export class LineBatch implements pino.DestinationStream {
  private lines: string[] = [];
  private length = 0;
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
    setInterval(() => this.flush(), flushMs).unref();
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
    const text = this.take();
    if (text) this.out.write(text);
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
