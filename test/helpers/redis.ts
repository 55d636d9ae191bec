/**
 * A real Redis for the replay-store tests: Debian's `redis-server`
 * (scripts/install-test-deps.sh installs it) on 127.0.0.1 and a free port, in a private
 * temporary directory, without persistence (`--save ''`, `--appendonly no`). The test
 * stops it by its PID (`stop()`), at the latest when this process exits.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { connect as connectTls } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pollUntil } from './poll.js';
import { hasExited, stopProcess, track, type TrackedProcess } from './processes.js';
import { freePort } from './vnc.js';

export const REDIS_SERVER = process.env.WSGATE_REDIS_SERVER || 'redis-server';

export interface TestRedis {
  port: number;
  url: string;
  process: TrackedProcess;
  /** Stops the server (SIGTERM, then SIGKILL) and waits for it to exit. */
  stop(): Promise<void>;
}

export interface RedisOptions {
  /** `requirepass`. */
  password?: string;
  /** Reuse a port (to restart a stopped server where clients expect it). */
  port?: number;
  /** Serve TLS only (`--tls-port`, no plain port), with these PEM files; no client certificates. */
  tls?: { cert: string; key: string; ca: string };
}

/** Starts redis-server and resolves once it answers PING. */
export async function startRedis(o: RedisOptions = {}): Promise<TestRedis> {
  const port = o.port ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), 'wsgate-redis-'));
  const args = [
    ...(o.tls
      ? ['--port', '0', '--tls-port', String(port), '--tls-auth-clients', 'no']
      : ['--port', String(port)]),
    ...(o.tls
      ? ['--tls-cert-file', o.tls.cert, '--tls-key-file', o.tls.key, '--tls-ca-cert-file', o.tls.ca]
      : []),
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    '--save',
    '',
    '--appendonly',
    'no',
    '--daemonize',
    'no',
    '--protected-mode',
    'no',
  ];
  if (o.password !== undefined) args.push('--requirepass', o.password);
  const p = track('redis-server', spawn(REDIS_SERVER, args, { stdio: ['ignore', 'pipe', 'pipe'] }));
  const stop = async () => {
    await stopProcess(p, 3000);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await pollUntil(
      () => ping(port, o.tls !== undefined),
      (ok) => ok || hasExited(p.child),
      {
        timeoutMs: 10_000,
        intervalMs: 50,
        fail: () => new Error(`redis-server did not start\n${p.out()}`),
      },
    );
    if (hasExited(p.child)) throw new Error(`redis-server exited\n${p.out()}`);
  } catch (e) {
    await stop();
    throw e;
  }
  return { port, url: `${o.tls ? 'rediss' : 'redis'}://127.0.0.1:${port}/0`, process: p, stop };
}

/** Does something answer RESP on `port` (a PONG, or NOAUTH when a password is set)? */
function ping(port: number, tls: boolean): Promise<boolean> {
  return new Promise((resolve) => {
    // Readiness only: the certificate is the code under test's business, not this probe's.
    const s = tls
      ? connectTls({ port, host: '127.0.0.1', rejectUnauthorized: false })
      : connect(port, '127.0.0.1');
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(1000, () => done(false));
    s.once('error', () => done(false));
    s.once(tls ? 'secureConnect' : 'connect', () => s.write('PING\r\n'));
    s.once('data', (d) => done(/^(\+PONG|-NOAUTH)/.test(d.toString())));
  });
}
