/** Shared fixtures for the operator's unit tests: resources, the example, snapshots. */
import { parse } from 'yaml';
import type {
  WebSocketProxy,
  WebSocketProxySpec,
} from '../../operator/src/api/websocketproxy-types.js';
import { withDefaults, type DeepPartial } from '../../operator/src/api/defaults.js';
import { readRepoFile } from '../helpers/repo.js';
import { matchYamlSnapshot } from '../helpers/snapshot.js';

export { ROOT, readRepoFile } from '../helpers/repo.js';

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
  matchYamlSnapshot('test/operator/snapshots', name, Array.isArray(value) ? value : [value]);
}
