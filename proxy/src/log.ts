/** JSON logs on stdout (pino). Tokens never reach a log; see tokenHash in server.ts. */
import { pino, type Logger } from 'pino';

export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino(
    {
      level,
      base: { pid: process.pid },
      // Belt and braces: redact any token-bearing field a future caller might pass.
      redact: { paths: ['token_value', 'req.headers.cookie', 'req.url'], censor: '[redacted]' },
    },
    destination as pino.DestinationStream | undefined,
  );
}
