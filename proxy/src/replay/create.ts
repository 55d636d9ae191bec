/** Builds the replay store `--jwt-single-use` needs from the config, logging its health. */
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import { SettingError } from '../config/setting-error.js';
import type { ProxyConfig } from '../config/types.js';
import { describeRedis, parseRedisUrl } from './redis.js';
import { RedisReplayStore } from './redis-store.js';
import { MemoryReplayStore, type ReplayStore } from './store.js';

/**
 * Undefined without `--jwt-single-use`; else Redis when `--replay-store` names it, else
 * this process's memory. Throws (naming the flag) when the CA file cannot be read.
 */
export function createReplayStore(config: ProxyConfig, logger: Logger): ReplayStore | undefined {
  if (!config.jwtSingleUse) return undefined;
  if (config.replayStore === undefined) return new MemoryReplayStore();
  const address = parseRedisUrl(config.replayStore);
  let ca: Buffer | undefined;
  if (config.replayStoreCa !== undefined) {
    try {
      ca = readFileSync(config.replayStoreCa);
    } catch (e) {
      throw new SettingError(
        '--replay-store-ca',
        `cannot read ${config.replayStoreCa}: ${(e as NodeJS.ErrnoException).code}`,
        { cause: e },
      );
    }
  }
  const store = describeRedis(address);
  logger.info({ store }, 'replay store configured');
  return new RedisReplayStore({
    address,
    ca,
    passwordFile: config.replayStorePasswordFile,
    onState(problem) {
      if (problem === null) logger.info({ store }, 'replay store connected');
      else
        logger.error(
          { store, err: problem },
          'replay store unavailable; refusing single-use tickets until it is back',
        );
    },
  });
}
