/** The results table: figures per system, ratios to raw TCP and websockify, targets. */
import type { BulkResult, LatencyResult, RateResult } from './load.js';
import type { IdleResult } from './run.js';

/** The part of run.ts's CPU accounting the table reads (cores busy in the window). */
interface CpuShareLike {
  proxy?: { user: number; system: number };
  target: { user: number; system: number };
}

export type SystemName = 'raw' | 'naive' | 'wsgate' | 'websockify';

export interface SystemResults {
  bulk1?: BulkResult;
  bulk32?: BulkResult;
  rtt?: LatencyResult;
  rate?: RateResult;
  idle?: IdleResult;
  /** wsgate --workers 2, when one process may not hold them all (open-file limit). */
  idleWorkers?: IdleResult;
}

export interface Results {
  startedAt: string;
  node: string;
  cpus: number;
  cpuModel: string;
  loadStart: string;
  /** Cores busy during the second before the run started. */
  busyBeforeStart?: number;
  git: string;
  loadEnd?: string;
  seconds?: number;
  options: object;
  websockifyVersion?: string;
  systems: Partial<Record<SystemName, SystemResults>>;
  notes: string[];
  profiles?: Record<string, string>;
}

interface Row {
  metric: string;
  raw?: number;
  naive?: number;
  wsgate?: number;
  websockify?: number;
  digits: number;
  /** Text after a figure (e.g. websockify's capped connection count). */
  suffix?: Partial<Record<SystemName, string>>;
  target: string;
  /** Undefined: no target for this row, or a figure is missing. */
  pass?: boolean;
  /** Extra words for the pass/miss cell. */
  passNote?: string;
}

const COLUMNS = [
  'metric',
  'raw TCP',
  'naive ws relay',
  'wsgate',
  'websockify',
  'wsgate/raw',
  'wsgate/naive',
  'wsgate/websockify',
  'target',
  'pass/miss',
];

function rows(r: Results): Row[] {
  const raw = r.systems.raw ?? {};
  const nai = r.systems.naive ?? {};
  const wsg = r.systems.wsgate ?? {};
  const wsk = r.systems.websockify ?? {};
  const out: Row[] = [];

  for (const key of ['bulk1', 'bulk32'] as const) {
    const vsNaive = ratio(wsg[key]?.mibPerSec, nai[key]?.mibPerSec);
    out.push({
      metric: `bulk echo, ${key === 'bulk1' ? 1 : 32} conn (MiB/s)`,
      raw: raw[key]?.mibPerSec,
      naive: nai[key]?.mibPerSec,
      wsgate: wsg[key]?.mibPerSec,
      websockify: wsk[key]?.mibPerSec,
      digits: 1,
      target: key === 'bulk1' ? '>= 1.15x naive relay' : '-',
      pass: key === 'bulk1' && vsNaive !== undefined ? vsNaive >= 1.15 : undefined,
    });
    // CPU per GiB echoed: what one byte costs each relay, against the echo target of
    // the same run (which reads and writes each byte once).
    const perGiB = (m: BulkResult | undefined, who: 'proxy' | 'target') => {
      const cpu = (m as { cpu?: CpuShareLike } | undefined)?.cpu?.[who];
      return cpu && m ? ((cpu.user + cpu.system) * 1024) / m.mibPerSec : undefined;
    };
    const vsTarget = (m: BulkResult | undefined) => ratio(perGiB(m, 'proxy'), perGiB(m, 'target'));
    const x = (v: number | undefined) => (v === undefined ? 'n/a' : `${v.toFixed(2)}x`);
    const wsgVsTarget = vsTarget(wsg[key]);
    out.push({
      metric: `  proxy CPU per GiB echoed (core-s)`,
      raw: perGiB(raw[key], 'target'),
      naive: perGiB(nai[key], 'proxy'),
      wsgate: perGiB(wsg[key], 'proxy'),
      websockify: perGiB(wsk[key], 'proxy'),
      digits: 2,
      target: key === 'bulk1' ? "<= 1.7x its echo target's" : '-',
      pass: key === 'bulk1' && wsgVsTarget !== undefined ? wsgVsTarget <= 1.7 : undefined,
      passNote: `(wsgate ${x(wsgVsTarget)}, naive ${x(vsTarget(nai[key]))} its target)`,
    });
  }

  const p50 = [raw.rtt?.p50us, wsg.rtt?.p50us] as const;
  const delta = p50[0] !== undefined && p50[1] !== undefined ? p50[1] - p50[0] : undefined;
  out.push({
    metric: '64 B round trip p50 (µs)',
    raw: raw.rtt?.p50us,
    naive: nai.rtt?.p50us,
    wsgate: wsg.rtt?.p50us,
    websockify: wsk.rtt?.p50us,
    digits: 0,
    target: '<= raw + 60 µs',
    pass: delta === undefined ? undefined : delta <= 60,
    passNote: delta === undefined ? undefined : `(${delta >= 0 ? '+' : ''}${delta.toFixed(0)} µs)`,
  });
  out.push({
    metric: '64 B round trip p99 (µs)',
    raw: raw.rtt?.p99us,
    naive: nai.rtt?.p99us,
    wsgate: wsg.rtt?.p99us,
    websockify: wsk.rtt?.p99us,
    digits: 0,
    target: '-',
  });

  const rateRatio = ratio(wsg.rate?.perSec, nai.rate?.perSec);
  out.push({
    metric: 'connect+echo+close (conn/s)',
    raw: raw.rate?.perSec,
    naive: nai.rate?.perSec,
    wsgate: wsg.rate?.perSec,
    websockify: wsk.rate?.perSec,
    digits: 0,
    target: '>= 0.9x naive relay',
    pass: rateRatio === undefined ? undefined : rateRatio >= 0.9,
  });

  const held = (i: IdleResult | undefined) => i && `(${i.measure}, ${i.held} held)`;
  const idleVerdict = (i: IdleResult | undefined): Pick<Row, 'pass' | 'passNote'> => {
    if (!i) return {};
    const complete = i.held >= Math.min(i.requested, 10_000) && i.requested >= 10_000;
    const pass = i.perConnKiB <= 10 && (complete || (i.fdLimited && i.held >= i.requested * 0.99));
    let note: string | undefined;
    if (i.requested < 10_000) note = `(only ${i.requested} requested)`;
    else if (i.fdLimited) note = `(open-file limit: ${i.held} held)`;
    else if (!complete) note = `(${i.held} of ${i.requested} held)`;
    return { pass: i.requested < 10_000 ? undefined : pass, passNote: note };
  };
  out.push({
    metric: `memory per idle conn (KiB)`,
    raw: raw.idle?.perConnKiB,
    naive: nai.idle?.perConnKiB,
    wsgate: wsg.idle?.perConnKiB,
    websockify: wsk.idle?.perConnKiB,
    digits: 1,
    suffix: {
      raw: held(raw.idle),
      naive: held(nai.idle),
      wsgate: held(wsg.idle),
      websockify: held(wsk.idle),
    },
    target: '<= 10 KiB with 10,000 held',
    ...idleVerdict(wsg.idle),
  });
  if (wsg.idleWorkers) {
    out.push({
      metric: `  same, wsgate --workers ${wsg.idleWorkers.workers}`,
      wsgate: wsg.idleWorkers.perConnKiB,
      digits: 1,
      suffix: { wsgate: held(wsg.idleWorkers) },
      target: '<= 10 KiB with 10,000 held',
      ...idleVerdict(wsg.idleWorkers),
    });
  }
  return out;
}

function ratio(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined || b === undefined || b === 0 ? undefined : a / b;
}

function cells(row: Row): string[] {
  const fig = (v: number | undefined, s: SystemName) =>
    v === undefined || Number.isNaN(v)
      ? 'n/a'
      : v.toFixed(row.digits) + (row.suffix?.[s] ? ' ' + row.suffix[s] : '');
  const rat = (a: number | undefined, b: number | undefined) => {
    const x = ratio(a, b);
    return x === undefined || Number.isNaN(x) ? 'n/a' : `${x.toFixed(2)}x`;
  };
  const verdict =
    row.pass === undefined
      ? '-'
      : (row.pass ? 'pass' : 'MISS') + (row.passNote ? ' ' + row.passNote : '');
  return [
    row.metric,
    fig(row.raw, 'raw'),
    fig(row.naive, 'naive'),
    fig(row.wsgate, 'wsgate'),
    fig(row.websockify, 'websockify'),
    rat(row.wsgate, row.raw),
    rat(row.wsgate, row.naive),
    rat(row.wsgate, row.websockify),
    row.target,
    verdict,
  ];
}

export function renderTable(r: Results): string {
  const body = rows(r).map(cells);
  const all = [COLUMNS, ...body];
  const widths = COLUMNS.map((_, i) => Math.max(...all.map((line) => line[i]!.length)));
  const line = (c: string[]) =>
    c.map((x, i) => (i === 0 ? x.padEnd(widths[i]!) : x.padStart(widths[i]!))).join(' | ');
  return [line(COLUMNS), widths.map((w) => '-'.repeat(w)).join('-+-'), ...body.map(line)].join(
    '\n',
  );
}

export function renderMarkdown(r: Results): string {
  const body = rows(r).map(cells);
  const line = (c: string[]) => `| ${c.join(' | ')} |`;
  return [
    line(COLUMNS),
    line(COLUMNS.map((_, i) => (i === 0 ? '---' : '---:'))),
    ...body.map(line),
  ].join('\n');
}
