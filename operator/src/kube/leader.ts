/**
 * Leader election through a coordination.k8s.io/v1 Lease, as client-go's leaderelection
 * does it: a candidate takes the Lease when it is free or its holder has not renewed it
 * for leaseDuration (measured on the local clock from when this process last saw the
 * record change, so clock skew between nodes does not matter); the leader renews every
 * retryPeriod and gives up when it could not renew for renewDeadline. Updates carry the
 * resourceVersion, so two candidates never both win. On shutdown the leader releases the
 * Lease (empty holder) and another candidate takes over at its next retry.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { isStatus, type KubeClient } from './client.js';
import { collectionPath, objectPath, Resources } from './resources.js';
import { microTime } from './time.js';

/** The Lease fields used here. */
interface Lease {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec?: {
    holderIdentity?: string | null;
    leaseDurationSeconds?: number;
    acquireTime?: string | null;
    renewTime?: string | null;
    leaseTransitions?: number;
  };
}

/** Options of {@link LeaderElector}; durations in milliseconds. */
export interface LeaderElectionOptions {
  client: KubeClient;
  log: Logger;
  namespace: string;
  /** Lease name. Default `wsgate-operator` (the name operator/rbac grants). */
  name?: string;
  /** This candidate's identity (the pod name in a cluster). */
  identity: string;
  /** How long a Lease holds without renewal. Default 15 000. */
  leaseDurationMs?: number;
  /** How long the leader keeps trying to renew before it gives up. Default 10 000. */
  renewDeadlineMs?: number;
  /** Pause between attempts. Default 2 000. */
  retryPeriodMs?: number;
  /** Told when leadership starts (true) or ends (false). */
  onChange?: (leading: boolean) => void;
  /**
   * The monotonic clock expiry and the renew deadline are measured on, in milliseconds.
   * Default performance.now; tests step a clock of their own instead of sleeping.
   */
  now?: () => number;
}

/** The default Lease name. */
export const LEASE_NAME = 'wsgate-operator';

/** Runs one candidate; see the module comment. */
export class LeaderElector {
  readonly name: string;
  private readonly options: LeaderElectionOptions;
  private readonly leaseMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryMs: number;
  private readonly now: () => number;
  /** The last record seen, and when (local monotonic clock) it was seen to change. */
  private observed: { key: string; at: number } | undefined;
  private lease: Lease | undefined;
  private leading = false;

  constructor(options: LeaderElectionOptions) {
    this.options = options;
    this.name = options.name ?? LEASE_NAME;
    this.leaseMs = options.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = options.renewDeadlineMs ?? 10_000;
    this.retryMs = options.retryPeriodMs ?? 2_000;
    this.now = options.now ?? (() => performance.now());
    if (!(this.leaseMs > this.renewDeadlineMs && this.renewDeadlineMs > this.retryMs)) {
      throw new RangeError('lease duration > renew deadline > retry period is required');
    }
  }

  /** Whether this candidate holds the Lease. */
  isLeader(): boolean {
    return this.leading;
  }

  private path(): string {
    return objectPath(Resources.Lease, this.options.namespace, this.name);
  }

  private record(now: Date, previous: Lease['spec'] | undefined): NonNullable<Lease['spec']> {
    const mine = previous?.holderIdentity === this.options.identity;
    return {
      holderIdentity: this.options.identity,
      leaseDurationSeconds: Math.ceil(this.leaseMs / 1000),
      acquireTime: mine && previous?.acquireTime ? previous.acquireTime : microTime(now),
      renewTime: microTime(now),
      leaseTransitions: (previous?.leaseTransitions ?? 0) + (mine ? 0 : 1),
    };
  }

  /** One attempt to take or renew the Lease; true when this candidate holds it after. */
  async tryAcquireOrRenew(): Promise<boolean> {
    const { client, namespace, identity } = this.options;
    const now = new Date();
    const current = await client.get<Lease>(this.path());
    if (!current) {
      const lease: Lease = {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name: this.name, namespace },
        spec: { ...this.record(now, undefined), leaseTransitions: 0 },
      };
      try {
        this.lease = await client.request<Lease>(
          'POST',
          collectionPath(Resources.Lease, namespace),
          {
            body: lease,
          },
        );
        return true;
      } catch (err) {
        if (isStatus(err, 409)) return false; // another candidate was quicker
        throw err;
      }
    }
    const spec = current.spec ?? {};
    const key = JSON.stringify([spec.holderIdentity, spec.renewTime, spec.leaseTransitions]);
    if (this.observed?.key !== key) this.observed = { key, at: this.now() };
    const holder = spec.holderIdentity ?? '';
    const duration = (spec.leaseDurationSeconds ?? this.leaseMs / 1000) * 1000;
    if (holder !== '' && holder !== identity && this.now() - this.observed.at < duration) {
      return false;
    }
    try {
      this.lease = await client.request<Lease>('PUT', this.path(), {
        body: { ...current, spec: this.record(now, spec) },
      });
      this.observed = undefined;
      return true;
    } catch (err) {
      if (isStatus(err, 409)) return false; // changed since read: someone else renewed
      throw err;
    }
  }

  private async attempt(): Promise<boolean> {
    try {
      return await this.tryAcquireOrRenew();
    } catch (err) {
      this.options.log.warn({ err, lease: this.name }, 'leader election request failed');
      return false;
    }
  }

  private setLeading(leading: boolean): void {
    if (this.leading === leading) return;
    this.leading = leading;
    this.options.log.info(
      { lease: `${this.options.namespace}/${this.name}`, identity: this.options.identity },
      leading ? 'became leader' : 'stopped leading',
    );
    this.options.onChange?.(leading);
  }

  /**
   * Campaigns until this candidate leads (true) or `signal` aborts (false). Attempts are
   * spaced by retryPeriod with up to 20 % jitter.
   */
  async acquire(signal: AbortSignal): Promise<boolean> {
    this.options.log.info(
      { lease: `${this.options.namespace}/${this.name}` },
      'waiting for leadership',
    );
    while (!signal.aborted) {
      if (await this.attempt()) {
        this.setLeading(true);
        return true;
      }
      const jitter = this.retryMs * 0.2 * Math.random();
      await sleep(this.retryMs + jitter, undefined, { signal }).catch(() => undefined);
    }
    return false;
  }

  /**
   * Renews every retryPeriod while `signal` is not aborted. Resolves false when a
   * renewal could not succeed within renewDeadline (leadership lost), true on abort.
   */
  async hold(signal: AbortSignal): Promise<boolean> {
    let lastRenew = this.now();
    while (!signal.aborted) {
      await sleep(this.retryMs, undefined, { signal }).catch(() => undefined);
      if (signal.aborted) break;
      if (await this.attempt()) {
        lastRenew = this.now();
      } else if (this.now() - lastRenew > this.renewDeadlineMs) {
        this.setLeading(false);
        return false;
      }
    }
    return true;
  }

  /** Gives the Lease up (empty holder) if held, so another candidate need not wait it out. */
  async release(): Promise<void> {
    const lease = this.lease;
    if (!this.leading || !lease) return;
    this.setLeading(false);
    const now = microTime(new Date());
    try {
      await this.options.client.request('PUT', this.path(), {
        body: {
          ...lease,
          spec: {
            ...lease.spec,
            holderIdentity: null,
            leaseDurationSeconds: 1,
            acquireTime: now,
            renewTime: now,
          },
        },
      });
    } catch (err) {
      this.options.log.warn({ err, lease: this.name }, 'could not release the lease');
    }
  }
}
