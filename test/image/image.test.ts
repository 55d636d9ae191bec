/**
 * The container image, built with podman from the Dockerfile and run the way a cluster
 * runs it: read-only root filesystem, the image's non-root user, stopped with SIGTERM.
 *
 * No registry is reachable from these machines, so the base image is made locally
 * (scripts/build-base-image.sh: debootstrapped bookworm + the pinned Node binary + npm)
 * and passed as NODE_IMAGE. One image build per run (podman's layer cache makes an
 * unchanged rebuild quick). Containers share the host's network namespace, so the proxy
 * inside listens on 127.0.0.1 and reaches the echo server on the host's loopback.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { freePorts } from '../cluster/ports.js';
import { closed, eventually, openClient, receive } from '../helpers/proxy.js';
import { startEchoServer, type TestServer } from '../helpers/servers.js';
import { CACHE, podman, podmanEnv, run, ULIMITS } from './podman.js';

const BASE = 'localhost/wsgate-node-base:24';
const IMAGE = 'localhost/wsgate:test';
const MINUTE = 60_000;

let env: NodeJS.ProcessEnv;
const timings: string[] = [];
const containers: string[] = [];
let seq = 0;

/** A container name this run owns (removed in `after`). */
function containerName(): string {
  const name = `wsgate-image-test-${process.pid}-${++seq}`;
  containers.push(name);
  return name;
}

/** Common `podman run` options: the image's own user, nothing writable, our ulimits. */
const RUN = [
  '--read-only',
  '--network',
  'host',
  // Explicit limits (the configured defaults are dropped once any --ulimit is given).
  '--ulimit',
  `nofile=${ULIMITS.nofile}:${ULIMITS.nofile}`,
  '--ulimit',
  `nproc=${ULIMITS.nproc}:${ULIMITS.nproc}`,
  // Periodic health checks need systemd timers, absent here; `podman healthcheck run`
  // runs the image's HEALTHCHECK on demand instead.
  '--health-interval',
  'disable',
];

before(
  async () => {
    env = podmanEnv();
    const version = await run('podman', ['--version'], env, 30_000).catch((e: Error) => e);
    assert.ok(
      !(version instanceof Error) && version.code === 0,
      `podman is needed (scripts/install-test-deps.sh installs it): ${String(version)}`,
    );

    const base = await run('bash', ['scripts/build-base-image.sh', CACHE, BASE], env, 15 * MINUTE);
    assert.equal(base.code, 0, `base image:\n${base.stderr}`);
    timings.push(`base image ${(base.ms / 1000).toFixed(1)} s`);

    const build = await run(
      'podman',
      [
        'build',
        // The OCI format has no HEALTHCHECK; podman drops it unless told "docker".
        '--format',
        'docker',
        '--network',
        'host',
        '--build-arg',
        `NODE_IMAGE=${BASE}`,
        '--tag',
        IMAGE,
        '.',
      ],
      env,
      20 * MINUTE,
    );
    assert.equal(build.code, 0, `podman build:\n${build.stdout.slice(-4000)}\n${build.stderr}`);
    timings.push(`image build ${(build.ms / 1000).toFixed(1)} s`);
    // Untagged images older than a day, in this test's private storage only; the recent
    // ones are the build cache that keeps the next run's `npm ci` steps from rerunning.
    await podman(env, ['image', 'prune', '--force', '--filter', 'until=24h'], 2 * MINUTE);
  },
  { timeout: 40 * MINUTE },
);

after(async () => {
  if (!env || containers.length === 0) return;
  await run('podman', ['rm', '--force', '--time', '0', '--ignore', ...containers], env, MINUTE);
});

describe('container image', () => {
  test('metadata: non-root user, wsgate entrypoint, health check, size', async (t) => {
    for (const line of timings) t.diagnostic(line);
    const inspect = (format: string) =>
      podman(env, ['image', 'inspect', '--format', format, IMAGE]).then((r) => r.stdout.trim());
    const size = Number(await inspect('{{.Size}}'));
    const config = JSON.parse(await inspect('{{json .Config}}')) as {
      User?: string;
      Entrypoint?: string[];
      StopSignal?: string;
    };
    // podman reports the docker-format HEALTHCHECK beside Config, not in it.
    const healthcheck = JSON.parse(await inspect('{{json .HealthCheck}}')) as { Test?: string[] };
    t.diagnostic(`image size ${size} bytes (${(size / 1e6).toFixed(0)} MB)`);
    assert.equal(config.User, '1000:1000');
    assert.deepEqual(config.Entrypoint, ['wsgate']);
    assert.equal(config.StopSignal, 'SIGTERM');
    assert.equal(healthcheck?.Test?.[0], 'CMD');
    assert.ok(healthcheck?.Test?.includes('node'));
    // A minimal Debian, Node and the production dependencies; well under half a gigabyte.
    assert.ok(size < 500e6, `image is ${size} bytes`);
  });

  test('production dependencies only, code root-owned, running as uid 1000', async () => {
    const check = `
      const fs = require('node:fs');
      const has = (m) => fs.existsSync('/app/node_modules/' + m);
      console.log(JSON.stringify({
        uid: process.getuid(),
        ws: has('ws'), kube: has('@kubernetes/client-node'),
        typescript: has('typescript'), eslint: has('eslint'), nodeBin: has('node'),
        tests: fs.existsSync('/app/dist/test'),
        appOwner: fs.statSync('/app/dist').uid,
      }));`;
    const r = await podman(env, [
      'run',
      '--rm',
      ...RUN,
      '--entrypoint',
      'node',
      IMAGE,
      '-e',
      check,
    ]);
    assert.deepEqual(JSON.parse(r.stdout), {
      uid: 1000,
      ws: true,
      kube: true,
      typescript: false,
      eslint: false,
      nodeBin: false,
      tests: false,
      appOwner: 0,
    });
  });

  test('wsgate operator --help', async () => {
    const name = containerName();
    const r = await run(
      'podman',
      ['run', '--name', name, ...RUN, IMAGE, 'operator', '--help'],
      env,
      MINUTE,
    );
    assert.equal(r.code, 0, `exit ${r.code}: ${r.stdout}${r.stderr}`);
    assert.match(r.stdout, /operator/i);
  });

  describe('wsgate proxy in the container', () => {
    let echo: TestServer;
    let tokens: string;

    before(async () => {
      echo = await startEchoServer();
      // Readable by the container's uid 1000, mounted read-only.
      tokens = mkdtempSync(join(tmpdir(), 'wsgate-image-'));
      chmodSync(tokens, 0o755);
      writeFileSync(join(tokens, 'tokens'), `echo: 127.0.0.1:${echo.port}\n`, { mode: 0o644 });
    });
    after(async () => {
      await echo?.close();
      if (tokens) rmSync(tokens, { recursive: true, force: true });
    });

    test('relays a session, is healthy, and drains cleanly on podman stop', async (t) => {
      const [port, metricsPort] = (await freePorts(2)) as [number, number];
      const name = containerName();
      await podman(env, [
        'run',
        '--detach',
        '--name',
        name,
        ...RUN,
        '--volume',
        `${tokens}:/etc/wsgate:ro`,
        // The HEALTHCHECK follows WSGATE_METRICS_LISTEN.
        '--env',
        `WSGATE_METRICS_LISTEN=127.0.0.1:${metricsPort}`,
        IMAGE,
        'proxy',
        '--listen',
        `127.0.0.1:${port}`,
        '--token-file',
        '/etc/wsgate/tokens',
        '--allow-missing-origin',
        '--drain-timeout',
        '4s',
      ]);
      const logs = async () => (await podman(env, ['logs', name])).stdout;

      await eventually(
        () =>
          fetch(`http://127.0.0.1:${metricsPort}/healthz`).then(
            (r) => r.ok,
            () => false,
          ),
        30_000,
        'the proxy in the container to answer /healthz',
      );
      const health = await run('podman', ['healthcheck', 'run', name], env, 30_000);
      assert.equal(health.code, 0, `HEALTHCHECK: ${health.stdout}${health.stderr}`);

      // The root filesystem is read-only, even where the process could otherwise write.
      const write = await run(
        'podman',
        ['exec', name, 'node', '-e', "require('fs').writeFileSync('/home/node/x', '')"],
        env,
        30_000,
      );
      assert.notEqual(write.code, 0);
      assert.match(write.stderr, /EROFS/);

      const ws = await openClient(`ws://127.0.0.1:${port}/?token=echo`);
      ws.send(Buffer.from('hello through the image'));
      assert.equal((await receive(ws, 23)).toString(), 'hello through the image');
      const wsClosed = closed(ws);

      const stopStarted = Date.now();
      const stop = run('podman', ['stop', '--time', '30', name], env, MINUTE);
      // While draining, new sessions are refused with 503; the open one continues.
      await eventually(
        async () => {
          try {
            (await openClient(`ws://127.0.0.1:${port}/?token=echo`)).terminate();
            return false;
          } catch (e) {
            return (e as { status?: number }).status === 503;
          }
        },
        3500,
        'a 503 while draining',
      );
      ws.send(Buffer.from('still here'));
      assert.equal((await receive(ws, 10)).toString(), 'still here');

      const [code, reason] = await wsClosed;
      assert.deepEqual([code, reason], [1001, 'proxy shutting down']);
      const stopped = await stop;
      const stopMs = Date.now() - stopStarted;
      t.diagnostic(`podman stop took ${stopMs} ms (drain timeout 4 s)`);
      assert.equal(stopped.code, 0, stopped.stderr);
      assert.ok(stopMs >= 3500 && stopMs < 20_000, `stop took ${stopMs} ms`);
      const exit = await podman(env, ['inspect', '--format', '{{.State.ExitCode}}', name]);
      assert.equal(exit.stdout.trim(), '0', 'exit code 0 (137 would mean SIGKILL)');

      const lines = (await logs())
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      assert.ok(lines.some((l) => l.msg === 'signal received' && l.signal === 'SIGTERM'));
      assert.ok(lines.some((l) => l.msg === 'draining' && Number(l.sessions) >= 1));
    });
  });
});
