/**
 * A loopback port whose TCP handshake never completes, for connect-timeout tests. Loopback
 * has no unroutable address, so the fault is made the way a stuck server makes it: a child
 * process listens with a backlog of 1 and then blocks its event loop, never calling accept.
 * Once its accept queue is full, Linux drops further SYNs, and the next connect hangs
 * until the caller's timeout (the kernel retries the SYN after 1 s, 3 s, ...).
 */
import { spawn } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { track } from './processes.js';

export interface UnansweredPort {
  port: number;
  close(): Promise<void>;
}

const LISTENER = `
const s = require('node:net').createServer();
s.listen({ port: 0, host: '127.0.0.1', backlog: 1 }, () => {
  process.stdout.write(s.address().port + '\\n');
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
});`;

/** Connects within `ms`, or resolves `undefined` (the handshake hung). */
function tryConnect(port: number, ms: number): Promise<Socket | undefined> {
  return new Promise((resolve, reject) => {
    const c = connect(port, '127.0.0.1');
    const timer = setTimeout(() => {
      c.destroy();
      resolve(undefined);
    }, ms);
    c.once('connect', () => {
      clearTimeout(timer);
      resolve(c);
    });
    c.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

export async function startUnansweredPort(): Promise<UnansweredPort> {
  const child = spawn(process.execPath, ['-e', LISTENER], { stdio: ['ignore', 'pipe', 'pipe'] });
  const tracked = track('unanswered listener', child);
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`listener did not start\n${tracked.out()}`)),
      10_000,
    );
    child.stdout.once('data', (d: Buffer) => {
      clearTimeout(timer);
      resolve(Number(d.toString().trim()));
    });
  });
  // Fill the accept queue (2 connections for a backlog of 1) until a connect hangs.
  const held: Socket[] = [];
  for (let i = 0; ; i++) {
    if (i >= 16) throw new Error('the accept queue never filled: every connect completed');
    const c = await tryConnect(port, 300);
    if (!c) break;
    held.push(c);
  }
  return {
    port,
    async close() {
      for (const c of held) c.destroy();
      child.kill('SIGKILL');
      await tracked.exited;
    },
  };
}
