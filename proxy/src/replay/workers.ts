/**
 * `--workers` without Redis: the workers share the primary's replay store. Each claim is
 * a message to the primary, answered with the store's verdict; the primary's store is
 * the one place that decides, so a ticket used on one worker is a replay on another.
 */
import type { Worker } from 'node:cluster';
import { ReplayStoreUnavailable, type Claim, type ClaimResult, type ReplayStore } from './store.js';

type Request = { type: 'wsgate:replay-claim'; id: number; claim: Claim };
type Answer = { type: 'wsgate:replay-answer'; id: number; result?: ClaimResult; error?: string };

/** Primary side: answers `worker`'s claims from `store`. */
export function serveReplayClaims(worker: Worker, store: ReplayStore): void {
  worker.on('message', (msg: Request) => {
    if (msg?.type !== 'wsgate:replay-claim') return;
    const answer = (a: Omit<Answer, 'type' | 'id'>) => {
      if (worker.isConnected())
        worker.send({ type: 'wsgate:replay-answer', id: msg.id, ...a } satisfies Answer);
    };
    store.claim(msg.claim).then(
      (result) => answer({ result }),
      (e: Error) => answer({ error: e.message }),
    );
  });
}

/** Worker side: the primary's store, over IPC. */
export class WorkerReplayStore implements ReplayStore {
  readonly kind = 'cluster';
  readonly #pending = new Map<
    number,
    { resolve(r: ClaimResult): void; reject(e: Error): void; timer: NodeJS.Timeout }
  >();
  #next = 0;

  /** @param timeoutMs How long a claim waits for the primary. Default 2000. */
  constructor(readonly timeoutMs = 2000) {
    process.on('message', this.#onMessage);
  }

  claim(claim: Claim): Promise<ClaimResult> {
    if (!process.send || !process.connected) {
      return Promise.reject(new ReplayStoreUnavailable('no connection to the primary process'));
    }
    const id = ++this.#next;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new ReplayStoreUnavailable(`primary did not answer within ${this.timeoutMs}ms`));
      }, this.timeoutMs);
      this.#pending.set(id, { resolve, reject, timer });
      process.send!({ type: 'wsgate:replay-claim', id, claim } satisfies Request);
    });
  }

  /** The primary reports the shared store's health on its own /readyz. */
  unavailable(): string | null {
    return null;
  }

  close(): void {
    process.off('message', this.#onMessage);
    for (const p of this.#pending.values()) {
      clearTimeout(p.timer);
      p.reject(new ReplayStoreUnavailable('closed'));
    }
    this.#pending.clear();
  }

  readonly #onMessage = (msg: Answer) => {
    if (msg?.type !== 'wsgate:replay-answer') return;
    const p = this.#pending.get(msg.id);
    if (!p) return;
    this.#pending.delete(msg.id);
    clearTimeout(p.timer);
    if (msg.result !== undefined) p.resolve(msg.result);
    else p.reject(new ReplayStoreUnavailable(msg.error ?? 'no answer'));
  };
}
