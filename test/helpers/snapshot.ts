/** Snapshot files for tests: one matcher for the operator's and the chart's renders. */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify, type ToStringOptions } from 'yaml';
import { ROOT } from './repo.js';

/**
 * Compares `docs`, as YAML documents, with `<dir>/<name>.yaml` (`dir` relative to the
 * repository root). Run with UPDATE_SNAPSHOTS=1 to (re)write the file; review the diff
 * before committing it. Under CI a missing snapshot fails instead of being written.
 */
export function matchYamlSnapshot(
  dir: string,
  name: string,
  docs: unknown[],
  yaml: ToStringOptions = {},
): void {
  const abs = join(ROOT, dir);
  const path = join(abs, `${name}.yaml`);
  const text = docs.map((d) => stringify(d, { lineWidth: 0, ...yaml })).join('---\n');
  if (process.env['UPDATE_SNAPSHOTS'] === '1' || !existsSync(path)) {
    if (process.env['CI']) assert.fail(`snapshot ${name} is missing; run with UPDATE_SNAPSHOTS=1`);
    mkdirSync(abs, { recursive: true });
    writeFileSync(path, text);
    return;
  }
  assert.equal(
    text,
    readFileSync(path, 'utf8'),
    `snapshot ${name} differs (UPDATE_SNAPSHOTS=1 rewrites it)`,
  );
}
