/**
 * The replay store behind `--jwt-single-use`: remembers which single-use tickets were
 * used, by whom and when. "Single use" means one console, not one connection: SPICE
 * opens one WebSocket per channel (main, display, inputs, cursor, …) with the same
 * ticket, so a claim from the client address of the first use, within a short window
 * after it, is accepted too. Every other reuse is a replay.
 *
 * Implementations: in memory (one process, the default), the cluster primary's memory
 * over IPC (`--workers`), and Redis (`--replay-store`, shared by replicas).
 */

/** What a claim found. */
export type ClaimResult = 'first' | 'same-client-window' | 'replay';

export interface Claim {
  /** The ticket's identity (its `jti`). */
  key: string;
  /** The client address of this use; "" (unknown) never matches a window. */
  client: string;
  /** How long the claim is remembered: until the ticket could no longer be valid. */
  ttlMs: number;
  /** After the first use, how long further uses from the same client are accepted. */
  windowMs: number;
}

export interface ReplayStore {
  /** memory, cluster or redis: for logs. */
  readonly kind: string;
  /**
   * Claims a ticket atomically. Rejects with {@link ReplayStoreUnavailable} when the
   * store cannot answer, so that callers fail closed.
   */
  claim(claim: Claim): Promise<ClaimResult>;
  /** Null when claims can be answered, else why not (shown by /readyz). */
  unavailable(): string | null;
  close(): void;
}

/** The store cannot answer; single-use tickets must be refused until it can. */
export class ReplayStoreUnavailable extends Error {
  override name = 'ReplayStoreUnavailable';
}

/** The first use of a ticket, as remembered. */
export interface FirstUse {
  client: string;
  atMs: number;
}

/** Judges a claim against the first use (undefined: this is the first). Pure. */
export function judge(
  first: FirstUse | undefined,
  client: string,
  nowMs: number,
  windowMs: number,
): ClaimResult {
  if (first === undefined) return 'first';
  if (client !== '' && first.client === client && nowMs - first.atMs <= windowMs) {
    return 'same-client-window';
  }
  return 'replay';
}

interface Entry extends FirstUse {
  untilMs: number;
}

/** One process's memory; the default, and the cluster primary's store for its workers. */
export class MemoryReplayStore implements ReplayStore {
  readonly kind = 'memory';
  readonly #seen = new Map<string, Entry>();
  readonly #now: () => number;
  #nextSweep = 0;

  /**
   * @param max Most tickets remembered at once; beyond it new claims are refused rather
   *   than evicting a live entry (which would let that ticket be replayed). Default 100 000.
   * @param now Milliseconds since the epoch. Default `Date.now`.
   */
  constructor(
    readonly max = 100_000,
    now: () => number = Date.now,
  ) {
    this.#now = now;
  }

  claim(claim: Claim): Promise<ClaimResult> {
    try {
      return Promise.resolve(this.claimSync(claim));
    } catch (e) {
      return Promise.reject(e as Error);
    }
  }

  /** {@link claim} without the promise: a claim in memory is atomic by construction. */
  claimSync({ key, client, ttlMs, windowMs }: Claim): ClaimResult {
    const nowMs = this.#now();
    const entry = this.#seen.get(key);
    if (entry !== undefined && entry.untilMs >= nowMs) {
      return judge(entry, client, nowMs, windowMs);
    }
    if (nowMs >= this.#nextSweep || this.#seen.size >= this.max) {
      for (const [k, v] of this.#seen) if (v.untilMs < nowMs) this.#seen.delete(k);
      this.#nextSweep = nowMs + 10_000;
    }
    if (this.#seen.size >= this.max) {
      throw new ReplayStoreUnavailable('too many single-use tickets outstanding');
    }
    this.#seen.set(key, { client, atMs: nowMs, untilMs: nowMs + ttlMs });
    return 'first';
  }

  unavailable(): string | null {
    return null;
  }

  get size(): number {
    return this.#seen.size;
  }

  close(): void {
    this.#seen.clear();
  }
}
