/**
 * Scans every log line of every proxy a test file starts, as each line is written (so
 * lines a test later removes from `proxy.logs` are scanned too, and none is kept), for
 * the secrets the file uses; one check at the end of the file reports what was found.
 */
import assert from 'node:assert/strict';
import { describeLeaks, leakScanner, type Leak, type LineScanner } from './leak-scan.js';
import { startTestProxy, type TestProxy } from './proxy.js';
import { withProxy } from './proxy-session.js';

export interface LeakWatch {
  /** How many lines were scanned. */
  readonly scanned: number;
  /** Adds `secret` to the scan (for lines written from now on), and returns it. */
  secret(secret: string): string;
  /** Scans `proxy`'s lines, past and future. */
  watch<P extends { logs: Record<string, unknown>[] }>(proxy: P): P;
  /** `startTestProxy`, watched. */
  start(flags: string[]): Promise<TestProxy>;
  /** `withProxy`, watched. */
  with<T>(flags: string[], use: (proxy: TestProxy) => Promise<T>): Promise<T>;
  /** Fails if any scanned line held any form of a secret, or if none was scanned. */
  assertClean(): void;
}

export function leakWatch(secrets: readonly string[] = []): LeakWatch {
  const known = [...secrets];
  let scan: LineScanner = leakScanner(known);
  let scanned = 0;
  const found: { leak: Leak; line: unknown }[] = [];
  const check = (line: unknown) => {
    for (const leak of scan(line, scanned)) found.push({ leak, line });
    scanned++;
  };
  const watch = <P extends { logs: Record<string, unknown>[] }>(proxy: P): P => {
    const logs = proxy.logs;
    logs.forEach(check);
    const push = logs.push.bind(logs);
    logs.push = (...items: Record<string, unknown>[]) => {
      items.forEach(check);
      return push(...items);
    };
    return proxy;
  };
  return {
    get scanned() {
      return scanned;
    },
    secret(secret) {
      if (!known.includes(secret)) {
        known.push(secret);
        scan = leakScanner(known);
      }
      return secret;
    },
    watch,
    start: async (flags) => watch(await startTestProxy(flags)),
    with: (flags, use) => withProxy(flags, (proxy) => use(watch(proxy))),
    assertClean() {
      assert.ok(scanned > 0, 'no log lines were captured: the scan would prove nothing');
      assert.deepEqual(
        describeLeaks(found.map((f) => f.leak)),
        [],
        `secrets in the log:\n${found.map((f) => JSON.stringify(f.line)).join('\n')}`,
      );
    },
  };
}
