/** JSON logs on stdout (pino). Tokens never reach a log: callers log tokenHash() (admission.ts), not tokens. */
import { pino, type Logger } from 'pino';

/** Batched stdout: lines are written once this much is buffered, or after FLUSH_MS. */
const MIN_WRITE = 4096;
const FLUSH_MS = 100;

/**
 * Logs to `destination`, or to stdout through pino's asynchronous destination. With
 * `batch` (the proxy), lines are written in batches: a write per line (two lines per
 * session) was about a tenth of the proxy's CPU when connections arrive fast. A line
 * then waits at most FLUSH_MS. Either way pino writes what is pending synchronously when
 * the process exits, so no line is lost.
 */
export function createLogger(
  level: string,
  destination?: NodeJS.WritableStream,
  { batch = false }: { batch?: boolean } = {},
): Logger {
  return pino(
    {
      level,
      base: { pid: process.pid },
      // Belt and braces: redact any token-bearing field a future caller might pass.
      redact: { paths: ['token_value', 'req.headers.cookie', 'req.url'], censor: '[redacted]' },
    },
    (destination as pino.DestinationStream | undefined) ?? stdout(batch),
  );
}

function stdout(batch: boolean): pino.DestinationStream {
  if (!batch) return pino.destination({ dest: 1, sync: false });
  const dest = pino.destination({ dest: 1, sync: false, minLength: MIN_WRITE });
  setInterval(() => dest.flush(), FLUSH_MS).unref();
  return dest;
}
