/**
 * Timers over all live sessions, and the drain that ends them. Sessions are swept, not
 * timed one by one: one interval pings for the heartbeat, one checks idleness and the
 * session age, so nothing is reset per chunk on the hot path.
 */
import { CLOSES } from './errors.js';
import type { Relay } from './relay.js';

export interface SweepOptions {
  /** Ping interval; a session that did not answer the previous ping is ended. 0 = off. */
  heartbeatMs: number;
  /** No bytes either way for this long closes the session (CLOSES.idle). 0 = off. */
  idleTimeoutMs: number;
  /** Sessions older than this are closed (CLOSES.maxSession). 0 = off. */
  maxSessionMs: number;
}

/** Starts the sweeps over `sessions` (read live at each tick); stop with `stopSweeps`. */
export function startSweeps(sessions: ReadonlySet<Relay>, o: SweepOptions): NodeJS.Timeout[] {
  const { heartbeatMs, idleTimeoutMs, maxSessionMs } = o;
  const timers: NodeJS.Timeout[] = [];
  if (heartbeatMs > 0) {
    timers.push(
      setInterval(() => {
        for (const s of sessions) {
          if (!s.alive) {
            s.terminate('heartbeat: no pong');
            continue;
          }
          s.alive = false;
          s.ping();
        }
      }, heartbeatMs),
    );
  }
  if (idleTimeoutMs > 0 || maxSessionMs > 0) {
    // One sweep for all sessions instead of a timer reset per chunk.
    const shortest = Math.min(...[idleTimeoutMs, maxSessionMs].filter((ms) => ms > 0));
    const every = Math.max(50, Math.min(1000, shortest / 4));
    timers.push(
      setInterval(() => {
        const now = performance.now();
        for (const s of sessions) {
          if (maxSessionMs > 0 && now - s.startedAt >= maxSessionMs) {
            s.close(CLOSES.maxSession);
            continue;
          }
          if (idleTimeoutMs <= 0) continue;
          const total = s.bytesClientToTarget + s.bytesTargetToClient;
          if (total !== s.lastActivityBytes) {
            s.lastActivityBytes = total;
            s.idleSince = now;
          } else if (now - s.idleSince >= idleTimeoutMs) {
            s.close(CLOSES.idle);
          }
        }
      }, every),
    );
  }
  for (const t of timers) t.unref();
  return timers;
}

/** Stops the timers `startSweeps` returned. */
export function stopSweeps(timers: readonly NodeJS.Timeout[]): void {
  for (const t of timers) clearInterval(t);
}

/**
 * The session half of a graceful shutdown: lets `sessions` run for up to `timeoutMs`,
 * then closes the rest with 1001 and, after a short grace for the close handshake,
 * terminates what is left. New upgrades must already be refused (draining).
 */
export async function drainSessions(
  sessions: ReadonlySet<Relay>,
  timeoutMs: number,
): Promise<void> {
  await waitForSessions(sessions, timeoutMs);
  for (const s of sessions) s.close(CLOSES.shutdown);
  // The close handshake normally takes a round trip; don't wait on dead peers.
  await waitForSessions(sessions, 2000);
  for (const s of sessions) s.terminate('shutdown');
}

function waitForSessions(sessions: ReadonlySet<Relay>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve) => {
    const check = () => {
      if (sessions.size === 0 || Date.now() >= deadline) resolve();
      else setTimeout(check, 50);
    };
    check();
  });
}
