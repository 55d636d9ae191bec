/**
 * `--record-retention`: deletes wsgate's recording files older than the retention age
 * from the recording directory. Only files named as wsgate names them are touched (the
 * directory may be a shared volume), and never one still being written.
 */
import { readdir, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { RECORDING_FILE } from './format.js';

export interface SweepResult {
  deleted: string[];
  /** Files that could not be examined or deleted, with the error code. */
  errors: { file: string; code: string }[];
}

/** Files in `dir` whose modification time is older than `nowMs - maxAgeMs`. */
export async function sweepRecordings(
  dir: string,
  maxAgeMs: number,
  nowMs: number,
  active: ReadonlySet<string>,
): Promise<SweepResult> {
  const result: SweepResult = { deleted: [], errors: [] };
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (e) {
    result.errors.push({ file: dir, code: (e as NodeJS.ErrnoException).code ?? 'EIO' });
    return result;
  }
  for (const name of names) {
    if (!RECORDING_FILE.test(name) || active.has(name)) continue;
    const file = join(dir, name);
    try {
      const s = await stat(file);
      if (!s.isFile() || nowMs - s.mtimeMs <= maxAgeMs) continue;
      await unlink(file);
      result.deleted.push(name);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? 'EIO';
      // Another worker or replica sweeping the same volume got there first.
      if (code !== 'ENOENT') result.errors.push({ file: name, code });
    }
  }
  return result;
}

/** How often to sweep: a quarter of the retention age, between 1 s and 10 min. */
export function sweepInterval(maxAgeMs: number): number {
  return Math.min(10 * 60_000, Math.max(1000, Math.floor(maxAgeMs / 4)));
}
