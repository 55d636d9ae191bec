/**
 * `npm run bench`: wsgate side by side with raw TCP (a plain `net` client straight to
 * the echo target) and Debian's websockify, on 127.0.0.1. Each measurement gets fresh
 * processes: the echo target and the proxy under test each in their own process, the
 * load generator in this one. Prints a table with ratios and targets, and writes JSON
 * (and a Markdown table) under .cache/bench/.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  BulkFlow,
  closeAll,
  ConnectCycles,
  measureAlone,
  openIdle,
  roundTrip,
  tcpTransport,
  wsTransport,
  type BulkResult,
  type LatencyResult,
  type Meter,
  type RateResult,
  type Timing,
  type Transport,
} from './load.js';
import {
  cpuSeconds,
  systemBusySeconds,
  freePort,
  killAllNow,
  memory,
  openFileLimit,
  sleep,
  start,
  stop,
  waitForLine,
  waitForPort,
  type Proc,
} from './procs.js';
import { liteWsTransport } from './lite-ws.js';
import { OTHER_CPU_LIMIT, parseOptions, USAGE, type Options } from './options.js';
import { summarizeProfile } from './profile.js';
import {
  renderMarkdown,
  renderTable,
  type Results,
  type SystemName,
  type SystemResults,
} from './report.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '../../..');
const OUT_DIR = join(ROOT, '.cache/bench');
/** Cores other processes used during a measurement's window (0 when not accounted). */
const otherCores = (m: { cpu?: CpuShare }) => m.cpu?.other ?? 0;

/** Debian's websockify, or why it cannot run: the bench reports, it installs nothing. */
function findWebsockify(): { path?: string; version?: string; problem?: string } {
  const path = spawnSync('sh', ['-c', 'command -v websockify'], { encoding: 'utf8' }).stdout.trim();
  if (!path)
    return { problem: 'websockify is not installed (Debian: apt-get install -y websockify)' };
  const version = spawnSync('dpkg-query', ['-W', '-f', '${Version}', 'websockify'], {
    encoding: 'utf8',
  }).stdout.trim();
  return { path, version: version || undefined };
}

/** The commit measured, and whether proxy/ had uncommitted changes (built from the tree). */
function gitState(): string {
  const git = (...args: string[]) =>
    spawnSync('git', ['-C', ROOT, ...args], { encoding: 'utf8' }).stdout.trim();
  const commit = git('rev-parse', '--short', 'HEAD');
  const dirty = git('status', '--porcelain', '--', 'proxy', 'cli') !== '';
  return commit ? `${commit}${dirty ? ' + uncommitted proxy/ changes' : ''}` : 'unknown';
}

function log(msg: string): void {
  process.stderr.write(`[bench] ${msg}\n`);
}

function load(): string {
  return loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
}

interface Setup {
  transport: Transport;
  /** Process whose memory the idle measurement reads (the echo target for raw TCP). */
  memPid: number;
  procs: Proc[];
  fdLimit: number;
}

class Bench {
  private readonly profileRoot: string;
  readonly profiles: { phase: string; dir: string }[] = [];

  constructor(private readonly o: Options) {
    this.profileRoot = join(OUT_DIR, 'prof', new Date().toISOString().replace(/[:.]/g, '-'));
  }

  private async startEcho(): Promise<{ proc: Proc; port: number }> {
    const proc = start('echo', process.execPath, [join(HERE, 'echo.js'), '0'], {
      cpus: this.o.pin?.generator,
    });
    const m = await waitForLine(proc, /port=(\d+)/, 10_000);
    return { proc, port: Number(m[1]) };
  }

  /** Fresh echo target (and proxy) for one measurement. */
  async setup(system: SystemName, phase: string, workers = this.o.workers): Promise<Setup> {
    const echo = await this.startEcho();
    const procs = [echo.proc];
    try {
      if (system === 'raw') {
        return {
          transport: tcpTransport(echo.port),
          memPid: echo.proc.pid,
          procs,
          fdLimit: openFileLimit(echo.proc.pid),
        };
      }
      // One file per system: with --rate-block they run side by side, each to its own target.
      const tokenFile = join(OUT_DIR, `tokens-${system}.txt`);
      writeFileSync(tokenFile, `bench: 127.0.0.1:${echo.port}\n`);
      const port = await freePort();
      const proxyOptions = {
        cpus: this.o.pin?.proxy,
        logFile: join(OUT_DIR, `${system}.log`),
      };
      let proc: Proc;
      if (system === 'wsgate') {
        const nodeArgs: string[] = [...this.o.proxyNodeArgs];
        if (this.o.cpuProf) {
          const dir = join(this.profileRoot, phase);
          mkdirSync(dir, { recursive: true });
          nodeArgs.push('--cpu-prof', '--cpu-prof-dir', dir);
          this.profiles.push({ phase, dir });
        }
        const metricsPort = await freePort();
        proc = start(
          'wsgate',
          process.execPath,
          [
            ...nodeArgs,
            this.o.wsgateBin,
            'proxy',
            '--listen',
            `127.0.0.1:${port}`,
            '--token-file',
            tokenFile,
            '--metrics-listen',
            `127.0.0.1:${metricsPort}`,
            // Default logging (info: two lines per session), as deployed, to a file.
            '--drain-timeout',
            '1s',
            '--workers',
            String(workers),
          ],
          proxyOptions,
        );
      } else if (system === 'naive') {
        proc = start(
          'naive',
          process.execPath,
          [join(HERE, 'naive-relay.js'), String(port), tokenFile],
          proxyOptions,
        );
      } else {
        proc = start(
          'websockify',
          'websockify',
          [`127.0.0.1:${port}`, '--token-plugin', 'TokenFile', '--token-source', tokenFile],
          proxyOptions,
        );
      }
      procs.push(proc);
      await waitForPort(proc, port, 15_000);
      return {
        transport: (this.o.client === 'lite' ? liteWsTransport : wsTransport)(
          system,
          `ws://127.0.0.1:${port}/?token=bench`,
        ),
        memPid: proc.pid,
        procs,
        fdLimit: openFileLimit(proc.pid),
      };
    } catch (e) {
      await Promise.all(procs.map((p) => stop(p)));
      throw e;
    }
  }

  async with<T>(
    system: SystemName,
    phase: string,
    fn: (s: Setup) => Promise<T>,
    workers = this.o.workers,
  ): Promise<T> {
    const s = await this.setup(system, phase, workers);
    try {
      return await fn(s);
    } finally {
      await this.teardown(s);
    }
  }

  async teardown(s: Setup): Promise<void> {
    // Proxy first (SIGTERM: wsgate drains and writes its profile), then the target.
    for (const p of s.procs.slice().reverse()) await stop(p, this.o.cpuProf ? 15_000 : 3000);
  }
}

export interface IdleResult {
  requested: number;
  /** Fewer than requested were attempted: the open-file limit does not allow more. */
  fdLimited: boolean;
  workers: number;
  held: number;
  lastError?: string;
  errors: number;
  openSeconds: number;
  measure: 'VmRSS' | 'Pss';
  beforeKiB: number;
  midKiB: number;
  afterKiB: number;
  /** (after - before) / held: what the OS sees per connection, one-off growth included. */
  perConnKiB: number;
  /** (after - mid) / connections opened in the second half: the marginal cost. */
  marginalKiB: number;
  processes: number;
  fdLimit: number;
}

/** File descriptors a process keeps besides its sessions (listeners, stdio, epoll, ...). */
const FD_RESERVE = 64;

async function idle(
  s: Setup,
  system: SystemName,
  requested: number,
  workers: number,
): Promise<IdleResult> {
  const forking = system === 'websockify';
  // A relaying process needs two descriptors per session (client and target); the hard
  // limit may not allow 2 x 10,000 in one process.
  const capacity = forking
    ? Infinity
    : Math.floor((s.fdLimit - FD_RESERVE) / (system === 'raw' ? 1 : 2)) * workers;
  const n = Math.min(requested, capacity);
  // Warm up: load lazily-initialised code paths, then let the garbage go.
  const warm = await openIdle(s.transport, Math.min(100, n), 20, 20_000);
  await closeAll(warm.conns);
  if (warm.conns.length === 0) throw new Error(`no connection opened: ${warm.lastError}`);
  await sleep(1500);
  // websockify forks per connection: count shared pages once (Pss), not per child.
  const pick = (m: ReturnType<typeof memory>) => (forking ? m.pssKiB : m.rssKiB);
  const before = memory(s.memPid);
  // Half, then the rest: the second half's slope excludes one-off growth (heap spaces).
  const concurrency = forking ? 16 : 128;
  const deadline = Date.now() + (forking ? 60_000 : 90_000);
  const first = await openIdle(s.transport, Math.floor(n / 2), concurrency, deadline - Date.now());
  await sleep(1000);
  const mid = memory(s.memPid);
  const second =
    first.errors === 0 && Date.now() < deadline
      ? await openIdle(s.transport, n - first.conns.length, concurrency, deadline - Date.now())
      : { conns: [], errors: 0, seconds: 0 };
  await sleep(2000);
  const after = memory(s.memPid);
  const held = first.conns.length + second.conns.length;
  await closeAll([...first.conns, ...second.conns]);
  return {
    requested,
    fdLimited: n < requested,
    workers: system === 'wsgate' ? workers : 1,
    held,
    errors: first.errors + second.errors,
    lastError: second.lastError ?? first.lastError,
    openSeconds: first.seconds + second.seconds,
    measure: forking ? 'Pss' : 'VmRSS',
    beforeKiB: pick(before),
    midKiB: pick(mid),
    afterKiB: pick(after),
    perConnKiB: held ? (pick(after) - pick(before)) / held : NaN,
    marginalKiB: second.conns.length ? (pick(after) - pick(mid)) / second.conns.length : NaN,
    processes: after.processes,
    fdLimit: s.fdLimit,
  };
}

async function main(): Promise<void> {
  let o: Options;
  try {
    o = parseOptions(process.argv.slice(2), ROOT);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n\n${USAGE}`);
    process.exit(2);
  }
  if (o.help) {
    process.stdout.write(USAGE);
    return;
  }
  mkdirSync(OUT_DIR, { recursive: true });

  const fdNeed = Math.max(o.idle, o.websockifyIdle) + 1000;
  const fdLimit = openFileLimit();
  if (fdLimit < fdNeed) {
    if (!process.env.WSGATE_BENCH_REEXEC) {
      log(`open-file limit ${fdLimit} < ${fdNeed}: re-running under ulimit -n 65536`);
      const r = spawnSync(
        'bash',
        [
          '-c',
          'ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec "$0" "$@"',
          process.execPath,
          ...process.execArgv,
          ...process.argv.slice(1),
        ],
        { stdio: 'inherit', env: { ...process.env, WSGATE_BENCH_REEXEC: '1' } },
      );
      process.exit(r.status ?? 1);
    }
    o.idle = Math.max(1, fdLimit - 1000);
    log(`open-file limit ${fdLimit}: holding only ${o.idle} idle connections`);
  }

  const notes: string[] = [];
  let websockify: ReturnType<typeof findWebsockify> | undefined;
  if (o.systems.includes('websockify')) {
    websockify = findWebsockify();
    if (websockify.problem) {
      notes.push(`websockify skipped: ${websockify.problem}`);
      log(notes[notes.length - 1]!);
      o.systems = o.systems.filter((s) => s !== 'websockify');
    }
  }

  if (o.pin) {
    // The load generator is this process (every thread); its children are placed by start().
    const r = spawnSync('taskset', ['-a', '-p', '-c', o.pin.generator, String(process.pid)], {
      encoding: 'utf8',
    });
    if (r.status !== 0) {
      process.stderr.write(`--pin: taskset failed: ${(r.stderr || r.error?.message) ?? ''}\n`);
      process.exit(2);
    }
    log(
      `pinned: load generator and echo target on CPU ${o.pin.generator}, proxies on ${o.pin.proxy}`,
    );
  }
  const timing: Timing = { warmupMs: o.warmupMs, durationMs: o.durationMs };
  const bench = new Bench(o);
  const results: Results = {
    startedAt: new Date().toISOString(),
    node: process.version,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? '',
    loadStart: load(),
    git: gitState(),
    options: { ...o, json: undefined },
    websockifyVersion: websockify?.version,
    systems: Object.fromEntries(o.systems.map((s) => [s, {}])),
    notes,
  };
  log(
    `node ${process.version}, ${results.cpus} CPUs, load ${results.loadStart}; ${o.durationMs / 1000} s per measurement`,
  );
  // The load average trails (and counts earlier bench runs): sample actual CPU use now.
  const busy0 = systemBusySeconds();
  await sleep(1000);
  results.busyBeforeStart = systemBusySeconds() - busy0;
  log(`CPU busy before start: ${results.busyBeforeStart.toFixed(2)} of ${results.cpus} cores`);
  if (results.busyBeforeStart > OTHER_CPU_LIMIT)
    log('warning: the machine is busy; figures will be noisy');

  const t0 = performance.now();
  /** A measurement as kept: its figures and the CPU each process used meanwhile. */
  type Taken = Measured & { cpu?: CpuShare };
  type Phase = {
    key: 'bulk1' | 'bulk32' | 'rtt' | 'rate' | 'idle';
    label: string;
    run: (s: Setup, system: SystemName, timing: Timing) => Promise<Measured>;
    /** Measurements that can be taken in blocks, and the block (0: one system after another). */
    meter?: (s: Setup) => Promise<Meter<Measured>>;
    blockMs?: number;
  };
  const bulkPhase = (key: 'bulk1' | 'bulk32', n: number): Phase => {
    const meter = (s: Setup) => BulkFlow.open(s.transport, n, o.window);
    return {
      key,
      label: `bulk echo, ${n} connection${n > 1 ? 's' : ''}`,
      run: async (s, _, t) => measureAlone(await meter(s), t),
      meter,
      blockMs: o.bulkBlockMs,
    };
  };
  const rateMeter = async (s: Setup) => new ConnectCycles(s.transport);
  const phases: Phase[] = [
    bulkPhase('bulk1', 1),
    bulkPhase('bulk32', 32),
    { key: 'rtt', label: '64-byte round trip', run: (s, _, t) => roundTrip(s.transport, t) },
    {
      key: 'rate',
      label: 'connect+echo+close',
      run: async (s, _, t) => measureAlone(await rateMeter(s), t),
      meter: rateMeter,
      blockMs: o.rateBlockMs,
    },
    {
      key: 'idle',
      label: 'idle connections',
      run: (s, system) =>
        idle(
          s,
          system,
          system === 'websockify' ? Math.min(o.websockifyIdle, o.idle) : o.idle,
          o.workers,
        ),
    },
  ];
  /** When one process may not hold them all (open-file limit), hold them with 2 workers. */
  async function idleWithWorkers(): Promise<void> {
    const single = results.systems.wsgate?.idle;
    if (!single?.fdLimited || o.workers !== 1) return;
    // The full count needs more descriptors than one process may have: spread it.
    const started = performance.now();
    try {
      const r = await bench.with(
        'wsgate',
        'idle-2-workers',
        (s) => idle(s, 'wsgate', o.idle, 2),
        2,
      );
      results.systems.wsgate!.idleWorkers = r;
      notes.push(
        `one wsgate process may hold ${single.held} sessions (open-file limit ${single.fdLimit}, 2 per session); ` +
          `the full ${o.idle} were held with --workers 2`,
      );
      const secs = ((performance.now() - started) / 1000).toFixed(1);
      log(
        `${'idle, --workers 2'.padEnd(26)} ${'wsgate'.padEnd(10)} ${brief(r)}  (${secs} s, load ${load()})`,
      );
    } catch (e) {
      notes.push(`idle connections, wsgate --workers 2: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  // Measurement by measurement, systems interleaved (and runs interleaved), so drifting
  // load hits all alike; each figure is the median of its runs.
  for (const phase of phases.filter((p) => !o.phases || o.phases.includes(p.key))) {
    const runs = phase.key === 'idle' ? 1 : o.runs;
    const collected: Partial<Record<SystemName, Taken[]>> = {};
    for (let run = 1; run <= runs; run++) {
      const label = runs > 1 ? `${phase.label} #${run}` : phase.label;
      const sideBySide = phase.meter !== undefined && (phase.blockMs ?? 0) > 0;
      const side = sideBySide ? await measureSideBySide(phase, label) : undefined;
      for (const system of o.systems) {
        const best = sideBySide ? side?.[system] : await measure(system, phase, label);
        if (!best) continue;
        const list = (collected[system] ??= []);
        list.push(best);
        const median = medianOf(list);
        (results.systems[system] as Record<string, unknown>)[phase.key] = {
          ...median,
          runs: list.map(figureOf),
        };
        if (run === runs && otherCores(median) > OTHER_CPU_LIMIT) {
          notes.push(
            `${phase.label}, ${system}: other processes used ${otherCores(median).toFixed(2)} cores`,
          );
        }
        if (phase.key === 'idle' && system === 'wsgate') await idleWithWorkers();
      }
    }
  }

  /**
   * Runs `attempt` again while other processes used the CPUs meanwhile (up to --retries),
   * keeping the cleanest result; an attempt that failed (undefined) ends the repeats.
   */
  async function cleanest<T>(
    attempt: () => Promise<T | undefined>,
    other: (r: T) => number,
  ): Promise<T | undefined> {
    let best: T | undefined;
    for (let i = 0; i <= o.retries; i++) {
      const r = await attempt();
      if (r === undefined) break;
      if (best === undefined || other(r) < other(best)) best = r;
      if (other(r) <= OTHER_CPU_LIMIT) break;
      if (i < o.retries) log(`  other processes used ${other(r).toFixed(2)} cores: again`);
    }
    return best;
  }

  /** Notes and logs a failed measurement. */
  function failed(what: string, e: unknown): undefined {
    const msg = `${what}: ${(e as Error).message.split('\n')[0]}`;
    notes.push(msg);
    log(`FAILED ${msg}`);
    return undefined;
  }

  function logTaken(label: string, system: SystemName, r: Taken, started: number, how = '') {
    const secs = ((performance.now() - started) / 1000).toFixed(1);
    log(
      `${label.padEnd(29)} ${system.padEnd(10)} ${brief(r)}${cpuBrief(r.cpu)}  (${secs} s${how}, load ${load()})`,
    );
  }

  /**
   * A measurement for every system at once (--rate-block, --bulk-block): all are started,
   * warmed up, then take turns in blocks until each has had --duration. On the development
   * VM the machine's speed drifts within seconds: consecutive 3 s runs of one system
   * differed by up to 35 % (connect+echo+close) and 2x (bulk echo), and the wsgate/naive
   * ratio of such runs spread over 0.78-0.95x and 0.92-1.48x. Taking turns, every system
   * sees the same machine (connect+echo+close in 25 ms blocks: 0.86-0.91x over five runs).
   */
  function measureSideBySide(
    phase: Phase,
    label: string,
  ): Promise<Partial<Record<SystemName, Taken>> | undefined> {
    const attempt = async () => {
      const started = performance.now();
      const setups: Setup[] = [];
      const sides: { system: SystemName; w: Window; meter: Meter<Measured> }[] = [];
      const got: Partial<Record<SystemName, Taken>> = {};
      try {
        for (const system of o.systems) {
          const s = await bench.setup(system, phase.key);
          setups.push(s);
          sides.push({ system, w: new Window(s), meter: await phase.meter!(s) });
        }
        for (const x of sides) await x.meter.warm(timing.warmupMs);
        const due = (x: (typeof sides)[number]) =>
          !x.meter.failed && x.meter.seconds * 1000 < o.durationMs;
        while (sides.some(due)) {
          for (const x of sides.filter(due)) {
            const left = o.durationMs - x.meter.seconds * 1000;
            await x.meter.run(Math.min(phase.blockMs!, left), (edge) => x.w.mark(edge));
          }
        }
        for (const x of sides) {
          try {
            got[x.system] = x.w.attach(x.meter.result());
          } catch (e) {
            failed(`${label}, ${x.system}`, e);
          }
        }
      } catch (e) {
        return failed(label, e);
      } finally {
        for (const x of sides) await x.meter.close().catch(() => {});
        for (const s of setups) await bench.teardown(s);
      }
      for (const [system, r] of Object.entries(got) as [SystemName, Taken][])
        logTaken(label, system, r, started, ' side by side');
      return got;
    };
    // The most disturbed system decides.
    return cleanest(attempt, (got) => Math.max(0, ...Object.values(got).map(otherCores)));
  }

  /** One measurement of one system, repeated while other processes disturb it. */
  function measure(system: SystemName, phase: Phase, label: string): Promise<Taken | undefined> {
    const attempt = async () => {
      const started = performance.now();
      try {
        const r = await bench.with(system, phase.key, async (s) => {
          const w = new Window(s);
          const m = await phase.run(s, system, { ...timing, mark: (edge) => w.mark(edge) });
          return w.attach(m);
        });
        logTaken(label, system, r, started);
        return r;
      } catch (e) {
        return failed(`${label}, ${system}`, e);
      }
    };
    return cleanest(attempt, otherCores);
  }
  results.loadEnd = load();
  results.seconds = (performance.now() - t0) / 1000;

  const table = renderTable(results);
  process.stdout.write('\n' + table + '\n');
  process.stdout.write(
    `load average ${results.loadStart} at start, ${results.loadEnd} at end; ${results.seconds.toFixed(0)} s\n`,
  );
  for (const n of notes) process.stdout.write(`note: ${n}\n`);

  if (o.cpuProf) {
    results.profiles = {};
    for (const { phase, dir } of bench.profiles) {
      const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
      if (!file) continue;
      const measured = results.systems.wsgate?.[phase as keyof SystemResults] as
        { windowUs?: [number, number] } | undefined;
      const summary = summarizeProfile(join(dir, file), 20, measured?.windowUs);
      results.profiles[phase] = summary.text;
      process.stdout.write(
        `\nCPU profile of wsgate, ${phase} (${join(dir, file)}):\n${summary.text}\n`,
      );
    }
  }

  mkdirSync(dirname(o.json), { recursive: true });
  writeFileSync(o.json, JSON.stringify(results, null, 2) + '\n');
  writeFileSync(join(dirname(o.json), 'latest.md'), renderMarkdown(results) + '\n');
  log(`wrote ${o.json} and ${join(dirname(o.json), 'latest.md')}`);
}

type Measured = BulkResult | LatencyResult | RateResult | IdleResult;

/** A measurement's headline figure (what the table shows for it). */
function figureOf(m: Measured): number {
  if ('mibPerSec' in m) return m.mibPerSec;
  if ('p50us' in m) return m.p50us;
  if ('perSec' in m) return m.perSec;
  return m.perConnKiB;
}

/** The run with the median headline figure (the lower middle one for an even count). */
function medianOf<T extends Measured>(runs: readonly T[]): T {
  const sorted = [...runs].sort((a, b) => figureOf(a) - figureOf(b));
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
}

/** CPU use during the measured window, in cores (1.0 = one core busy): user + system. */
export interface CpuUse {
  user: number;
  system: number;
  /** Minor page faults per second. */
  faults?: number;
}

export interface CpuShare {
  seconds: number;
  generator: CpuUse;
  target: CpuUse;
  proxy?: CpuUse;
  /** Cores busy with processes not part of this measurement (other users of the machine). */
  other: number;
}

/**
 * The measured window: CPU accounting per process and monotonic bounds for profiles. It
 * may be opened and closed several times (--rate-block): shares are then over the sum of
 * its blocks, and the bounds span the first start to the last end.
 */
class Window {
  private startNs = 0n;
  private firstNs: bigint | undefined;
  private startCpu: ReturnType<typeof cpuSeconds>[] = [];
  private startSelf = process.cpuUsage();
  private startBusy = 0;
  /** Sums over the closed blocks: core-seconds (faults: counts). */
  private seconds = 0;
  private busy = 0;
  private self = { user: 0, system: 0 };
  private used: Required<CpuUse>[] = [];
  cpu?: CpuShare;
  windowUs?: [number, number];

  constructor(private readonly s: Setup) {}

  mark(edge: 'start' | 'end'): void {
    const now = process.hrtime.bigint();
    if (edge === 'start') {
      this.startNs = now;
      this.firstNs ??= now;
      this.startSelf = process.cpuUsage();
      this.startCpu = this.s.procs.map((p) => cpuSeconds(p.pid));
      this.startBusy = systemBusySeconds();
      return;
    }
    this.seconds += Number(now - this.startNs) / 1e9;
    this.busy += systemBusySeconds() - this.startBusy;
    const self = process.cpuUsage(this.startSelf);
    this.self.user += self.user / 1e6;
    this.self.system += self.system / 1e6;
    this.s.procs.forEach((p, i) => {
      const c = cpuSeconds(p.pid);
      const start = this.startCpu[i]!;
      const sum = (this.used[i] ??= { user: 0, system: 0, faults: 0 });
      sum.user += c.user - start.user;
      sum.system += c.system - start.system;
      sum.faults += c.faults - start.faults;
    });
    const per = (x: { user: number; system: number }) => ({
      user: x.user / this.seconds,
      system: x.system / this.seconds,
    });
    const used = this.used.map((u) => ({ ...per(u), faults: Math.round(u.faults / this.seconds) }));
    this.cpu = {
      seconds: this.seconds,
      generator: per(this.self),
      target: used[0]!,
      proxy: used[1],
      other: 0,
    };
    const ours = [this.cpu.generator, ...used].reduce((a, c) => a + c.user + c.system, 0);
    this.cpu.other = Math.max(0, this.busy / this.seconds - ours);
    this.windowUs = [Number(this.firstNs! / 1000n), Number(now / 1000n)];
  }

  attach<T extends Measured>(m: T): T & { cpu?: CpuShare; windowUs?: [number, number] } {
    return this.cpu ? { ...m, cpu: this.cpu, windowUs: this.windowUs } : m;
  }
}

function cpuBrief(cpu: CpuShare | undefined): string {
  if (!cpu) return '';
  const f = (x: CpuUse) =>
    (x.faults ? `${Math.round(x.faults / 1000)}k faults/s ` : '') +
    `${(x.user + x.system).toFixed(2)} (${Math.round((100 * x.system) / (x.user + x.system || 1))}% sys)`;
  return `; CPU cores: other ${cpu.other.toFixed(2)}, generator ${f(cpu.generator)}, target ${f(cpu.target)}${cpu.proxy === undefined ? '' : `, proxy ${f(cpu.proxy)}`}`;
}

function brief(r: Measured): string {
  if ('mibPerSec' in r) return `${r.mibPerSec.toFixed(1)} MiB/s`;
  if ('p50us' in r)
    return `p50 ${r.p50us.toFixed(0)} µs, p99 ${r.p99us.toFixed(0)} µs (${r.samples} samples)`;
  if ('perSec' in r) return `${r.perSec.toFixed(0)} conn/s (${r.completed}, ${r.errors} errors)`;
  return `${r.perConnKiB.toFixed(2)} KiB/conn ${r.measure} (second half ${r.marginalKiB.toFixed(2)}), ${r.held}/${r.requested} held in ${r.openSeconds.toFixed(1)} s, ${r.errors} errors${r.lastError ? ` (${r.lastError})` : ''}, fd limit ${r.fdLimit}`;
}

process.on('exit', killAllNow);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(sig, () => {
    log(`${sig}: stopping`);
    process.exit(130);
  });
}

main().catch((e: unknown) => {
  log(`error: ${(e as Error)?.stack ?? String(e)}`);
  process.exit(1);
});
