import { createHash } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { basename, delimiter, dirname, join } from 'node:path';
import { BUILD_LOCK, GO_DIR, KUBE_CACHE } from './paths.js';
import { runOk } from './proc.js';
import { withLock } from './lock.js';
import type { Component } from './versions.js';

/** Marker written last, so a half-built directory is never taken for a built one. */
const COMPLETE = '.complete';
/** A cold build of the kube component takes about 4–8 minutes on 2 cores. */
const BUILD_TIMEOUT_MS = 45 * 60_000;

/** The `go` command: $GO, then PATH, then the usual install location. */
export function goCommand(): string {
  const fromEnv = process.env['GO'];
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    if (dir !== '' && existsSync(join(dir, 'go'))) return join(dir, 'go');
  }
  return '/usr/local/go/bin/go';
}

function ldflags(c: Component): string {
  return ['-s', '-w', ...c.stamps.map((s) => `-X ${s}`)].join(' ');
}

/**
 * Cache key: the pinned version (readable) plus a hash of everything that
 * changes the output: the wrapper module's files, the flags and the platform.
 */
export function cacheKey(c: Component): string {
  const dir = join(GO_DIR, c.name);
  const hash = createHash('sha256');
  for (const f of readdirSync(dir).sort()) {
    if (f === 'go.mod' || f === 'go.sum' || f.endsWith('.go')) {
      hash
        .update(`${f}\0`)
        .update(readFileSync(join(dir, f)))
        .update('\0');
    }
  }
  hash
    .update(ldflags(c))
    .update(JSON.stringify(c.targets))
    .update(JSON.stringify(c.data ?? null));
  hash.update(`${process.platform}/${process.arch}`);
  return `${c.name}-${c.version}-${hash.digest('hex').slice(0, 10)}`;
}

/** Where a component's binaries live once built. */
export function componentDir(c: Component): string {
  return join(KUBE_CACHE, cacheKey(c));
}

export function isBuilt(c: Component): boolean {
  return existsSync(join(componentDir(c), COMPLETE));
}

async function compile(c: Component, out: string, log: (s: string) => void): Promise<void> {
  const go = goCommand();
  const cwd = join(GO_DIR, c.name);
  const env = { ...process.env, CGO_ENABLED: '0' };
  // One invocation for several targets shares their common packages; go then
  // names each binary after its package, which must match the target's name.
  const multi = c.targets.length > 1;
  for (const t of c.targets) {
    if (multi && basename(t.pkg) !== t.bin) throw new Error(`${t.pkg} would not be named ${t.bin}`);
  }
  const output = multi ? `${out}/` : join(out, c.targets[0]?.bin ?? c.name);
  // -buildvcs=false: the certmanager main sits in this git checkout, and VCS
  // stamping would need git and fail in a tarball or a dirty CI workspace.
  const args = ['build', '-buildvcs=false', '-ldflags', ldflags(c), '-o', output];
  args.push(...c.targets.map((t) => t.pkg));
  log(`  ${go} ${args.join(' ')}  (in ${cwd})`);
  await runOk(go, args, { cwd, env, timeoutMs: BUILD_TIMEOUT_MS });
}

/** Copies a component's data files out of the Go module cache. */
async function copyData(c: Component, out: string): Promise<void> {
  if (c.data === undefined) return;
  const cwd = join(GO_DIR, c.name);
  // Resolves the module at the version the wrapper's go.mod selects.
  const json = await runOk(goCommand(), ['mod', 'download', '-json', c.data.module], {
    cwd,
    timeoutMs: 10 * 60_000,
  });
  const moduleDir = (JSON.parse(json) as { Dir?: string }).Dir;
  if (moduleDir === undefined) throw new Error(`go mod download gave no Dir for ${c.data.module}`);
  const dest = join(out, c.data.dest);
  mkdirSync(dest, { recursive: true });
  for (const f of c.data.files) {
    const sources = f.endsWith('/*.yaml')
      ? readdirSync(join(moduleDir, dirname(f)))
          .filter((n) => n.endsWith('.yaml'))
          .map((n) => join(moduleDir, dirname(f), n))
      : [join(moduleDir, f)];
    if (sources.length === 0) throw new Error(`no files match ${f} in ${moduleDir}`);
    for (const s of sources) copyFileSync(s, join(dest, basename(s)));
  }
}

/**
 * Builds a component into its cache directory unless it is already there.
 * Holds the build lock, so concurrent callers wait for one build instead of
 * all building; builds into a temporary directory and renames it into place.
 */
export async function buildComponent(c: Component, log: (s: string) => void): Promise<string> {
  const dir = componentDir(c);
  if (isBuilt(c)) return dir;
  return withLock(BUILD_LOCK, `the ${c.name} build`, BUILD_TIMEOUT_MS + 60_000, async () => {
    if (isBuilt(c)) return dir; // Built by whoever held the lock before us.
    const tmp = `${dir}.tmp-${process.pid}`;
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { recursive: true });
    const started = Date.now();
    log(`building ${c.name} ${c.version} into ${dir} (first time only; several minutes cold)`);
    try {
      await compile(c, tmp, log);
      await copyData(c, tmp);
      writeFileSync(join(tmp, COMPLETE), `${new Date().toISOString()}\n`);
      rmSync(dir, { recursive: true, force: true });
      renameSync(tmp, dir);
    } catch (err) {
      rmSync(tmp, { recursive: true, force: true });
      throw err;
    }
    log(`built ${c.name} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return dir;
  });
}
