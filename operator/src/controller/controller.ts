/**
 * The WebSocketProxy controller: informers feed the work queue, a fixed number of
 * workers take keys from it and reconcile them, failures back off per key, and every
 * resource is re-queued each resync period. A resource waiting on something no watch
 * reports (an issuer, a Secret where Secrets are not watched) is looked at again after a
 * fixed poll interval. Metrics use controller-runtime's names.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { KubeClient } from '../kube/client.js';
import type { OperatorMetrics, ReconcileResultLabel } from '../serving/metrics.js';
import type { EventRecorder } from './events.js';
import { ControllerInformers, type OptionalCrdNames } from './watches.js';
import { WorkQueue, type WorkQueueOptions } from './queue.js';
import { reconcile, type ReconcileContext } from './reconcile.js';
import { DEFAULT_POLL_MS, requeueAction } from './requeue.js';

/** The controller's name in metrics and logs (controller-runtime uses the lower-case kind). */
export const CONTROLLER_NAME = 'websocketproxy';

/** Options of {@link Controller}. */
export interface ControllerOptions extends Pick<WorkQueueOptions, 'baseDelayMs' | 'maxDelayMs'> {
  client: KubeClient;
  log: Logger;
  metrics: OperatorMetrics;
  events: EventRecorder;
  /** Image for proxies whose spec.image is unset. */
  operatorImage: string;
  /** Namespaces to watch; all when empty or undefined. */
  namespaces?: readonly string[] | undefined;
  /** Concurrent reconciles. Default 4. */
  workers?: number;
  /** Period of the full re-queue, in ms. Default 10 minutes. */
  resyncMs?: number;
  /**
   * Delay before a resource waiting on something unwatched (an issuer, a Secret outside
   * secretsNamespaces) is looked at again, in ms: fixed, not the error back-off. Default DEFAULT_POLL_MS (5 s).
   */
  pollMs?: number;
  /** Namespaces whose Secrets are watched (metadata only); see ControllerInformersOptions. */
  secretsNamespaces?: readonly string[] | undefined;
  crdNames?: OptionalCrdNames;
}

/** Informers, queue and workers of the WebSocketProxy controller. */
export class Controller {
  readonly queue: WorkQueue;
  readonly informers: ControllerInformers;
  private readonly options: ControllerOptions;
  private readonly context: ReconcileContext;
  private readonly workerCount: number;
  private workers: Promise<void>[] = [];
  private timers: NodeJS.Timeout[] = [];
  private started = false;
  private stopped = false;
  private active = 0;

  constructor(options: ControllerOptions) {
    this.options = options;
    this.workerCount = Math.max(1, options.workers ?? 4);
    this.queue = new WorkQueue({
      metrics: options.metrics.queue(CONTROLLER_NAME),
      baseDelayMs: options.baseDelayMs,
      maxDelayMs: options.maxDelayMs,
    });
    this.informers = new ControllerInformers({
      client: options.client,
      log: options.log,
      namespaces: options.namespaces,
      secretsNamespaces: options.secretsNamespaces,
      enqueue: (key) => this.queue.add(key),
      onOptionalKinds: () => this.enqueueAll(),
      crdNames: options.crdNames,
      onRestart: (resource) => options.metrics.informerRestarts.inc({ resource }),
    });
    this.context = {
      client: options.client,
      view: this.informers,
      events: options.events,
      log: options.log,
      operatorImage: options.operatorImage,
      now: () => new Date(),
      warned: new Map(),
      written: new Map(),
      applied: new Map(),
    };
  }

  /** Queues every cached resource. */
  enqueueAll(): void {
    for (const key of this.informers.proxyKeys()) this.queue.add(key);
  }

  /** Starts the informers, waits for their caches, then starts the workers. */
  async start(): Promise<void> {
    const { metrics, log } = this.options;
    this.informers.start();
    await this.informers.waitForSync();
    if (this.stopped) return;
    metrics.maxConcurrentReconciles.set({ controller: CONTROLLER_NAME }, this.workerCount);
    metrics.initController(CONTROLLER_NAME);
    for (let i = 0; i < this.workerCount; i++) this.workers.push(this.work());
    const resync = setInterval(() => this.enqueueAll(), this.options.resyncMs ?? 600_000);
    const gauges = setInterval(() => this.updateGauges(), 1000);
    for (const t of [resync, gauges]) t.unref();
    this.timers.push(resync, gauges);
    this.started = true;
    log.info(
      {
        controller: CONTROLLER_NAME,
        workers: this.workerCount,
        resources: this.informers.proxyKeys().length,
      },
      'caches synced; workers started',
    );
  }

  /** Whether the caches are synced and the workers run. */
  ready(): boolean {
    return this.started && this.informers.hasSynced();
  }

  /**
   * Stops: no new keys are handed out, reconciles in progress get up to `graceMs` to
   * finish, then the informers stop. 20 s leaves the Lease release (after this) inside
   * the chart's 30 s terminationGracePeriodSeconds, so a standby need not wait out the
   * lease.
   */
  async stop(graceMs = 20_000): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    this.queue.shutDown();
    await Promise.race([Promise.all(this.workers), sleep(graceMs, undefined, { ref: false })]);
    await this.informers.stop();
    this.started = false;
  }

  private updateGauges(): void {
    const { metrics } = this.options;
    const now = performance.now();
    const running = this.queue.inFlight().map((t) => (now - t) / 1000);
    const labels = { name: CONTROLLER_NAME, controller: CONTROLLER_NAME };
    metrics.workqueueUnfinished.set(
      labels,
      running.reduce((a, b) => a + b, 0),
    );
    metrics.workqueueLongestRunning.set(labels, Math.max(0, ...running));
  }

  private async work(): Promise<void> {
    for (let key = await this.queue.get(); key !== undefined; key = await this.queue.get()) {
      try {
        await this.process(key);
      } finally {
        this.queue.done(key);
      }
    }
  }

  private async process(key: string): Promise<void> {
    const { metrics, log } = this.options;
    const controller = CONTROLLER_NAME;
    metrics.activeWorkers.set({ controller }, ++this.active);
    const end = metrics.reconcileTime.startTimer({ controller });
    let result: ReconcileResultLabel = 'success';
    try {
      const action = requeueAction(
        await reconcile(this.context, key),
        this.options.pollMs ?? DEFAULT_POLL_MS,
      );
      result = action.result;
      if (action.kind === 'backoff') {
        this.queue.addRateLimited(key);
      } else {
        this.queue.forget(key);
        if (action.kind === 'poll') {
          this.queue.addAfter(key, action.afterMs);
          log.debug({ controller, key, inMs: action.afterMs }, 'polling');
        }
      }
    } catch (err) {
      result = 'error';
      metrics.reconcileErrors.inc({ controller });
      const retryInMs = this.queue.addRateLimited(key);
      log.warn({ err, controller, key, retryInMs }, 'reconcile failed');
    } finally {
      end();
      metrics.reconcileTotal.inc({ controller, result });
      metrics.activeWorkers.set({ controller }, --this.active);
    }
  }
}
