/** Shared fixtures for the operator's unit tests: resources, the example, snapshots. */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import type {
  WebSocketProxy,
  WebSocketProxySpec,
} from '../../operator/src/api/websocketproxy-types.js';
import { withDefaults, type DeepPartial } from '../../operator/src/api/defaults.js';

/** The repository root (tests run from dist/test/operator). */
export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** Reads a file relative to the repository root. */
export function readRepoFile(path: string): string {
  return readFileSync(ROOT + path, 'utf8');
}

/**
 * A defaulted WebSocketProxy `consoles/console` with a token file, with `spec` merged
 * over that (top-level keys replace).
 */
export function fixture(spec: DeepPartial<WebSocketProxySpec> = {}): WebSocketProxy {
  return withDefaults({
    metadata: { name: 'console', namespace: 'consoles', uid: 'uid-1', generation: 3 },
    spec: { tokens: { file: { secretRef: { name: 'console-tokens', key: 'tokens' } } }, ...spec },
  });
}

/** examples/websocketproxy.yaml, defaulted, with the uid and generation the API server adds. */
export function example(): WebSocketProxy {
  const doc = parse(readRepoFile('examples/websocketproxy.yaml')) as WebSocketProxy;
  return withDefaults({ ...doc, metadata: { ...doc.metadata, uid: 'uid-1', generation: 1 } });
}

/**
 * Compares `value`, as YAML, with test/operator/snapshots/NAME.yaml. Run with
 * UPDATE_SNAPSHOTS=1 to (re)write the file; review the diff before committing it.
 */
export function matchSnapshot(name: string, value: unknown): void {
  const path = `${ROOT}test/operator/snapshots/${name}.yaml`;
  const docs = Array.isArray(value) ? value : [value];
  const text = docs.map((d) => stringify(d, { lineWidth: 0 })).join('---\n');
  if (process.env.UPDATE_SNAPSHOTS === '1' || !existsSync(path)) {
    if (process.env.CI) assert.fail(`snapshot ${name} is missing; run with UPDATE_SNAPSHOTS=1`);
    mkdirSync(`${ROOT}test/operator/snapshots`, { recursive: true });
    writeFileSync(path, text);
    return;
  }
  assert.equal(
    text,
    readFileSync(path, 'utf8'),
    `snapshot ${name} differs (UPDATE_SNAPSHOTS=1 rewrites it)`,
  );
}
