/** The repository root, for tests, the cluster harness and the benchmarks: one copy. */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Finds the repository root by walking up from this file to the package.json named
 * "wsgate". The code runs from dist/test/helpers/, so a fixed "../../.." would break if
 * the output layout changed; walking is cheap and bounded.
 */
function findRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 10; i++) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      const { name } = JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string };
      if (name === 'wsgate') return dir;
    }
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  throw new Error(`cannot find the wsgate repository root above ${import.meta.url}`);
}

/** Repository root (the directory holding wsgate's package.json), without a trailing slash. */
export const ROOT = findRoot();

/** Reads a file given relative to the repository root. */
export function readRepoFile(path: string): string {
  return readFileSync(join(ROOT, path), 'utf8');
}
