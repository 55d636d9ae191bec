/**
 * Connection limits: total and per-client-IP concurrent sessions (counting handshakes in
 * progress, so a burst cannot overshoot) and a per-IP handshake rate (token bucket).
 * Memory is bounded: idle buckets are dropped, and the table has a hard size cap.
 */
import { REFUSALS, type Refusal } from '../errors.js';

export interface LimitsOptions {
  /** 0 = unlimited. */
  maxConnections: number;
  maxConnectionsPerIp: number;
  /** Handshakes per second per client IP; 0 = unlimited. Burst is max(1, rate). */
  handshakeRate: number;
  now?: () => number;
}

const MAX_TRACKED_IPS = 100_000;

interface Bucket {
  tokens: number;
  last: number;
}

export class Limits {
  private total = 0;
  private readonly perIp = new Map<string, number>();
  private readonly buckets = new Map<string, Bucket>();
  private readonly now: () => number;

  constructor(private readonly options: LimitsOptions) {
    this.now = options.now ?? (() => performance.now());
  }

  /** Takes one handshake token for `ip`; a Refusal when the rate is exceeded. */
  takeHandshake(ip: string): Refusal | undefined {
    const rate = this.options.handshakeRate;
    if (rate <= 0) return undefined;
    const burst = Math.max(1, rate);
    const now = this.now();
    let b = this.buckets.get(ip);
    if (!b) {
      if (this.buckets.size >= MAX_TRACKED_IPS) this.prune(now);
      b = { tokens: burst, last: now };
      this.buckets.set(ip, b);
    } else {
      b.tokens = Math.min(burst, b.tokens + ((now - b.last) / 1000) * rate);
      b.last = now;
    }
    if (b.tokens < 1) return REFUSALS.rateLimited;
    b.tokens -= 1;
    return undefined;
  }

  /** Reserves a connection slot; pair every success with `release(ip)`. */
  acquire(ip: string): Refusal | undefined {
    const { maxConnections, maxConnectionsPerIp } = this.options;
    if (maxConnections > 0 && this.total >= maxConnections) return REFUSALS.tooManyConnections;
    const mine = this.perIp.get(ip) ?? 0;
    if (maxConnectionsPerIp > 0 && mine >= maxConnectionsPerIp) return REFUSALS.tooManyFromIp;
    this.total++;
    this.perIp.set(ip, mine + 1);
    return undefined;
  }

  release(ip: string): void {
    this.total--;
    const mine = (this.perIp.get(ip) ?? 1) - 1;
    if (mine <= 0) this.perIp.delete(ip);
    else this.perIp.set(ip, mine);
  }

  get connections(): number {
    return this.total;
  }

  /** Drops buckets that have refilled completely: they carry no state. */
  prune(now = this.now()): void {
    const rate = this.options.handshakeRate;
    const full = (Math.max(1, rate) / rate) * 1000;
    for (const [ip, b] of this.buckets) if (now - b.last >= full) this.buckets.delete(ip);
    // Still full of active IPs: forget the oldest rather than grow without bound.
    if (this.buckets.size >= MAX_TRACKED_IPS) {
      let n = this.buckets.size - MAX_TRACKED_IPS / 2;
      for (const ip of this.buckets.keys()) {
        if (n-- <= 0) break;
        this.buckets.delete(ip);
      }
    }
  }

  get trackedIps(): number {
    return this.buckets.size;
  }
}
