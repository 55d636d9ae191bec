/**
 * The replay store in Redis, shared by every replica (`--replay-store redis://…`).
 *
 * One claim is one EVAL of a short Lua script, which Redis runs atomically: GET the
 * ticket's key; if absent, SET it (value "FIRST_USE_MS CLIENT", expiring with the ticket)
 * and answer `first`; else judge the stored first use. A plain `SET NX PX` would decide
 * "first" atomically too, but telling a same-client retry inside the window from a replay
 * then needs a second round trip and each replica's own clock; the script does it in one
 * step on Redis's clock (TIME), so replicas with skewed clocks agree on the window.
 * Needs Redis 5 or later (scripts replicate their effects, so TIME may precede a write).
 */
import { createHash } from 'node:crypto';
import { RespError } from './resp.js';
import { RedisClient, type RedisClientOptions } from './redis.js';
import { ReplayStoreUnavailable, type Claim, type ClaimResult, type ReplayStore } from './store.js';

/** KEYS[1] the ticket's key; ARGV client address, ttl (ms), window (ms). */
export const CLAIM_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local v = redis.call('GET', KEYS[1])
if not v then
  redis.call('SET', KEYS[1], string.format('%d %s', now, ARGV[1]), 'PX', ARGV[2])
  return 'first'
end
local sep = string.find(v, ' ', 1, true)
if ARGV[1] ~= '' and sep and string.sub(v, sep + 1) == ARGV[1]
    and now - tonumber(string.sub(v, 1, sep - 1)) <= tonumber(ARGV[3]) then
  return 'same-client-window'
end
return 'replay'
`;

const RESULTS = new Set<string>(['first', 'same-client-window', 'replay']);

/** Redis key of a ticket: hashed, so its length is bounded and its `jti` not spelled out. */
export function replayKey(jti: string): string {
  return 'wsgate:jti:' + createHash('sha256').update(jti).digest('hex').slice(0, 32);
}

/** Claims in Redis through one {@link RedisClient} connection. */
export class RedisReplayStore implements ReplayStore {
  readonly kind = 'redis';
  readonly #client: RedisClient;

  constructor(options: RedisClientOptions) {
    this.#client = new RedisClient(options);
  }

  async claim({ key, client, ttlMs, windowMs }: Claim): Promise<ClaimResult> {
    const reply = await this.#client.command([
      'EVAL',
      CLAIM_SCRIPT,
      1,
      replayKey(key),
      client,
      Math.max(1, Math.ceil(ttlMs)),
      Math.max(0, Math.floor(windowMs)),
    ]);
    if (reply instanceof RespError) throw new ReplayStoreUnavailable(reply.message);
    if (typeof reply !== 'string' || !RESULTS.has(reply)) {
      throw new ReplayStoreUnavailable(`unexpected reply ${JSON.stringify(reply)}`);
    }
    return reply as ClaimResult;
  }

  unavailable(): string | null {
    return this.#client.problem;
  }

  close(): void {
    this.#client.close();
  }
}
