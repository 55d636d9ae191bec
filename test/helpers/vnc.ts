/**
 * A real VNC server for end-to-end tests: Xvfb (a real X display) exported by x11vnc on
 * a loopback port, with the root window painted a known colour (xsetroot).
 *
 * Xvfb picks a free display number itself (`-displayfd`), so concurrent runs never race
 * for one; x11vnc gets a free loopback port and tells which it listens on (`PORT=`).
 * Every process is the ChildProcess spawned here and is killed by `stop()`, or at the
 * latest when this process exits. Debian packages: xvfb, x11vnc, x11-xserver-utils
 * (scripts/install-test-deps.sh installs them).
 */
import { execFile, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import type { Readable } from 'node:stream';
import { stopProcess, track, type TrackedProcess } from './processes.js';

export interface VncServer {
  /** X display number (`:N`). */
  display: number;
  /** x11vnc's RFB port on 127.0.0.1. */
  port: number;
  width: number;
  height: number;
  /** Paints the whole root window `colour` (`#rrggbb`). */
  setColour(colour: string): Promise<void>;
  /** Stops x11vnc, then Xvfb (bounded; SIGKILL after the grace time). */
  stop(): Promise<void>;
  /** What Xvfb and x11vnc printed (bounded), for failure messages. */
  output(): string;
}

export interface VncOptions {
  width?: number;
  height?: number;
  /** Initial root window colour, `#rrggbb`. */
  colour?: string;
  /** Bound on starting both servers. */
  timeoutMs?: number;
}

/** A free TCP port on 127.0.0.1 (free when asked; the caller binds it right after). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/** `#rrggbb` → [r, g, b]. */
export function parseColour(colour: string): [number, number, number] {
  const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(colour);
  if (!m) throw new Error(`colour must be #rrggbb, got ${colour}`);
  return [parseInt(m[1]!, 16), parseInt(m[2]!, 16), parseInt(m[3]!, 16)];
}

/** Resolves with the first match of `re` in the stream (as text), or rejects on exit / time. */
function waitForOutput(
  proc: TrackedProcess,
  stream: Readable,
  re: RegExp,
  timeoutMs: number,
  what: string,
): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const done = (err: Error | null, m?: RegExpExecArray) => {
      clearTimeout(timer);
      stream.off('data', onData);
      proc.child.off('exit', onExit);
      if (err) reject(err);
      else resolve(m!);
    };
    const onData = (d: Buffer) => {
      seen += d.toString();
      const m = re.exec(seen);
      if (m) done(null, m);
    };
    const onExit = (code: number | null, signal: string | null) =>
      done(new Error(`${what}: exited (code ${code}, signal ${signal})\n${proc.out()}`));
    const timer = setTimeout(
      () => done(new Error(`${what}: not ready within ${timeoutMs} ms\n${proc.out()}`)),
      timeoutMs,
    );
    stream.on('data', onData);
    proc.child.once('exit', onExit);
  });
}

/** Runs `xsetroot -solid colour` on the display (bounded). */
export function setRootColour(display: number, colour: string, timeoutMs = 5000): Promise<void> {
  parseColour(colour);
  return new Promise((resolve, reject) => {
    execFile(
      'xsetroot',
      ['-display', `:${display}`, '-solid', colour],
      { timeout: timeoutMs },
      (err, _stdout, stderr) =>
        err ? reject(new Error(`xsetroot -solid ${colour}: ${err.message} ${stderr}`)) : resolve(),
    );
  });
}

/** Starts Xvfb on a free display and x11vnc exporting it on a free 127.0.0.1 port. */
export async function startVncServer(opts: VncOptions = {}): Promise<VncServer> {
  const width = opts.width ?? 320;
  const height = opts.height ?? 240;
  const deadline = Date.now() + (opts.timeoutMs ?? 20_000);
  const left = () => Math.max(1, deadline - Date.now());

  // -displayfd 3: Xvfb chooses a free display and writes its number to fd 3 once it
  // accepts connections. -noreset: no reset (losing the root colour) when the last
  // client leaves. -nocursor: no pointer painted into the framebuffer.
  const xvfb = track(
    'Xvfb',
    spawn(
      'Xvfb',
      [
        '-displayfd',
        '3',
        '-screen',
        '0',
        `${width}x${height}x24`,
        '-nolisten',
        'tcp',
        '-noreset',
        '-nocursor',
      ],
      { stdio: ['ignore', 'pipe', 'pipe', 'pipe'] },
    ),
  );
  const procs: TrackedProcess[] = [xvfb];
  const stopAll = async () => {
    for (const p of [...procs].reverse()) await stopProcess(p, 3000);
  };
  try {
    const fd3 = xvfb.child.stdio[3] as Readable;
    const display = Number((await waitForOutput(xvfb, fd3, /(\d+)\n/, left(), 'Xvfb'))[1]);
    if (opts.colour) await setRootColour(display, opts.colour, left());

    // The port is free when asked; if another process takes it first, x11vnc exits and
    // we try another.
    let vnc: TrackedProcess | undefined;
    let port = 0;
    for (let attempt = 0; !vnc; attempt++) {
      const p = track(
        'x11vnc',
        spawn(
          'x11vnc',
          [
            '-display',
            `:${display}`,
            '-rfbport',
            String(await freePort()),
            '-localhost', // listen on 127.0.0.1 only
            '-noipv6',
            '-nopw', // no password warning banner (tests use no VNC password)
            '-forever', // keep serving after a viewer leaves
            '-shared', // several viewers at once
            '-norc', // ignore any ~/.x11vncrc
            '-nolookup',
            '-nonc', // no client-side cache (it would make the framebuffer 11× taller)
            '-nosel', // no clipboard exchange
            '-nobell',
            '-noxrecord',
          ],
          { stdio: ['ignore', 'pipe', 'pipe'] },
        ),
      );
      procs.push(p);
      try {
        port = Number((await waitForOutput(p, p.child.stdout!, /PORT=(\d+)/, left(), 'x11vnc'))[1]);
        vnc = p;
      } catch (e) {
        await stopProcess(p, 3000);
        if (attempt >= 2 || Date.now() >= deadline) throw e;
      }
    }
    return {
      display,
      port,
      width,
      height,
      setColour: (colour) => setRootColour(display, colour),
      stop: stopAll,
      output: () => procs.map((p) => p.out()).join('\n'),
    };
  } catch (e) {
    await stopAll();
    throw e;
  }
}
