/**
 * Local control plane for tests.
 *
 *   node dist/test/cluster/cli.js up       build if needed, start (or reuse), print the kubeconfig path
 *   node dist/test/cluster/cli.js down     stop what `up` or a test run started, remove its state
 *   node dist/test/cluster/cli.js status   what is running
 *   node dist/test/cluster/cli.js build    only build (or find) the binaries; print their paths
 *   node dist/test/cluster/cli.js watch    internal: the watchdog of a plane a test run started
 *
 * Progress goes to stderr; stdout carries only the result, for scripts.
 */
import { describeAssets, ensureAssets } from './assets.js';
import { down, status, up } from './control-plane.js';
import { watch } from './watchdog.js';

const log = (line: string): void => {
  process.stderr.write(`[cluster] ${line}\n`);
};

async function main(cmd: string | undefined): Promise<number> {
  switch (cmd) {
    case 'up': {
      const started = Date.now();
      const { state, reused } = await up({ keep: true, log });
      const secs = ((Date.now() - started) / 1000).toFixed(1);
      log(`${reused ? 'reused the running' : 'started a'} control plane (${secs} s)`);
      process.stdout.write(`${state.kubeconfig}\n`);
      return 0;
    }
    case 'down': {
      const n = await down();
      log(n === 0 ? 'nothing was running' : `stopped ${n} processes`);
      return 0;
    }
    case 'status':
      for (const line of [...(await status()), ...describeAssets()]) {
        process.stdout.write(`${line}\n`);
      }
      return 0;
    case 'build': {
      const started = Date.now();
      const assets = await ensureAssets(log);
      log(`binaries ready (${((Date.now() - started) / 1000).toFixed(1)} s)`);
      process.stdout.write(`${JSON.stringify(assets, null, 2)}\n`);
      return 0;
    }
    case 'watch':
      await watch(log);
      return 0;
    default:
      process.stderr.write('usage: cli.js up|down|status|build\n');
      return 2;
  }
}

main(process.argv[2]).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    log(err instanceof Error ? err.message : String(err));
    process.exitCode = 1;
  },
);
