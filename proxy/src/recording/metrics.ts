/**
 * Recording metrics, registered beside the proxy's own (same registry) only when
 * recording is configured. The `reason` label takes a small fixed set of values.
 */
import { Counter, type Registry } from 'prom-client';

/** Reasons a recording stops early; any other errno code is counted as `other`. */
export const STOP_REASONS = [
  'max-bytes',
  'backlog',
  'ENOSPC',
  'EROFS',
  'EFBIG',
  'EDQUOT',
  'EACCES',
  'EIO',
  'other',
] as const;

export class RecordingMetrics {
  /** Sessions whose recording file was opened. */
  readonly recorded: Counter;
  /** Bytes that reached recording files. */
  readonly bytes: Counter;
  /** Recordings that stopped because writing failed (disk full, read-only, too large). */
  readonly failures: Counter<'reason'>;
  /** Recordings cut at `--record-max-bytes` (the session went on). */
  readonly truncated: Counter;
  /** Files removed by the `--record-retention` sweep. */
  readonly expired: Counter;

  constructor(registry: Registry) {
    this.recorded = new Counter({
      name: 'wsgate_recordings_total',
      help: 'Sessions recorded (recording file opened)',
      registers: [registry],
    });
    this.bytes = new Counter({
      name: 'wsgate_recording_bytes_total',
      help: 'Bytes written to recording files',
      registers: [registry],
    });
    this.failures = new Counter({
      name: 'wsgate_recording_failures_total',
      help: 'Recordings stopped by a write failure or a disk slower than the session, by reason',
      labelNames: ['reason'],
      registers: [registry],
    });
    this.truncated = new Counter({
      name: 'wsgate_recordings_truncated_total',
      help: 'Recordings stopped at --record-max-bytes',
      registers: [registry],
    });
    this.expired = new Counter({
      name: 'wsgate_recordings_expired_total',
      help: 'Recording files deleted by the --record-retention sweep',
      registers: [registry],
    });
    // Zeros rather than absent series, so alerts on increase() see the first failure.
    for (const r of STOP_REASONS) if (r !== 'max-bytes') this.failures.labels(r).inc(0);
  }

  /** Counts an early stop under its bounded label. */
  stopped(reason: string): void {
    if (reason === 'max-bytes') {
      this.truncated.inc();
      return;
    }
    const label = (STOP_REASONS as readonly string[]).includes(reason) ? reason : 'other';
    this.failures.labels(label).inc();
  }
}
