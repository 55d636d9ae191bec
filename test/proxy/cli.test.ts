/** The `wsgate` executable as users run it: exit codes, websockify mode, SIGTERM, workers. */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { portOf, runWsgate, startTokenFileProxy, startWsgate } from '../helpers/cli.js';
import { closed, eventually, metricValue, openClient, receive } from '../helpers/proxy.js';
import { startEchoServer, type TestServer } from '../helpers/servers.js';

let echo: TestServer;
let tokens: string;
before(async () => {
  echo = await startEchoServer();
  tokens = join(mkdtempSync(join(tmpdir(), 'wsgate-cli-')), 'tokens');
  writeFileSync(tokens, `echo: 127.0.0.1:${echo.port}\n`);
});
after(() => echo.close());

describe('exit codes and messages', () => {
  const cases: [string, string[], RegExp][] = [
    ['unknown flag', ['proxy', '--frobnicate'], /--frobnicate/],
    [
      'invalid value',
      ['proxy', '--token-file', 't', '--heartbeat', 'often'],
      /--heartbeat: "often" is not a duration/,
    ],
    [
      'unreadable token file',
      ['proxy', '--token-file', '/nonexistent/tokens'],
      /--token-file: cannot read .*ENOENT/,
    ],
    ['unknown command', ['proxi'], /unknown command "proxi"/],
    ['no token source', ['proxy'], /no token source/],
  ];
  for (const [name, args, message] of cases) {
    test(`${name}: exit 2 naming the problem`, async () => {
      const run = await runWsgate(args);
      assert.equal(run.code, 2);
      assert.match(run.stderr, message);
    });
  }

  test('a port in use: exit 2 naming --listen', async () => {
    const run = await runWsgate([
      'proxy',
      `127.0.0.1:${echo.port}`,
      `127.0.0.1:${echo.port}`,
      '--metrics-listen',
      '',
    ]);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /--listen: cannot listen: EADDRINUSE/);
  });

  test('a port in use with --workers 2: the primary stops with exit 2 instead of restarting workers', async () => {
    const run = await runWsgate([
      'proxy',
      `127.0.0.1:${echo.port}`,
      `127.0.0.1:${echo.port}`,
      '--workers',
      '2',
      '--metrics-listen',
      '',
    ]);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /--listen: cannot listen: EADDRINUSE/);
    const lines = run.stdout.split('\n').filter((l) => l.startsWith('{'));
    const msgs = lines.map((l) => (JSON.parse(l) as { msg: string }).msg);
    assert.ok(msgs.includes('worker failed to start; stopping'), msgs.join(' | '));
    assert.ok(!msgs.includes('worker exited; starting another'), msgs.join(' | '));
  });

  test('proxy --help: exit 0 with the flag reference', async () => {
    const run = await runWsgate(['proxy', '--help']);
    assert.equal(run.code, 0);
    assert.match(run.stdout, /--token-file FILE\|DIR/);
  });

  const version = (
    JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
      version: string;
    }
  ).version;
  for (const args of [['--version'], ['version']]) {
    test(`wsgate ${args.join(' ')}: exit 0 printing package.json's version`, async () => {
      const run = await runWsgate(args);
      assert.equal(run.code, 0);
      assert.equal(run.stdout, `${version}\n`);
      assert.equal(run.stderr, '');
    });
  }

  test('wsgate --help lists the version command', async () => {
    const run = await runWsgate(['--help']);
    assert.equal(run.code, 0);
    assert.match(run.stdout, /^ {2}version {4}print wsgate's version \(also --version\)$/m);
  });
});

describe('running proxy', () => {
  test('websockify single-target mode relays without a token, drains on SIGTERM and exits 0', async () => {
    const d = startWsgate([
      'proxy',
      '127.0.0.1:0',
      `127.0.0.1:${echo.port}`,
      '--metrics-listen',
      '127.0.0.1:0',
      '--drain-timeout',
      '600ms',
      '--allow-missing-origin',
    ]);
    const port = portOf(await d.waitFor((l) => l.msg === 'proxy listening'));
    const metricsPort = portOf(await d.waitFor((l) => l.msg === 'metrics listening'));
    const ws = await openClient(`ws://127.0.0.1:${port}/`);
    const got = receive(ws, 4);
    ws.send(Buffer.from('ping'));
    assert.equal((await got).toString(), 'ping');
    const wsClosed = closed(ws);
    d.child.kill('SIGTERM');
    await eventually(
      async () => (await fetch(`http://127.0.0.1:${metricsPort}/readyz`)).status === 503,
      3000,
      'readyz 503',
    );
    const [code] = await wsClosed;
    assert.equal(code, 1001);
    assert.equal(await d.exited, 0);
    assert.ok(d.logs.some((l) => l.msg === 'connection closed' && l.closeCode === 1001));
  });

  test('asynchronous logging loses no line: 200 sessions closed by the drain right before exit all logged', async () => {
    const d = startTokenFileProxy(tokens, ['--drain-timeout', '200ms']);
    const port = portOf(await d.waitFor((l) => l.msg === 'proxy listening'));
    const sessions = 200;
    const clients = [];
    for (let i = 0; i < sessions; i++)
      clients.push(await openClient(`ws://127.0.0.1:${port}/?token=echo`));
    // The drain closes all 200 at once just before the process exits: their lines are
    // the ones still pending in the asynchronous destination.
    d.child.kill('SIGTERM');
    assert.equal(await d.exited, 0);
    for (const ws of clients) ws.terminate();
    const count = (msg: string) => d.logs.filter((l) => l.msg === msg).length;
    await eventually(() => count('connection closed') === sessions, 5000, 'every closed line');
    assert.equal(count('connection opened'), sessions);
    assert.equal(count('connection closed'), sessions);
  });

  test('--workers 2 shares the port and aggregates metrics in the primary', async () => {
    const d = startWsgate([
      'proxy',
      '--listen',
      '127.0.0.1:0',
      '--token-file',
      tokens,
      '--workers',
      '2',
      '--metrics-listen',
      '127.0.0.1:0',
      '--drain-timeout',
      '300ms',
      '--allow-missing-origin',
    ]);
    try {
      const port = portOf(await d.waitFor((l) => l.msg === 'proxy listening'));
      const metrics = `http://127.0.0.1:${portOf(await d.waitFor((l) => l.msg === 'metrics listening'))}`;
      await eventually(
        async () => (await fetch(`${metrics}/readyz`)).status === 200,
        10_000,
        'all workers ready',
      );
      const clients = [];
      for (let i = 0; i < 6; i++)
        clients.push(await openClient(`ws://127.0.0.1:${port}/?token=echo`));
      for (const ws of clients) {
        const got = receive(ws, 100);
        ws.send(Buffer.alloc(100));
        await got;
      }
      await assert.rejects(openClient(`ws://127.0.0.1:${port}/?token=bad`));
      const opened = await d.waitForCount((l) => l.msg === 'connection opened', 6);
      const pids = new Set(opened.map((l) => l.pid));
      assert.equal(pids.size, 2, 'sessions were spread over both workers');
      assert.equal(
        await metricValue(`${metrics}/metrics`, 'wsgate_connections_total', 'result="ok"'),
        6,
      );
      assert.equal(
        await metricValue(
          `${metrics}/metrics`,
          'wsgate_connections_total',
          'result="unauthorized"',
        ),
        1,
      );
      assert.equal(await metricValue(`${metrics}/metrics`, 'wsgate_connections_active'), 6);
      assert.equal(
        await metricValue(
          `${metrics}/metrics`,
          'wsgate_bytes_total',
          'direction="client_to_target"',
        ),
        600,
      );
      d.child.kill('SIGTERM');
      const codes = await Promise.all(clients.map(closed));
      assert.deepEqual(new Set(codes.map(([c]) => c)), new Set([1001]));
      assert.equal(await d.exited, 0);
    } finally {
      d.child.kill('SIGKILL');
    }
  });
});
