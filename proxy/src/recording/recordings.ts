/**
 * Session recording for one proxy instance (`--record-*`): decides which sessions are
 * recorded, names their files, counts them in metrics, logs when one stops early, and
 * runs the retention sweep. Each session's file is written by a RecordingWriter.
 */
import { accessSync, constants, mkdirSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { recordingFileName } from './format.js';
import { RecordingMetrics } from './metrics.js';
import { sweepInterval, sweepRecordings } from './retention.js';
import { DEFAULT_BACKLOG, RecordingWriter, type SessionRecorder } from './writer.js';

export type { SessionRecorder };

export interface RecordingOptions {
  /** `--record-dir`: created (0700) if missing; must be a writable directory. */
  dir: string;
  /** `--record-when`: `always`, or `ticket` (only sessions whose signed ticket asks). */
  when: 'always' | 'ticket';
  /** `--record-input`: write client→target payloads (keystrokes, pointer). Default true. */
  input: boolean;
  /** `--record-max-bytes`: largest file; 0 = unlimited. */
  maxBytes: number;
  /** `--record-retention` in ms: delete recordings older than this; 0 = keep. */
  retentionMs: number;
  /** Encoded bytes a session may have waiting for the disk. Default 16 MiB. */
  maxBacklog?: number;
  registry: Registry;
  logger: Logger;
}

/** What the server knows about a session when it starts. */
export interface SessionFacts {
  session: string;
  client: string;
  target: string;
  /** The token's subject, if the resolver gave one. */
  subject?: string;
  /**
   * The ticket's `record` claim: undefined when the token cannot say (token file,
   * oVirt ticket, fixed target), which under `ticket` means recorded.
   */
  record?: boolean;
}

/** Checks `dir` up front so a bad `--record-dir` fails at start, not per session. */
export function prepareRecordDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (!statSync(dir).isDirectory()) throw new TypeError(`${dir} is not a directory`);
  accessSync(dir, constants.W_OK | constants.X_OK);
}

export class Recordings {
  readonly metrics: RecordingMetrics;
  /** File names being written (the sweep leaves them alone). */
  private readonly active = new Set<string>();
  private readonly writers = new Set<RecordingWriter>();
  private readonly timer: NodeJS.Timeout | undefined;
  private sweeping: Promise<void> | undefined;

  constructor(private readonly o: RecordingOptions) {
    prepareRecordDir(o.dir);
    this.metrics = new RecordingMetrics(o.registry);
    if (o.retentionMs > 0) {
      void this.sweep();
      this.timer = setInterval(() => void this.sweep(), sweepInterval(o.retentionMs));
      this.timer.unref();
    }
  }

  /** The session's recorder, or null when this session is not recorded. */
  start(facts: SessionFacts): SessionRecorder | null {
    if (this.o.when === 'ticket' && facts.record === false) return null;
    const started = new Date();
    const host = hostname();
    const name = recordingFileName(started, host, facts.session);
    const path = join(this.o.dir, name);
    const { logger, metrics } = { logger: this.o.logger, metrics: this.metrics };
    this.active.add(name);
    const writer: RecordingWriter = new RecordingWriter({
      path,
      header: {
        session: facts.session,
        host,
        start: started.toISOString(),
        client: facts.client,
        target: facts.target,
        ...(facts.subject !== undefined ? { subject: facts.subject } : {}),
      },
      input: this.o.input,
      maxBytes: this.o.maxBytes,
      maxBacklog: this.o.maxBacklog ?? DEFAULT_BACKLOG,
      onOpen: () => {
        metrics.recorded.inc();
        logger.info({ conn: facts.session, file: path }, 'recording session');
      },
      onWritten: (n) => metrics.bytes.inc(n),
      onStop: (reason, err) => {
        metrics.stopped(reason);
        const log = { conn: facts.session, file: path, reason, err: err?.message };
        if (reason === 'max-bytes') logger.info(log, 'recording truncated at --record-max-bytes');
        else logger.warn(log, 'recording stopped; the session goes on');
      },
      onClosed: () => {
        this.active.delete(name);
        this.writers.delete(writer);
      },
    });
    this.writers.add(writer);
    return writer;
  }

  /** Deletes recordings older than the retention age (also run on a timer). */
  sweep(now = Date.now()): Promise<void> {
    this.sweeping ??= sweepRecordings(this.o.dir, this.o.retentionMs, now, this.active)
      .then(({ deleted, errors }) => {
        if (deleted.length) this.metrics.expired.inc(deleted.length);
        if (deleted.length)
          this.o.logger.info({ dir: this.o.dir, deleted: deleted.length }, 'recordings expired');
        for (const e of errors) this.o.logger.warn(e, 'recording retention: cannot delete');
      })
      .finally(() => (this.sweeping = undefined));
    return this.sweeping;
  }

  /** Stops the sweep and waits until every recording file is closed. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.sweeping;
    // Bounded: a session that never ends must not hold up shutdown.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all([...this.writers].map((w) => w.closedPromise)),
      new Promise((resolve) => (timer = setTimeout(resolve, 5000))),
    ]);
    clearTimeout(timer);
  }
}
