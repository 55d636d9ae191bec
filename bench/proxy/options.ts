/**
 * The command line of `npm run bench`, parsed with node:util's parseArgs like the rest of
 * the project: a pure function, so a typo fails before any process is started.
 */
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

import { BULK_WINDOW } from './load.js';
import type { SystemName } from './report.js';

export interface Options {
  warmupMs: number;
  durationMs: number;
  idle: number;
  websockifyIdle: number;
  systems: SystemName[];
  workers: number;
  cpuProf: boolean;
  /**
   * CPU placement: the load generator and the echo target on CPU 0, the proxy under test
   * on the others (`taskset`), as a proxy on its own host between clients and targets on
   * others would run. Undefined: the scheduler places every process.
   */
  pin?: { generator: string; proxy: string };
  /** The wsgate launcher to run (another checkout's bin/wsgate.js, for A/B runs). */
  wsgateBin: string;
  /** Extra Node flags for the wsgate process (e.g. --max-semi-space-size=2). */
  proxyNodeArgs: string[];
  /** Measurements disturbed by other processes are repeated up to this many times. */
  retries: number;
  /** Interleaved runs of each throughput/latency/rate measurement; the median is kept. */
  runs: number;
  /** Bytes in flight per connection in the bulk test. */
  window: number;
  /**
   * connect+echo+close: every system's processes run side by side and take turns in
   * blocks of this many ms until each has had `durationMs`, so drifting machine speed
   * hits all alike. 0: one system after another, like the other measurements.
   */
  rateBlockMs: number;
  /**
   * The same for bulk echo. Default 0: a block restarts the flow, which is not the steady
   * stream the measurement is about (wsgate's read buffer starts small again).
   */
  bulkBlockMs: number;
  phases?: string[];
  /** WebSocket load generator: the `ws` client, or the minimal one in lite-ws.ts. */
  client: 'ws' | 'lite';
  json: string;
  quick: boolean;
  help: boolean;
}

/** Cores other processes may use during a measured window before it is repeated. */
export const OTHER_CPU_LIMIT = 0.25;

const SYSTEMS: readonly SystemName[] = ['raw', 'naive', 'wsgate', 'websockify'];

export const USAGE = `Usage: npm run bench -- [options]

  --quick              short smoke run (1 s per measurement, 1,000 idle connections)
  --duration SECONDS   measured time per measurement (default 3)
  --warmup SECONDS     unmeasured time before each measurement (default 0.5)
  --idle N             idle connections to hold through wsgate and raw TCP (default 10000)
  --websockify-idle N  cap for websockify, which forks a process per connection (default 200)
  --only LIST          comma-separated subset of raw,naive,wsgate,websockify
  --no-websockify      skip websockify
  --workers N          wsgate --workers (default 1)
  --client ws|lite     WebSocket load generator: the ws package (default), or a minimal
                       client that costs the generator less CPU
  --runs N             interleaved runs of bulk, round trip and rate; medians are kept
                       (default 3; idle runs once)
  --retries N          repeat a measurement during which other processes used more
                       than ${OTHER_CPU_LIMIT} cores, up to N times, keeping the cleanest (default 2)
  --phases LIST        comma-separated subset of bulk1,bulk32,rtt,rate,idle
  --window KIB         bytes in flight per connection in the bulk test (default 1024)
  --rate-block MS      connect+echo+close: all systems run side by side and take turns
                       in blocks of MS until each has had --duration (default 25);
                       0 measures one system after another
  --bulk-block MS      the same for bulk echo, each block counted from 20 ms after
                       its flow restarted and drained before the next system's turn
                       (default 0: the steady stream of one system after another)
  --wsgate-bin FILE    wsgate launcher to measure (default bin/wsgate.js of this tree)
  --proxy-node-arg=ARG Node flag for the wsgate process (repeatable, with '='; default
                       --max-semi-space-size=1, as the image's NODE_OPTIONS)
  --pin                load generator and echo target on CPU 0, the proxy under test
                       on the other CPUs (taskset; needs 2 or more CPUs), the same for
                       every system: a proxy on its own host, clients and targets on
                       others
  --cpu-prof           run wsgate under --cpu-prof (one profile per measurement) and
                       summarize; figures from such a run are not the record
  --json FILE          where to write results (default .cache/bench/latest.json)
`;

/**
 * Parses the bench's arguments; throws an Error naming the option for anything it cannot
 * use. `root` is the repository root (defaults for --wsgate-bin and --json).
 */
export function parseOptions(
  argv: readonly string[],
  root: string,
  cpuCount = availableParallelism(),
): Options {
  const { values: v } = parseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: false,
    options: {
      quick: { type: 'boolean' },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      idle: { type: 'string' },
      'websockify-idle': { type: 'string' },
      only: { type: 'string' },
      'no-websockify': { type: 'boolean' },
      workers: { type: 'string' },
      client: { type: 'string' },
      runs: { type: 'string' },
      retries: { type: 'string' },
      phases: { type: 'string' },
      window: { type: 'string' },
      'rate-block': { type: 'string' },
      'bulk-block': { type: 'string' },
      'wsgate-bin': { type: 'string' },
      'proxy-node-arg': { type: 'string', multiple: true },
      'cpu-prof': { type: 'boolean' },
      pin: { type: 'boolean' },
      json: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const num = (flag: string, min: number, fallback: number): number => {
    const raw = v[flag as keyof typeof v] as string | undefined;
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(n) || n < min)
      throw new Error(`--${flag}: expected a number >= ${min}, got ${JSON.stringify(raw)}`);
    return n;
  };
  const list = (flag: 'only' | 'phases'): string[] | undefined =>
    v[flag]?.split(',').filter(Boolean);

  const quick = v.quick === true;
  let systems = [...SYSTEMS];
  const only = list('only');
  if (only) {
    for (const s of only) {
      if (!SYSTEMS.includes(s as SystemName)) throw new Error(`--only: unknown system ${s}`);
    }
    systems = only as SystemName[];
  }
  if (v['no-websockify']) systems = systems.filter((s) => s !== 'websockify');
  const client = v.client ?? 'ws';
  if (client !== 'ws' && client !== 'lite') throw new Error('--client: expected ws or lite');
  const cpuProf = v['cpu-prof'] === true;
  if (v.pin && cpuCount < 2)
    throw new Error(`--pin: needs 2 or more CPUs, this machine has ${cpuCount}`);

  return {
    quick,
    help: v.help === true,
    durationMs: num('duration', 0.1, quick ? 1 : 3) * 1000,
    warmupMs: num('warmup', 0, quick ? 0.3 : 0.5) * 1000,
    idle: Math.floor(num('idle', 1, quick ? 1000 : 10_000)),
    websockifyIdle: Math.floor(num('websockify-idle', 1, quick ? 100 : 200)),
    systems,
    workers: Math.floor(num('workers', 1, 1)),
    client,
    // One profile per measurement: no repeats to match up.
    retries: cpuProf ? 0 : Math.floor(num('retries', 0, quick ? 0 : 2)),
    runs: cpuProf ? 1 : Math.floor(num('runs', 1, quick ? 1 : 3)),
    phases: list('phases'),
    window: num('window', 1, BULK_WINDOW / 1024) * 1024,
    rateBlockMs: Math.floor(num('rate-block', 0, 25)),
    bulkBlockMs: Math.floor(num('bulk-block', 0, 0)),
    wsgateBin: resolve(v['wsgate-bin'] ?? join(root, 'bin/wsgate.js')),
    // The image runs Node with NODE_OPTIONS=--max-semi-space-size=1 (Dockerfile).
    proxyNodeArgs: v['proxy-node-arg'] ?? ['--max-semi-space-size=1'],
    cpuProf,
    pin: v.pin ? { generator: '0', proxy: cpuCount === 2 ? '1' : `1-${cpuCount - 1}` } : undefined,
    json: resolve(v.json ?? join(root, '.cache/bench/latest.json')),
  };
}
