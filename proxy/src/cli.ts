/** `wsgate proxy`: parse settings, run the proxy (or its workers), drain on SIGTERM. */
import { helpText, loadConfig, ConfigError } from './config/load.js';
import { createLogger } from '../../lib/log.js';
import { isWorker, runPrimary, runWorker } from './workers.js';
import { startProxy } from './proxy.js';

export async function proxyCommand(argv: readonly string[]): Promise<number> {
  let config;
  try {
    const loaded = loadConfig({ argv });
    if (loaded.help) {
      process.stdout.write(helpText());
      return 0;
    }
    config = loaded.config;
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    process.stderr.write(`wsgate proxy: ${e.message}\n`);
    return 2;
  }
  const logger = createLogger(config.logLevel, undefined, { batch: true });
  try {
    if (config.workers > 1)
      return isWorker() ? await runWorker(config, logger) : await runPrimary(config, logger);
    const proxy = await startProxy(config, { logger });
    return await new Promise<number>((resolve) => {
      let draining = false;
      const onSignal = (signal: NodeJS.Signals) => {
        if (draining) {
          logger.warn({ signal }, 'second signal: closing now');
          void proxy.close().then(() => resolve(0));
          return;
        }
        draining = true;
        logger.info({ signal }, 'signal received');
        void proxy.drain().then(() => resolve(0));
      };
      process.on('SIGTERM', onSignal);
      process.on('SIGINT', onSignal);
    });
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`wsgate proxy: ${e.message}\n`);
      return 2;
    }
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'EADDRINUSE' || err.code === 'EACCES' || err.code === 'EADDRNOTAVAIL') {
      process.stderr.write(`wsgate proxy: --listen: cannot listen: ${err.code} ${err.message}\n`);
      return 2;
    }
    throw e;
  }
}
