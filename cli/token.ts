/**
 * `wsgate token`: prints a signed ticket (JWT) the proxy's `--jwt-key` resolver accepts.
 *
 *   wsgate token --key private.pem --target 10.0.0.5:5900 --ttl 60s [--audience A]
 *                [--issuer I] [--subject SUB] [--single-use] [--algorithm ALG]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { parseSigningKey, type KeyEntry } from '../proxy/src/tokens/keys.js';
import { mintTicket, newJti } from '../proxy/src/tokens/mint.js';
import type { Target } from '../proxy/src/tokens/types.js';
import { parseTokenTarget } from '../proxy/src/tokens/target-claims.js';
import { parseDuration } from '../proxy/src/util/duration.js';

const USAGE = `Usage: wsgate token --key FILE --target HOST:PORT [--ttl 60s] [options]

Prints a signed ticket for the proxy's --jwt-key resolver.

  --key FILE          private key (PEM or JWK) or shared secret to sign with
  --target HOST:PORT  where the ticket leads ([v6]:PORT for IPv6; unix_socket:/PATH
                      for a Unix socket, claim "unix")
  --ttl DURATION      lifetime, e.g. 30s, 5m (default 60s)
  --audience A        set "aud" (for --jwt-audience)
  --issuer I          set "iss" (for --jwt-issuer)
  --subject SUB       set "sub": who the ticket is for (logged with the session)
  --single-use        add a random "jti" (refused on reuse with --jwt-single-use)
  --algorithm ALG     RS256, PS256, ES256, EdDSA, HS256, ... (default: from the key)
  -h, --help          show this help
`;

const OPTIONS = {
  key: { type: 'string' },
  target: { type: 'string' },
  ttl: { type: 'string', default: '60s' },
  audience: { type: 'string' },
  issuer: { type: 'string' },
  subject: { type: 'string' },
  'single-use': { type: 'boolean', default: false },
  algorithm: { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

/** Where the command writes; tests pass their own. */
export interface TokenCommandIo {
  stdout: { write(s: string): unknown };
  stderr: { write(s: string): unknown };
}

/** A usage error: exit 2 with the message, which names the flag. */
class UsageError extends Error {}

function usage(flag: string, why: string): never {
  throw new UsageError(`--${flag}: ${why}`);
}

function need(value: string | undefined, flag: string): string {
  if (value === undefined || value === '') usage(flag, 'is required');
  return value;
}

/**
 * Runs `wsgate token` with the arguments after the subcommand. Prints the ticket and a
 * newline to stdout and returns 0; on bad input prints a message naming the flag to
 * stderr and returns 2; returns 1 if signing itself fails.
 */
export async function tokenCommand(
  argv: string[],
  io: TokenCommandIo = { stdout: process.stdout, stderr: process.stderr },
): Promise<number> {
  try {
    let values;
    try {
      ({ values } = parseArgs({
        args: argv,
        options: OPTIONS,
        strict: true,
        allowPositionals: false,
      }));
    } catch (e) {
      // parseArgs' messages already name the flag ("Unknown option '--x'").
      throw new UsageError((e as Error).message);
    }
    if (values.help) {
      io.stdout.write(USAGE);
      return 0;
    }
    const keyPath = need(values.key, 'key');
    let key: KeyEntry;
    try {
      key = parseSigningKey(readFileSync(keyPath));
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      usage(
        'key',
        err.code === 'ENOENT' ? `${keyPath}: file not found` : `${keyPath}: ${err.message}`,
      );
    }
    let target: Target;
    try {
      target = parseTokenTarget(need(values.target, 'target'));
    } catch (e) {
      if (e instanceof UsageError) throw e;
      usage('target', (e as Error).message);
    }
    let ttlSeconds: number;
    try {
      ttlSeconds = parseDuration(values.ttl);
    } catch (e) {
      usage('ttl', (e as Error).message);
    }
    if (ttlSeconds < 1) usage('ttl', 'must be at least 1s');
    for (const flag of ['audience', 'issuer', 'subject', 'algorithm'] as const) {
      if (values[flag] === '') usage(flag, 'must not be empty');
    }
    let ticket: string;
    try {
      ticket = await mintTicket({
        key,
        target,
        ttlSeconds,
        audience: values.audience,
        issuer: values.issuer,
        subject: values.subject,
        jti: values['single-use'] ? newJti() : undefined,
        algorithm: values.algorithm,
      });
    } catch (e) {
      if (e instanceof RangeError || e instanceof TypeError) {
        usage(values.algorithm === undefined ? 'key' : 'algorithm', e.message);
      }
      throw e;
    }
    io.stdout.write(`${ticket}\n`);
    return 0;
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr.write(`wsgate token: ${e.message}\n(see wsgate token --help)\n`);
      return 2;
    }
    io.stderr.write(`wsgate token: ${(e as Error).message}\n`);
    return 1;
  }
}
