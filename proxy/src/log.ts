/** JSON logs on stdout (pino). Tokens never reach a log; see tokenHash in server.ts. */
import { pino, type Logger } from 'pino';

/**
 * Logs to `destination`, or to stdout through an asynchronous pino destination: a
 * synchronous write per line was a measurable share of each connection's cost (two lines
 * per session). Lines logged while a write is in flight go out together, nothing is held
 * back otherwise, and pino flushes what is pending synchronously when the process exits.
 */
export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino(
    {
      level,
      base: { pid: process.pid },
      // Belt and braces: redact any token-bearing field a future caller might pass.
      redact: { paths: ['token_value', 'req.headers.cookie', 'req.url'], censor: '[redacted]' },
    },
    (destination as pino.DestinationStream | undefined) ??
      pino.destination({ dest: 1, sync: false }),
  );
}
