/**
 * The live sessions of one proxy process, by id, by relay and by target: what the audit
 * log, the per-target limit (`--max-sessions-per-target`), ticket expiry
 * (`--end-at-ticket-expiry`) and the admin API need to know about each session. Pure
 * bookkeeping plus one timer per expiring session; the relay itself is opaque here
 * (live-sessions.ts starts and ends relays and keeps their metrics and log lines).
 */
import { CLOSES } from './errors.js';

/** What every log line and admin listing says about a session. Never the token. */
export interface SessionInfo {
  /** The `conn` id of the log lines: unique across workers (pid prefix). */
  id: string;
  /** Client address (after `--trusted-proxy` / PROXY protocol). */
  client: string;
  /** The target as the token named it: `host:port`, `[v6]:port` or `unix:/path`. */
  target: string;
  /** The ticket's subject (a JWT's `sub`); absent for token files and oVirt tickets. */
  subject?: string;
  /** When the ticket expires, ms since the epoch. */
  expiresAt?: number;
  /**
   * Which console the session belongs to, for the per-target limit: sessions with the
   * same key (token hash and client address) are one console, because SPICE opens one
   * WebSocket per channel with the same token. Default: the session is a console alone.
   */
  console?: string;
}

/** The part of a Relay the registry uses. */
export interface SessionRelay {
  readonly bytesClientToTarget: number;
  readonly bytesTargetToClient: number;
  close(how: { code: number; reason: string }, by?: 'client' | 'target' | 'proxy'): void;
}

/** Why the proxy itself ended a session (label of `wsgate_sessions_closed_by_proxy_total`). */
export type ProxyCloseReason = 'replaced' | 'ticket_expired' | 'admin';

const CLOSE_FOR: Record<ProxyCloseReason, { code: number; reason: string }> = {
  replaced: CLOSES.replaced,
  ticket_expired: CLOSES.ticketExpired,
  admin: CLOSES.admin,
};

/** One session as the admin API lists it. */
export interface SessionView {
  id: string;
  client: string;
  target: string;
  subject?: string;
  /** ISO 8601, UTC. */
  started: string;
  expires?: string;
  bytesClientToTarget: number;
  bytesTargetToClient: number;
}

export type TargetLimitPolicy = 'refuse' | 'replace';

export interface RegistryOptions {
  /** `--max-sessions-per-target`; 0 = unlimited. */
  maxPerTarget: number;
  policy: TargetLimitPolicy;
  /** Counts sessions the proxy closed, by reason. */
  onProxyClose?(reason: ProxyCloseReason): void;
  /** Wall clock in ms (for `started`). Default `Date.now`. */
  now?: () => number;
}

interface Entry<R extends SessionRelay> {
  info: SessionInfo;
  relay: R;
  startedAt: number;
  timer?: NodeJS.Timeout;
  /** Set once the proxy closed it: counted once, and no longer counted against the limit. */
  closing?: ProxyCloseReason;
}

/** Longest delay setTimeout takes (about 24.8 days); later expiries re-arm. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export class SessionRegistry<R extends SessionRelay> {
  readonly #byRelay = new Map<R, Entry<R>>();
  readonly #byId = new Map<string, Entry<R>>();
  /** Per target, oldest first (Set keeps insertion order). */
  readonly #byTarget = new Map<string, Set<Entry<R>>>();
  /** Handshakes past the limit check that have not become sessions yet: target → console → n. */
  readonly #pending = new Map<string, Map<string, number>>();
  #anonymous = 0;
  readonly #now: () => number;

  constructor(private readonly options: RegistryOptions) {
    this.#now = options.now ?? Date.now;
  }

  get size(): number {
    return this.#byRelay.size;
  }

  /** The consoles open or being opened to `target` (sessions the proxy closes excluded). */
  #consoles(target: string): Set<string> {
    const keys = new Set(this.#pending.get(target)?.keys());
    for (const e of this.#byTarget.get(target) ?? []) if (!e.closing) keys.add(this.#key(e.info));
    return keys;
  }

  #key(info: SessionInfo): string {
    return info.console ?? `session:${info.id}`;
  }

  /**
   * The per-target limit, checked once the token named a target and before it is
   * dialled. It counts consoles, not WebSockets (see `SessionInfo.console`): a further
   * channel of a console already there always passes. With `refuse`, a target with `max`
   * consoles (open or being opened) refuses a new one: returns undefined. Otherwise
   * returns a release function that must be called when the handshake ends either way
   * (`add` does not release it).
   */
  reserve(target: string, consoleKey = `pending:${++this.#anonymous}`): (() => void) | undefined {
    const { maxPerTarget, policy } = this.options;
    if (maxPerTarget > 0 && policy === 'refuse') {
      const consoles = this.#consoles(target);
      if (!consoles.has(consoleKey) && consoles.size >= maxPerTarget) return undefined;
    }
    let pending = this.#pending.get(target);
    if (!pending) this.#pending.set(target, (pending = new Map()));
    pending.set(consoleKey, (pending.get(consoleKey) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (pending.get(consoleKey) ?? 1) - 1;
      if (left > 0) pending.set(consoleKey, left);
      else pending.delete(consoleKey);
      if (pending.size === 0 && this.#pending.get(target) === pending) this.#pending.delete(target);
    };
  }

  /**
   * Records a started session. With `replace`, every session of the oldest consoles to
   * the same target beyond the limit is closed (4001). With `endAtExpiry` and an
   * `expiresAt`, the session is closed (1008 `ticket expired`) when its ticket expires.
   */
  add(relay: R, info: SessionInfo, endAtExpiry = false): void {
    const entry: Entry<R> = { info, relay, startedAt: this.#now() };
    this.#byRelay.set(relay, entry);
    this.#byId.set(info.id, entry);
    let same = this.#byTarget.get(info.target);
    if (!same) this.#byTarget.set(info.target, (same = new Set()));
    same.add(entry);
    const { maxPerTarget, policy } = this.options;
    if (maxPerTarget > 0 && policy === 'replace') {
      // Consoles in the order their first session opened (a Set keeps insertion order).
      const consoles = new Map<string, Entry<R>[]>();
      for (const e of same) {
        if (e.closing) continue;
        const k = this.#key(e.info);
        consoles.set(k, [...(consoles.get(k) ?? []), e]);
      }
      consoles.delete(this.#key(info));
      const excess = consoles.size + 1 - maxPerTarget;
      for (const old of [...consoles.values()].slice(0, Math.max(0, excess))) {
        for (const e of old) this.#closeEntry(e, 'replaced');
      }
    }
    if (endAtExpiry && info.expiresAt !== undefined) this.#arm(entry);
  }

  /** The session's facts, or undefined once removed. */
  infoOf(relay: R): SessionInfo | undefined {
    return this.#byRelay.get(relay)?.info;
  }

  /** Forgets a session that ended; returns what was known about it. */
  remove(relay: R): SessionInfo | undefined {
    const entry = this.#byRelay.get(relay);
    if (!entry) return undefined;
    clearTimeout(entry.timer);
    this.#byRelay.delete(relay);
    this.#byId.delete(entry.info.id);
    const same = this.#byTarget.get(entry.info.target);
    same?.delete(entry);
    if (same?.size === 0) this.#byTarget.delete(entry.info.target);
    return entry.info;
  }

  /** Every live session, oldest first. */
  list(): SessionView[] {
    return [...this.#byRelay.values()].map(view);
  }

  /** Closes one session by id (1008 `closed by administrator`); false if unknown here. */
  closeById(id: string): SessionView | undefined {
    const entry = this.#byId.get(id);
    if (!entry) return undefined;
    this.#closeEntry(entry, 'admin');
    return view(entry);
  }

  /** Closes every session to `target` (as listed); returns them. */
  closeByTarget(target: string): SessionView[] {
    const entries = [...(this.#byTarget.get(target) ?? [])];
    for (const e of entries) this.#closeEntry(e, 'admin');
    return entries.map(view);
  }

  /** Stops the expiry timers (the sessions themselves are ended by the server). */
  close(): void {
    for (const e of this.#byRelay.values()) clearTimeout(e.timer);
  }

  #closeEntry(entry: Entry<R>, reason: ProxyCloseReason): void {
    clearTimeout(entry.timer);
    entry.timer = undefined;
    if (entry.closing) return;
    entry.closing = reason;
    this.options.onProxyClose?.(reason);
    entry.relay.close(CLOSE_FOR[reason], 'proxy');
  }

  #arm(entry: Entry<R>): void {
    const left = entry.info.expiresAt! - this.#now();
    if (left <= 0) return this.#closeEntry(entry, 'ticket_expired');
    entry.timer = setTimeout(() => this.#arm(entry), Math.min(left, MAX_TIMER_MS));
    entry.timer.unref();
  }
}

function view({ info, relay, startedAt }: Entry<SessionRelay>): SessionView {
  const v: SessionView = {
    id: info.id,
    client: info.client,
    target: info.target,
    started: new Date(startedAt).toISOString(),
    bytesClientToTarget: relay.bytesClientToTarget,
    bytesTargetToClient: relay.bytesTargetToClient,
  };
  if (info.subject !== undefined) v.subject = info.subject;
  if (info.expiresAt !== undefined) v.expires = new Date(info.expiresAt).toISOString();
  return v;
}
