/**
 * Collects every log line of every proxy a test file starts (lines a test later removes
 * from `proxy.logs` included), and the secrets the file used, so one check at the end of
 * the file can scan all of them with `leak-scan`.
 */
import { assertNoLeaks } from './leak-scan.js';
import { startTestProxy, type TestProxy } from './proxy.js';
import { withProxy } from './proxy-session.js';

export interface LeakWatch {
  /** Every line captured so far, in order. */
  readonly lines: Record<string, unknown>[];
  /** Remembers `secret` for `assertClean`, and returns it. */
  secret(secret: string): string;
  /** Captures `proxy`'s lines, past and future. */
  watch<P extends { logs: Record<string, unknown>[] }>(proxy: P): P;
  /** `startTestProxy`, watched. */
  start(flags: string[]): Promise<TestProxy>;
  /** `withProxy`, watched. */
  with<T>(flags: string[], use: (proxy: TestProxy) => Promise<T>): Promise<T>;
  /** Fails if any form of any remembered secret (or of `more`) is in any captured line. */
  assertClean(more?: string[]): void;
}

export function leakWatch(): LeakWatch {
  const lines: Record<string, unknown>[] = [];
  const secrets = new Set<string>();
  const watch = <P extends { logs: Record<string, unknown>[] }>(proxy: P): P => {
    const logs = proxy.logs;
    lines.push(...logs);
    const push = logs.push.bind(logs);
    logs.push = (...items: Record<string, unknown>[]) => {
      lines.push(...items);
      return push(...items);
    };
    return proxy;
  };
  return {
    lines,
    secret(secret) {
      secrets.add(secret);
      return secret;
    },
    watch,
    start: async (flags) => watch(await startTestProxy(flags)),
    with: (flags, use) => withProxy(flags, (proxy) => use(watch(proxy))),
    assertClean: (more = []) => assertNoLeaks(lines, [...secrets, ...more]),
  };
}
