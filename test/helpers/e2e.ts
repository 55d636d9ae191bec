/**
 * What the browser end-to-end tests (test/e2e: noVNC, SPICE, Kubernetes) share: starting
 * and stopping the `wsgate` daemon they test, tearing down everything they started even
 * when a part fails, and a page per test that leaves a screenshot when the test fails.
 * One copy, so the suites start, stop and report alike.
 *
 * Screenshots go to $WSGATE_E2E_ARTIFACTS (default: <tmpdir>/wsgate-e2e).
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import type { Page } from 'playwright-core';
import type { TestBrowser } from './browser.js';
import { runWsgate, startWsgate, type Daemon } from './cli.js';
import { stopProcess } from './processes.js';
import { sleep } from './wait.js';

export const ARTIFACTS = process.env.WSGATE_E2E_ARTIFACTS || join(tmpdir(), 'wsgate-e2e');

/** Every wait inside is bounded; these only catch what is not (a hung browser call). */
export const TEST = { timeout: 60_000 };
export const SETUP = { timeout: 90_000 };

/** `start` (a `performance.now()`) to now, for diagnostics: "123 ms". */
export const since = (start: number) => `${Math.round(performance.now() - start)} ms`;

export interface ProxyOptions {
  /** `--token-file`; without it, `args` must name a token source. */
  tokenFile?: string;
  /** The one Origin allowed (the test page's). */
  allowOrigin: string;
  /** `--metrics-listen` (default '': no metrics endpoint). */
  metricsListen?: string;
  /** PEM files for wss://. */
  tls?: { cert: string; key: string };
  /** More `wsgate proxy` flags (e.g. `--jwt-key`, `--jwt-single-use`). */
  args?: string[];
}

/** `wsgate proxy` (the CLI, a subprocess) on a free port of 127.0.0.1. */
export function spawnProxyProcess(o: ProxyOptions): Daemon {
  return startWsgate([
    'proxy',
    '--listen',
    '127.0.0.1:0',
    ...(o.tokenFile !== undefined ? ['--token-file', o.tokenFile] : []),
    '--metrics-listen',
    o.metricsListen ?? '',
    '--allow-origin',
    o.allowOrigin,
    ...(o.tls ? ['--tls-cert', o.tls.cert, '--tls-key', o.tls.key] : []),
    ...(o.args ?? []),
  ]);
}

/**
 * `wsgate token` (the CLI): a single-use ticket (ES256, random `jti`, 5 minutes) for
 * `target`, signed with the PEM private key in `keyFile`.
 */
export async function mintSingleUse(keyFile: string, target: string): Promise<string> {
  const run = await runWsgate([
    'token',
    '--key',
    keyFile,
    '--target',
    target,
    '--single-use',
    '--ttl',
    '5m',
  ]);
  assert.equal(run.code, 0, run.stderr);
  return run.stdout.trim();
}

/** Writes an EC P-256 key pair into `dir`: `jwt.key` (private) and `jwt.pub`. */
export function writeTicketKeys(dir: string): { priv: string; pub: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const keys = { priv: join(dir, 'jwt.key'), pub: join(dir, 'jwt.pub') };
  writeFileSync(keys.priv, privateKey.export({ type: 'pkcs8', format: 'pem' }));
  writeFileSync(keys.pub, publicKey.export({ type: 'spki', format: 'pem' }));
  return keys;
}

/**
 * Resolves once `windowMs` have passed since the proxy logged `line` (pino's `time`),
 * plus a margin for the clocks of the log and of this process.
 */
export async function afterWindow(line: Record<string, unknown>, windowMs: number): Promise<void> {
  const until = Number(line.time) + windowMs + 250;
  const wait = until - Date.now();
  if (wait > 0) await sleep(wait);
}

/** Stops a wsgate daemon we started (SIGTERM, then SIGKILL after 5 s). */
export async function stopDaemon(d: Daemon | undefined): Promise<void> {
  if (d) await stopProcess(d, 5000);
}

/** Waits for the proxy's log line refusing a handshake with `code`; checks its `status`. */
export async function assertRefusalLogged(
  proxy: Daemon,
  code: string,
  status: number,
): Promise<void> {
  const refused = await proxy.waitFor((l) => l.msg === 'handshake refused' && l.code === code);
  assert.equal(refused.status, status);
}

/** The value of a settled promise; undefined if it was rejected (see `rethrowFirst`). */
export const valueOf = <T>(r: PromiseSettledResult<T>): T | undefined =>
  r.status === 'fulfilled' ? r.value : undefined;

/** Throws the reason of the first rejected result, if any. */
export function rethrowFirst(results: readonly PromiseSettledResult<unknown>[]): void {
  for (const r of results) if (r.status === 'rejected') throw r.reason;
}

/** Runs every step, even when one throws; then rethrows the first error. */
export async function settleAll(...steps: (() => Promise<unknown> | undefined)[]): Promise<void> {
  rethrowFirst(await Promise.allSettled(steps.map(async (s) => s())));
}

/** Saves a screenshot of `page` as `<ARTIFACTS>/<name>.png` and names it in the test's output. */
export async function screenshot(page: Page, name: string, t: TestContext): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path, timeout: 10_000 });
  t.diagnostic(`screenshot: ${path}`);
}

export interface PageOptions<V> {
  /** The failure screenshot is `<prefix><test name>` (default 'failed-'). */
  screenshotPrefix?: string;
  /** Run after the body however it ended, before the page closes (errors ignored). */
  release?: (view: V) => Promise<unknown>;
}

/**
 * Runs a test body with a fresh page of `b`, opened by `open` (which loads the test's
 * console page into it); on failure saves a screenshot; always closes the page.
 */
export async function withPage<V>(
  t: TestContext,
  b: TestBrowser,
  open: (page: Page) => Promise<V>,
  body: (view: V) => Promise<void>,
  opts: PageOptions<V> = {},
): Promise<void> {
  const page = await b.newPage();
  try {
    const view = await open(page);
    try {
      await body(view);
    } catch (e) {
      const name = `${opts.screenshotPrefix ?? 'failed-'}${t.name.replace(/\W+/g, '-')}`;
      await screenshot(page, name, t).catch(() => {});
      throw e;
    } finally {
      if (opts.release) await opts.release(view).catch(() => {});
    }
  } finally {
    await page.context().close();
  }
}
