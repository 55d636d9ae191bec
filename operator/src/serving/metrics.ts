/**
 * The operator's Prometheus metrics, named as controller-runtime names them so existing
 * dashboards and alerts work: controller_runtime_reconcile_total{controller,result},
 * controller_runtime_reconcile_errors_total, controller_runtime_reconcile_time_seconds,
 * controller_runtime_max_concurrent_reconciles, controller_runtime_active_workers, the
 * workqueue_* family (labels name and controller), rest_client_requests_total and
 * leader_election_master_status. Plus Node's process metrics. One registry per operator
 * instance, so tests may run several in one process.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Outcome labels of controller_runtime_reconcile_total, as controller-runtime uses them. */
export type ReconcileResultLabel = 'success' | 'error' | 'requeue' | 'requeue_after';

/** The workqueue metrics one queue reports (label values already bound). */
export interface QueueMetrics {
  depth: { inc(): void; dec(): void };
  adds: { inc(): void };
  /** Seconds between add and get. */
  latency: { observe(seconds: number): void };
  /** Seconds between get and done. */
  workDuration: { observe(seconds: number): void };
  retries: { inc(): void };
}

/** Every metric of the operator. */
export class OperatorMetrics {
  readonly registry = new Registry();
  readonly reconcileTotal: Counter<'controller' | 'result'>;
  readonly reconcileErrors: Counter<'controller'>;
  readonly reconcileTime: Histogram<'controller'>;
  readonly maxConcurrentReconciles: Gauge<'controller'>;
  readonly activeWorkers: Gauge<'controller'>;
  readonly workqueueDepth: Gauge<'name' | 'controller'>;
  readonly workqueueAdds: Counter<'name' | 'controller'>;
  readonly workqueueLatency: Histogram<'name' | 'controller'>;
  readonly workqueueWorkDuration: Histogram<'name' | 'controller'>;
  readonly workqueueUnfinished: Gauge<'name' | 'controller'>;
  readonly workqueueLongestRunning: Gauge<'name' | 'controller'>;
  readonly workqueueRetries: Counter<'name' | 'controller'>;
  readonly restClientRequests: Counter<'code' | 'method' | 'host'>;
  readonly leaderStatus: Gauge<'name'>;
  readonly informerRestarts: Counter<'resource'>;

  /** @param defaultMetrics - also collect Node's process_* and nodejs_* metrics. Default true. */
  constructor(defaultMetrics = true) {
    const registers = [this.registry];
    // controller-runtime's buckets for reconcile time; the workqueue's are exponential.
    const reconcileBuckets = [
      0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9,
      1, 1.25, 1.5, 1.75, 2, 2.5, 3, 3.5, 4, 4.5, 5, 6, 7, 8, 9, 10, 15, 20, 25, 30, 40, 50, 60,
    ];
    const queueBuckets = [1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1, 10, 100, 1000];
    const queueLabels = ['name', 'controller'] as const;
    this.reconcileTotal = new Counter({
      name: 'controller_runtime_reconcile_total',
      help: 'Total number of reconciliations per controller',
      labelNames: ['controller', 'result'],
      registers,
    });
    this.reconcileErrors = new Counter({
      name: 'controller_runtime_reconcile_errors_total',
      help: 'Total number of reconciliation errors per controller',
      labelNames: ['controller'],
      registers,
    });
    this.reconcileTime = new Histogram({
      name: 'controller_runtime_reconcile_time_seconds',
      help: 'Length of time per reconciliation per controller',
      labelNames: ['controller'],
      buckets: reconcileBuckets,
      registers,
    });
    this.maxConcurrentReconciles = new Gauge({
      name: 'controller_runtime_max_concurrent_reconciles',
      help: 'Maximum number of concurrent reconciles per controller',
      labelNames: ['controller'],
      registers,
    });
    this.activeWorkers = new Gauge({
      name: 'controller_runtime_active_workers',
      help: 'Number of currently used workers per controller',
      labelNames: ['controller'],
      registers,
    });
    this.workqueueDepth = new Gauge({
      name: 'workqueue_depth',
      help: 'Current depth of workqueue',
      labelNames: queueLabels,
      registers,
    });
    this.workqueueAdds = new Counter({
      name: 'workqueue_adds_total',
      help: 'Total number of adds handled by workqueue',
      labelNames: queueLabels,
      registers,
    });
    this.workqueueLatency = new Histogram({
      name: 'workqueue_queue_duration_seconds',
      help: 'How long in seconds an item stays in workqueue before being requested',
      labelNames: queueLabels,
      buckets: queueBuckets,
      registers,
    });
    this.workqueueWorkDuration = new Histogram({
      name: 'workqueue_work_duration_seconds',
      help: 'How long in seconds processing an item from workqueue takes',
      labelNames: queueLabels,
      buckets: queueBuckets,
      registers,
    });
    this.workqueueUnfinished = new Gauge({
      name: 'workqueue_unfinished_work_seconds',
      help:
        'How many seconds of work has been done that is in progress and has not been ' +
        'observed by work_duration',
      labelNames: queueLabels,
      registers,
    });
    this.workqueueLongestRunning = new Gauge({
      name: 'workqueue_longest_running_processor_seconds',
      help: 'How many seconds has the longest running processor for workqueue been running',
      labelNames: queueLabels,
      registers,
    });
    this.workqueueRetries = new Counter({
      name: 'workqueue_retries_total',
      help: 'Total number of retries handled by workqueue',
      labelNames: queueLabels,
      registers,
    });
    this.restClientRequests = new Counter({
      name: 'rest_client_requests_total',
      help: 'Number of HTTP requests, partitioned by status code, method, and host',
      labelNames: ['code', 'method', 'host'],
      registers,
    });
    this.leaderStatus = new Gauge({
      name: 'leader_election_master_status',
      help: 'Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, 1 indicates master',
      labelNames: ['name'],
      registers,
    });
    this.informerRestarts = new Counter({
      name: 'wsgate_operator_informer_restarts_total',
      help: 'List/watch restarts after an error, per resource',
      labelNames: ['resource'],
      registers,
    });
    if (defaultMetrics) collectDefaultMetrics({ register: this.registry });
  }

  /**
   * Zeroes the reconcile counters of `controller`, as controller-runtime does when a
   * controller starts: rates and alerts then read 0 instead of nothing before the first
   * error.
   */
  initController(controller: string): void {
    for (const result of ['success', 'error', 'requeue'] as const) {
      this.reconcileTotal.inc({ controller, result }, 0);
    }
    this.reconcileErrors.inc({ controller }, 0);
  }

  /** The workqueue metrics of queue `name` (controller-runtime names queues after the controller). */
  queue(name: string): QueueMetrics {
    const labels = { name, controller: name };
    return {
      depth: this.workqueueDepth.labels(labels),
      adds: this.workqueueAdds.labels(labels),
      latency: this.workqueueLatency.labels(labels),
      workDuration: this.workqueueWorkDuration.labels(labels),
      retries: this.workqueueRetries.labels(labels),
    };
  }
}
