/**
 * A real SPICE server for end-to-end tests: QEMU (Debian package qemu-system-x86, whose
 * qemu-system-common carries the SPICE modules; scripts/install-test-deps.sh installs it)
 * with `-spice port=N,addr=127.0.0.1,disable-ticketing=on`, emulated by TCG (no KVM),
 * 64 MiB, no default devices, a QXL VGA card and no display of its own (`-display none`).
 *
 * The guest is a 512-byte boot sector written here (`bootSector()`): it sets VGA text
 * mode 3 (720×400 pixels as QEMU renders it), hides the cursor (so the screen does not
 * blink), prints `BOOT_MESSAGE` light grey on black with the BIOS, then waits for keys:
 * each key fills the screen with background colour `ASCII code & 7` (VGA colours:
 * '1' blue, '2' green, '4' red). So the screen is deterministic, and a key typed in the
 * browser (SPICE inputs channel) visibly changes it (SPICE display channel).
 *
 * `screendump()` asks QEMU itself (QMP `screendump`) for the guest screen, the reference
 * a client's canvas is compared with. The QMP socket is a Unix socket in a private
 * temporary directory. QEMU is the ChildProcess spawned here, stopped by `stop()` (QMP
 * `quit`, then SIGTERM, then SIGKILL, by that child's PID), or at the latest when this
 * process exits. `WSGATE_QEMU` may name another qemu-system-x86_64.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pollUntil } from './poll.js';
import { sleep } from './wait.js';
import { hasExited, stopProcess, track } from './processes.js';
import { freePort } from './vnc.js';

export const QEMU = process.env.WSGATE_QEMU || 'qemu-system-x86_64';

/** What the boot sector prints (VGA attribute 0x07: light grey on black). */
export const BOOT_MESSAGE = 'WSGATE SPICE E2E';

/** VGA text-mode colours as QEMU renders them (6-bit DAC value 0x2a → 0xa8). */
export const VGA = {
  black: [0x00, 0x00, 0x00],
  blue: [0x00, 0x00, 0xa8],
  green: [0x00, 0xa8, 0x00],
  red: [0xa8, 0x00, 0x00],
  lightGrey: [0xa8, 0xa8, 0xa8],
} as const satisfies Record<string, readonly [number, number, number]>;

/**
 * The guest: a real-mode MBR boot sector (hand-assembled, checked with
 * `objdump -D -b binary -mi8086`), padded to `size` bytes.
 */
export function bootSector(message = BOOT_MESSAGE, size = 1024 * 1024): Buffer {
  // prettier-ignore
  const code = [
    0xfa,                   // 00 cli
    0x31, 0xc0,             // 01 xor ax, ax
    0x8e, 0xd8,             // 03 mov ds, ax
    0x8e, 0xd0,             // 05 mov ss, ax
    0xbc, 0x00, 0x7c,       // 07 mov sp, 0x7c00
    0xfb,                   // 0a sti
    0xfc,                   // 0b cld
    0xb8, 0x03, 0x00,       // 0c mov ax, 0x0003      ; video mode 3: 80x25 text, cleared
    0xcd, 0x10,             // 0f int 0x10
    0xb4, 0x01,             // 11 mov ah, 0x01
    0xb9, 0x00, 0x20,       // 13 mov cx, 0x2000      ; cursor off
    0xcd, 0x10,             // 16 int 0x10
    0xbe, 0x00, 0x00,       // 18 mov si, message     ; (address patched below)
    0xac,                   // 1b print: lodsb
    0x84, 0xc0,             // 1c test al, al
    0x74, 0x09,             // 1e jz keys
    0xb4, 0x0e,             // 20 mov ah, 0x0e        ; teletype output
    0xbb, 0x07, 0x00,       // 22 mov bx, 0x0007      ; page 0, light grey
    0xcd, 0x10,             // 25 int 0x10
    0xeb, 0xf2,             // 27 jmp print
    0x31, 0xc0,             // 29 keys: xor ax, ax
    0xcd, 0x16,             // 2b int 0x16            ; wait for a key: al = ASCII
    0x24, 0x07,             // 2d and al, 7
    0xb1, 0x04,             // 2f mov cl, 4
    0xd2, 0xe0,             // 31 shl al, cl
    0x88, 0xc7,             // 33 mov bh, al          ; attribute: background al & 7
    0xb8, 0x00, 0x06,       // 35 mov ax, 0x0600      ; clear the window ...
    0x31, 0xc9,             // 38 xor cx, cx          ; ... from row 0, column 0
    0xba, 0x4f, 0x18,       // 3a mov dx, 0x184f      ; ... to row 24, column 79
    0xcd, 0x10,             // 3d int 0x10
    0xeb, 0xe8,             // 3f jmp keys
  ];
  const text = Buffer.from(`${message}\0`, 'latin1');
  if (code.length + text.length > 510) throw new Error('boot message too long');
  const at = 0x7c00 + code.length;
  code[0x19] = at & 0xff;
  code[0x1a] = at >> 8;
  const image = Buffer.alloc(Math.max(size, 512));
  Buffer.from(code).copy(image);
  text.copy(image, code.length);
  image[510] = 0x55;
  image[511] = 0xaa;
  return image;
}

/** A screen as RGB bytes, row by row. */
export interface Screen {
  width: number;
  height: number;
  rgb: Buffer;
}

/** Parses a binary PPM (P6, maxval 255), QEMU's screendump format. */
export function parsePpm(data: Buffer): Screen {
  const m = /^P6\s+(\d+)\s+(\d+)\s+255\s/.exec(data.subarray(0, 64).toString('latin1'));
  if (!m) throw new Error(`not a P6 PPM: ${JSON.stringify(data.subarray(0, 16).toString())}`);
  const width = Number(m[1]);
  const height = Number(m[2]);
  const rgb = data.subarray(m[0].length, m[0].length + width * height * 3);
  if (rgb.length !== width * height * 3) throw new Error('truncated PPM');
  return { width, height, rgb };
}

/** How many pixels of `screen` are `colour` (within `tolerance` per channel). */
export function countColour(
  screen: Screen,
  colour: readonly [number, number, number],
  tolerance = 0,
): number {
  let n = 0;
  const { rgb } = screen;
  for (let i = 0; i < rgb.length; i += 3) {
    if (
      Math.abs(rgb[i]! - colour[0]) <= tolerance &&
      Math.abs(rgb[i + 1]! - colour[1]) <= tolerance &&
      Math.abs(rgb[i + 2]! - colour[2]) <= tolerance
    )
      n++;
  }
  return n;
}

/** The colours of `screen`, most frequent first, as `#rrggbb` → pixel count. */
export function histogram(screen: Screen, limit = 8): [string, number][] {
  const counts = new Map<number, number>();
  const { rgb } = screen;
  for (let i = 0; i < rgb.length; i += 3) {
    const key = (rgb[i]! << 16) | (rgb[i + 1]! << 8) | rgb[i + 2]!;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts]
    .sort((a, b) => b[1] - a[1])
    .slice(0, limit)
    .map(([k, n]) => [`#${k.toString(16).padStart(6, '0')}`, n]);
}

export interface SpiceVm {
  /** QEMU's SPICE port on 127.0.0.1. */
  port: number;
  pid: number;
  /** The guest screen as QEMU has it (QMP `screendump`). */
  screendump(): Promise<Screen>;
  /** Polls `screendump()` until `pred` holds; rejects after `timeoutMs` with the last one. */
  waitForScreen(pred: (s: Screen) => boolean, what: string, timeoutMs?: number): Promise<Screen>;
  /** Runs one QMP command (bounded). */
  qmp(command: string, args?: Record<string, unknown>): Promise<unknown>;
  /** Stops QEMU (bounded) and removes its temporary directory. */
  stop(): Promise<void>;
  /** What QEMU printed (bounded), for failure messages. */
  output(): string;
}

export interface SpiceVmOptions {
  /** Bound on starting QEMU and seeing its SPICE port accept. */
  timeoutMs?: number;
  /**
   * Serve the console as VNC on this Unix socket (`-vga std -vnc unix:PATH`) instead of
   * SPICE on a port (`port` is then 0): the unix_socket target of the noVNC test.
   */
  vncUnixSocket?: string;
}

const QMP_TIMEOUT_MS = 10_000;

/** A minimal QMP client: greeting, `qmp_capabilities`, then one command at a time. */
class Qmp {
  private buffered = '';
  private waiting:
    | { resolve: (v: unknown) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }
    | undefined;
  private chain: Promise<unknown> = Promise.resolve();
  private closed: Error | undefined;

  private constructor(private readonly socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => {
      this.buffered += d;
      for (let nl = this.buffered.indexOf('\n'); nl >= 0; nl = this.buffered.indexOf('\n')) {
        const line = this.buffered.slice(0, nl).trim();
        this.buffered = this.buffered.slice(nl + 1);
        if (line) this.onLine(JSON.parse(line) as Record<string, unknown>);
      }
    });
    const fail = (e: Error) => {
      this.closed ??= e;
      this.settle(undefined, e);
    };
    socket.on('error', fail);
    socket.on('close', () => fail(new Error('QMP connection closed')));
  }

  /** Connects to `path`, reads the greeting and negotiates capabilities. */
  static async open(path: string, timeoutMs: number): Promise<Qmp> {
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s = connect(path);
      s.once('connect', () => resolve(s));
      s.once('error', reject);
    });
    socket.unref();
    const qmp = new Qmp(socket);
    try {
      await qmp.next(timeoutMs); // the greeting
      await qmp.run('qmp_capabilities', undefined, timeoutMs);
      return qmp;
    } catch (e) {
      socket.destroy();
      throw e;
    }
  }

  private onLine(msg: Record<string, unknown>): void {
    if ('event' in msg) return;
    if ('error' in msg) this.settle(undefined, new Error(`QMP: ${JSON.stringify(msg.error)}`));
    else this.settle(msg.return ?? msg.QMP);
  }

  private settle(value: unknown, err?: Error): void {
    const w = this.waiting;
    if (!w) return;
    this.waiting = undefined;
    clearTimeout(w.timer);
    if (err) w.reject(err);
    else w.resolve(value);
  }

  private next(timeoutMs: number): Promise<unknown> {
    if (this.closed) return Promise.reject(this.closed);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => this.settle(undefined, new Error(`QMP: no answer within ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.waiting = { resolve, reject, timer };
    });
  }

  /** Runs `command`; commands are serialised. */
  run(command: string, args?: Record<string, unknown>, timeoutMs = QMP_TIMEOUT_MS) {
    const result = this.chain.then(() => {
      const answer = this.next(timeoutMs);
      this.socket.write(`${JSON.stringify({ execute: command, arguments: args })}\n`);
      return answer;
    });
    this.chain = result.catch(() => undefined);
    return result;
  }

  close(): void {
    this.socket.destroy();
  }
}

/** Resolves once 127.0.0.1:port (or a Unix socket) accepts a connection (closed at once). */
function accepts(where: number | string): Promise<boolean> {
  return new Promise((resolve) => {
    const s =
      typeof where === 'string' ? connect(where) : connect({ host: '127.0.0.1', port: where });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** Boots the test guest in QEMU with SPICE on a free 127.0.0.1 port. */
export async function startSpiceVm(opts: SpiceVmOptions = {}): Promise<SpiceVm> {
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  const dir = mkdtempSync(join(tmpdir(), 'wsgate-qemu-'));
  const disk = join(dir, 'boot.img');
  writeFileSync(disk, bootSector());
  const qmpPath = join(dir, 'qmp.sock');

  // The port is free when asked; if another process takes it first, QEMU exits and we
  // try another one.
  for (let attempt = 0; ; attempt++) {
    const vnc = opts.vncUnixSocket;
    const port = vnc === undefined ? await freePort() : 0;
    const display =
      vnc === undefined
        ? [
            '-vga',
            'qxl',
            '-display',
            'none',
            '-spice',
            `port=${port},addr=127.0.0.1,disable-ticketing=on`,
          ]
        : ['-vga', 'std', '-display', 'none', '-vnc', `unix:${vnc}`];
    const child: ChildProcess = spawn(
      QEMU,
      [
        '-name',
        'wsgate-e2e',
        '-machine',
        'pc',
        '-accel',
        'tcg',
        '-m',
        '64',
        '-nodefaults',
        '-no-user-config',
        ...display,
        '-drive',
        `file=${disk},format=raw,if=ide`,
        '-qmp',
        `unix:${qmpPath},server=on,wait=off`,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const qemu = track(`${QEMU} (pid ${child.pid})`, child);
    const output = qemu.out;

    let qmp: Qmp | undefined;
    try {
      // Both sockets exist once QEMU has initialised; poll (bounded) until they answer.
      let up = false;
      while (!up) {
        if (hasExited(child))
          throw new Error(`QEMU exited (code ${child.exitCode}, ${child.signalCode})`);
        if (Date.now() >= deadline) throw new Error('QEMU: SPICE port not accepting in time');
        qmp ??= await Qmp.open(qmpPath, QMP_TIMEOUT_MS).catch(() => undefined);
        up = qmp !== undefined && (await accepts(vnc ?? port));
        if (!up) await sleep(50);
      }
      if (vnc !== undefined) {
        const info = (await qmp!.run('query-vnc')) as { enabled?: boolean; family?: string };
        if (!info.enabled || info.family !== 'unix')
          throw new Error(`QEMU: unexpected query-vnc answer ${JSON.stringify(info)}`);
      }
      const spice = (await qmp!.run('query-spice')) as { enabled?: boolean; port?: number };
      if (vnc === undefined && (!spice.enabled || spice.port !== port))
        throw new Error(`QEMU: unexpected query-spice answer ${JSON.stringify(spice)}`);
    } catch (e) {
      qmp?.close();
      await stopProcess(qemu, 3000);
      // spice-server: "binding socket to 127.0.0.1:N failed", "Failed to open SPICE sockets".
      const portTaken = /binding socket to \S+ failed|Failed to open SPICE sockets/.test(output());
      if (attempt < 2 && portTaken && Date.now() < deadline) continue;
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`${(e as Error).message}\n${output()}`, { cause: e });
    }

    const screendump = async (): Promise<Screen> => {
      const file = join(dir, 'screen.ppm');
      await qmp!.run('screendump', { filename: file });
      return parsePpm(await readFile(file));
    };
    return {
      port,
      pid: child.pid!,
      screendump,
      qmp: (command, args) => qmp!.run(command, args),
      waitForScreen: (pred, what, timeoutMs = 15_000) =>
        pollUntil(screendump, pred, {
          timeoutMs,
          intervalMs: 100,
          fail: (s) =>
            new Error(
              `QEMU's screen never showed ${what} within ${timeoutMs} ms: ` +
                `${s.width}x${s.height} ${JSON.stringify(histogram(s))}\n${output()}`,
            ),
        }),
      async stop() {
        // QMP `quit` is QEMU's clean way out; the signals are the bounded fallback.
        if (!hasExited(child)) await qmp!.run('quit', undefined, 2000).catch(() => undefined);
        qmp!.close();
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([qemu.exited, new Promise((r) => (timer = setTimeout(r, 3000)))]);
        clearTimeout(timer);
        await stopProcess(qemu, 3000);
        rmSync(dir, { recursive: true, force: true });
      },
      output,
    };
  }
}
