/**
 * The work queue, with client-go's semantics: a key is queued at most once however
 * often it is added (de-duplication); a key being processed is never handed out again
 * until done() (one reconcile per key at a time), and an add meanwhile queues it once
 * more after done(); delayed adds keep the earliest deadline; failures back off
 * exponentially per key until forget().
 */
import type { QueueMetrics } from '../serving/metrics.js';

/** Options of {@link WorkQueue}. */
export interface WorkQueueOptions {
  /** First retry delay after a failure, doubled per failure. Default 500 ms. */
  baseDelayMs?: number;
  /** Longest retry delay. Default 5 minutes. */
  maxDelayMs?: number;
  metrics?: QueueMetrics;
}

const NO_METRICS: QueueMetrics = {
  depth: { inc() {}, dec() {} },
  adds: { inc() {} },
  latency: { observe() {} },
  workDuration: { observe() {} },
  retries: { inc() {} },
};

/** A de-duplicating, rate-limited queue of string keys. */
export class WorkQueue {
  private readonly queue: string[] = [];
  /** Keys waiting to be processed (queued, or to be re-queued when their processing ends). */
  private readonly dirty = new Set<string>();
  /** Keys being processed, with the time processing began. */
  private readonly processing = new Map<string, number>();
  private readonly addedAt = new Map<string, number>();
  private readonly delayed = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  private readonly failures = new Map<string, number>();
  private readonly waiters: ((key: string | undefined) => void)[] = [];
  private readonly drained: (() => void)[] = [];
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly metrics: QueueMetrics;
  private shuttingDown = false;

  constructor(options: WorkQueueOptions = {}) {
    this.baseDelayMs = options.baseDelayMs ?? 500;
    this.maxDelayMs = options.maxDelayMs ?? 300_000;
    this.metrics = options.metrics ?? NO_METRICS;
  }

  /** Queues `key` unless it is already waiting. */
  add(key: string): void {
    if (this.shuttingDown || this.dirty.has(key)) return;
    this.metrics.adds.inc();
    this.dirty.add(key);
    this.addedAt.set(key, performance.now());
    if (this.processing.has(key)) return;
    this.push(key);
  }

  private push(key: string): void {
    this.metrics.depth.inc();
    const waiter = this.waiters.shift();
    if (waiter) this.hand(key, waiter);
    else this.queue.push(key);
  }

  private hand(key: string, to: (key: string) => void): void {
    this.metrics.depth.dec();
    this.dirty.delete(key);
    const now = performance.now();
    this.metrics.latency.observe((now - (this.addedAt.get(key) ?? now)) / 1000);
    this.addedAt.delete(key);
    this.processing.set(key, now);
    to(key);
  }

  /** Queues `key` after `delayMs`; an earlier pending deadline for it is kept. */
  addAfter(key: string, delayMs: number): void {
    if (this.shuttingDown) return;
    if (delayMs <= 0) {
      this.add(key);
      return;
    }
    const at = Date.now() + delayMs;
    const pending = this.delayed.get(key);
    if (pending && pending.at <= at) return;
    if (pending) clearTimeout(pending.timer);
    const timer = setTimeout(() => {
      this.delayed.delete(key);
      this.add(key);
    }, delayMs);
    timer.unref();
    this.delayed.set(key, { at, timer });
  }

  /**
   * Queues `key` after its back-off delay, which doubles with each call until forget().
   * Returns that delay (ms).
   */
  addRateLimited(key: string): number {
    const n = this.failures.get(key) ?? 0;
    this.failures.set(key, n + 1);
    this.metrics.retries.inc();
    const delayMs = this.backoff(n);
    this.addAfter(key, delayMs);
    return delayMs;
  }

  /** The delay after `failures` previous failures. */
  backoff(failures: number): number {
    return Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** Math.min(failures, 30));
  }

  /** Ends back-off for `key` (it succeeded, or is gone). */
  forget(key: string): void {
    this.failures.delete(key);
  }

  /** How many times `key` has been re-queued by addRateLimited since its last forget(). */
  retries(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  /**
   * The next key to process, waiting for one if need be; undefined once shut down.
   * Call done(key) when finished with it.
   */
  get(): Promise<string | undefined> {
    if (this.shuttingDown) return Promise.resolve(undefined);
    const key = this.queue.shift();
    if (key !== undefined) return new Promise((resolve) => this.hand(key, resolve));
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Marks `key` processed; if it was added meanwhile, it is queued again. */
  done(key: string): void {
    const started = this.processing.get(key);
    if (started === undefined) return;
    this.processing.delete(key);
    this.metrics.workDuration.observe((performance.now() - started) / 1000);
    if (this.dirty.has(key) && !this.shuttingDown) this.push(key);
    if (this.processing.size === 0) for (const resolve of this.drained.splice(0)) resolve();
  }

  /** Keys waiting to be handed out. */
  len(): number {
    return this.queue.length;
  }

  /** Start times (performance.now()) of the keys being processed. */
  inFlight(): number[] {
    return [...this.processing.values()];
  }

  /** Stops handing out keys: waiting get() calls resolve undefined, adds are ignored. */
  shutDown(): void {
    this.shuttingDown = true;
    for (const { timer } of this.delayed.values()) clearTimeout(timer);
    this.delayed.clear();
    for (const resolve of this.waiters.splice(0)) resolve(undefined);
  }

  /** Resolves when no key is being processed. */
  idle(): Promise<void> {
    if (this.processing.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.drained.push(resolve));
  }
}
