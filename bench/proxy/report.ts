/** The results table: figures per system, ratios to raw TCP and websockify, targets. */
import type { BulkResult, LatencyResult, RateResult } from './load.js';
import type { IdleResult } from './run.js';

export type SystemName = 'raw' | 'wsgate' | 'websockify';

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
  'wsgate',
  'websockify',
  'wsgate/raw',
  'wsgate/websockify',
  'target',
  'pass/miss',
];

function rows(r: Results): Row[] {
  const raw = r.systems.raw ?? {};
  const wsg = r.systems.wsgate ?? {};
  const wsk = r.systems.websockify ?? {};
  const out: Row[] = [];

  for (const key of ['bulk1', 'bulk32'] as const) {
    const [a, b, c] = [raw[key]?.mibPerSec, wsg[key]?.mibPerSec, wsk[key]?.mibPerSec];
    const vsRaw = ratio(b, a);
    const vsWs = ratio(b, c);
    out.push({
      metric: `bulk echo, ${key === 'bulk1' ? 1 : 32} conn (MiB/s)`,
      raw: a,
      wsgate: b,
      websockify: c,
      digits: 1,
      target: '>= 0.65x raw, >= 3x websockify',
      pass: vsRaw === undefined ? undefined : vsRaw >= 0.65 && (vsWs === undefined || vsWs >= 3),
      passNote: vsWs === undefined ? '(no websockify figure)' : undefined,
    });
  }

  const p50 = [raw.rtt?.p50us, wsg.rtt?.p50us, wsk.rtt?.p50us] as const;
  const delta = p50[0] !== undefined && p50[1] !== undefined ? p50[1] - p50[0] : undefined;
  out.push({
    metric: '64 B round trip p50 (µs)',
    raw: p50[0],
    wsgate: p50[1],
    websockify: p50[2],
    digits: 0,
    target: '<= raw + 60 µs',
    pass: delta === undefined ? undefined : delta <= 60,
    passNote: delta === undefined ? undefined : `(${delta >= 0 ? '+' : ''}${delta.toFixed(0)} µs)`,
  });
  out.push({
    metric: '64 B round trip p99 (µs)',
    raw: raw.rtt?.p99us,
    wsgate: wsg.rtt?.p99us,
    websockify: wsk.rtt?.p99us,
    digits: 0,
    target: '-',
  });

  const rate = [raw.rate?.perSec, wsg.rate?.perSec, wsk.rate?.perSec] as const;
  const rateRatio = ratio(rate[1], rate[0]);
  out.push({
    metric: 'connect+echo+close (conn/s)',
    raw: rate[0],
    wsgate: rate[1],
    websockify: rate[2],
    digits: 0,
    target: '>= 0.5x raw',
    pass: rateRatio === undefined ? undefined : rateRatio >= 0.5,
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
    wsgate: wsg.idle?.perConnKiB,
    websockify: wsk.idle?.perConnKiB,
    digits: 1,
    suffix: { raw: held(raw.idle), wsgate: held(wsg.idle), websockify: held(wsk.idle) },
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
    fig(row.wsgate, 'wsgate'),
    fig(row.websockify, 'websockify'),
    rat(row.wsgate, row.raw),
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
