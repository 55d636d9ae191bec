import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Assets } from './assets.js';
import { STATE_DIR } from './paths.js';
import type { ProcRecord } from './proc.js';

/** Everything a later `up`, `down`, the watchdog or a test needs to know about a running plane. */
export interface ClusterState {
  readonly startedAt: string;
  /** https://127.0.0.1:<port> */
  readonly server: string;
  readonly kubeconfig: string;
  readonly assets: Assets;
  readonly ports: Readonly<Record<string, number>>;
  /**
   * True when `npm run cluster:up` started or adopted it: it then stays up
   * until `npm run cluster:down`. False when a test run started it: the
   * watchdog stops it once every owner has exited.
   */
  readonly keep: boolean;
  /** Test runners (node --test processes) using it. */
  readonly owners: readonly ProcRecord[];
}

const STATE_FILE = join(STATE_DIR, 'state.json');
const PID_DIR = join(STATE_DIR, 'pids');
export const WATCHDOG = 'watchdog';

export function readState(): ClusterState | null {
  try {
    return JSON.parse(readFileSync(STATE_FILE, 'utf8')) as ClusterState;
  } catch {
    return null;
  }
}

/** Written via rename, so a reader never sees half a file. */
export function writeState(state: ClusterState): void {
  mkdirSync(STATE_DIR, { recursive: true });
  const tmp = `${STATE_FILE}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`);
  renameSync(tmp, STATE_FILE);
}

/**
 * Records a started process in a PID file (`<pid> <start time>`), named with
 * its start order so `down` can stop them in reverse. Written right after each
 * spawn, so even an `up` that dies half way leaves a complete list.
 */
export function writePidFile(order: number, rec: ProcRecord): void {
  mkdirSync(PID_DIR, { recursive: true });
  const prefix = rec.name === WATCHDOG ? '' : `${String(order).padStart(2, '0')}-`;
  writeFileSync(join(PID_DIR, `${prefix}${rec.name}.pid`), `${rec.pid} ${rec.start ?? '-'}\n`);
}

/** All recorded processes, in start order (the watchdog, if any, last). */
export function readPidFiles(): ProcRecord[] {
  let files: string[];
  try {
    files = readdirSync(PID_DIR).filter((f) => f.endsWith('.pid'));
  } catch {
    return [];
  }
  const recs: ProcRecord[] = [];
  for (const f of files.sort()) {
    const [pid, start] = readFileSync(join(PID_DIR, f), 'utf8').trim().split(' ');
    const name = f.replace(/^\d+-/, '').replace(/\.pid$/, '');
    if (pid === undefined || !/^\d+$/.test(pid)) continue;
    recs.push({
      name,
      pid: Number(pid),
      start: start === undefined || start === '-' ? null : start,
    });
  }
  // Numbered files sort before the watchdog's, which has no number prefix.
  return [...recs.filter((r) => r.name !== WATCHDOG), ...recs.filter((r) => r.name === WATCHDOG)];
}

/** Removes all state (PKI, etcd data, PID files); logs are kept. */
export function removeState(): void {
  rmSync(STATE_DIR, { recursive: true, force: true });
}
