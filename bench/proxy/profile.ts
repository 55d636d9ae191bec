/**
 * Summarizes a V8 `.cpuprofile` (from `node --cpu-prof`): time by component (wsgate,
 * ws, node core, GC, idle), and the top functions by self and by inclusive time.
 * Also a CLI: `node dist/bench/proxy/profile.js FILE [TOP]`.
 */
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** Who calls functions whose label contains `name`: time by caller chain (up to `depth`). */
export function callers(path: string, name: string, depth = 4, top = 15): string {
  const prof = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const n of prof.nodes) {
    byId.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  const chains = new Map<string, number>();
  let total = 0;
  for (let i = 0; i < prof.samples.length; i++) {
    const dt = Math.max(0, prof.timeDeltas[i] ?? 0);
    // Innermost matching frame on this sample's stack, then its callers.
    for (let id: number | undefined = prof.samples[i]; id !== undefined; id = parent.get(id)) {
      if (!label(byId.get(id)!.callFrame).includes(name)) continue;
      const chain: string[] = [];
      for (let p = parent.get(id); p !== undefined && chain.length < depth; p = parent.get(p)) {
        chain.push(label(byId.get(p)!.callFrame));
      }
      chains.set(chain.join(' <- '), (chains.get(chain.join(' <- ')) ?? 0) + dt);
      total += dt;
      break;
    }
  }
  return [
    `  ${(total / 1000).toFixed(0)} ms in frames matching "${name}", by caller chain:`,
    ...[...chains.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([k, v]) => `    ${(v / 1000).toFixed(0).padStart(6)} ms  ${k}`),
  ].join('\n');
}

export interface ProfileSummary {
  totalMs: number;
  busyMs: number;
  components: [string, number][];
  self: [string, number][];
  inclusive: [string, number][];
  text: string;
}

const SPECIAL = new Set(['(idle)', '(program)', '(garbage collector)', '(root)']);

function component(f: CallFrame): string {
  if (SPECIAL.has(f.functionName)) return f.functionName;
  const url = f.url;
  const pkg = url.match(/\/node_modules\/((?:@[^/]+\/)?[^/]+)\//);
  if (pkg) return pkg[1]!;
  if (url.includes('/dist/proxy/') || url.includes('/dist/cli/') || url.includes('/dist/lib/'))
    return 'wsgate';
  if (url.startsWith('node:')) return 'node core';
  if (url === '') return 'native (V8/C++)';
  return 'other';
}

function label(f: CallFrame): string {
  if (SPECIAL.has(f.functionName) || f.url === '') return f.functionName || '(anonymous)';
  const file = f.url
    .replace(/^file:\/\/.*?\/(node_modules|dist)\//, '$1/')
    .replace(/^node:internal\//, 'node:');
  return `${f.functionName || '(anonymous)'} ${file}:${f.lineNumber + 1}`;
}

/** `windowUs`: only samples taken within these monotonic-clock bounds (µs). */
export function summarizeProfile(
  path: string,
  top = 20,
  windowUs?: [number, number],
): ProfileSummary {
  const prof = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const n of prof.nodes) {
    byId.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  const selfUs = new Map<string, number>();
  const inclUs = new Map<string, number>();
  const compUs = new Map<string, number>();
  let totalUs = 0;
  let at = prof.startTime;
  const add = (m: Map<string, number>, k: string, v: number) => m.set(k, (m.get(k) ?? 0) + v);
  for (let i = 0; i < prof.samples.length; i++) {
    // timeDeltas[i] is the time since the previous sample; charge it to sample i.
    const dt = Math.max(0, prof.timeDeltas[i] ?? 0);
    at += dt;
    if (windowUs && (at < windowUs[0] || at > windowUs[1])) continue;
    const node = byId.get(prof.samples[i]!);
    if (!node) continue;
    totalUs += dt;
    add(selfUs, label(node.callFrame), dt);
    add(compUs, component(node.callFrame), dt);
    const seen = new Set<string>();
    for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
      const f = byId.get(id)!.callFrame;
      if (SPECIAL.has(f.functionName)) continue;
      const l = label(f);
      if (!seen.has(l)) {
        seen.add(l);
        add(inclUs, l, dt);
      }
    }
  }
  const idleUs = compUs.get('(idle)') ?? 0;
  const busyUs = totalUs - idleUs;
  const sorted = (m: Map<string, number>) => [...m.entries()].sort((a, b) => b[1] - a[1]);
  const pct = (us: number) => `${((100 * us) / Math.max(1, busyUs)).toFixed(1).padStart(5)}%`;
  const ms = (us: number) => `${(us / 1000).toFixed(0).padStart(6)} ms`;
  const components = sorted(compUs).filter(([k]) => k !== '(idle)');
  const self = sorted(selfUs).filter(([k]) => k !== '(idle)');
  const inclusive = sorted(inclUs);
  const lines = [
    `  ${(totalUs / 1000).toFixed(0)} ms profiled${windowUs ? ' (measured window only)' : ''}, ${(busyUs / 1000).toFixed(0)} ms busy (${((100 * busyUs) / Math.max(1, totalUs)).toFixed(0)}%); shares below are of busy time`,
    '  by component:',
    ...components.map(([k, v]) => `    ${ms(v)} ${pct(v)}  ${k}`),
    `  top ${top} by self time:`,
    ...self.slice(0, top).map(([k, v]) => `    ${ms(v)} ${pct(v)}  ${k}`),
    `  top ${top} by inclusive time:`,
    ...inclusive.slice(0, top).map(([k, v]) => `    ${ms(v)} ${pct(v)}  ${k}`),
  ];
  return {
    totalMs: totalUs / 1000,
    busyMs: busyUs / 1000,
    components: components.map(([k, v]) => [k, v / 1000]),
    self: self.slice(0, top).map(([k, v]) => [k, v / 1000]),
    inclusive: inclusive.slice(0, top).map(([k, v]) => [k, v / 1000]),
    text: lines.join('\n'),
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [file, arg] = process.argv.slice(2);
  if (!file) {
    process.stderr.write(
      'usage: node dist/bench/proxy/profile.js FILE.cpuprofile [TOP | --callers NAME]\n',
    );
    process.exit(2);
  }
  if (arg === '--callers') process.stdout.write(callers(file, process.argv[4] ?? '') + '\n');
  else process.stdout.write(summarizeProfile(file, Number(arg ?? 25)).text + '\n');
}
