/**
 * `--workers 2 --jwt-single-use` without Redis: the workers claim tickets in the
 * primary's store over IPC, so a ticket used on one worker is a replay on the other.
 * Which worker takes a connection is the kernel's and the primary's choice, so the tests
 * connect until the other worker has answered (bounded), telling workers by the `pid` of
 * their log lines.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { portOf, startWsgate, type Daemon } from '../helpers/cli.js';
import { stopProcess } from '../helpers/processes.js';
import { eventually, openClient, receive } from '../helpers/proxy.js';
import type { Refused } from '../helpers/proxy-session.js';
import { startEchoServer, type TestServer } from '../helpers/servers.js';
import { tempDir } from './tokens-fixtures.js';
import { mintSingleUse } from '../helpers/e2e.js';

let echo: TestServer;
let keys: { priv: string; pub: string };
let d: Daemon;
let ws: string;
before(async () => {
  echo = await startEchoServer();
  const dir = tempDir('wsgate-replay-cluster-');
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  keys = { priv: join(dir, 'jwt.key'), pub: join(dir, 'jwt.pub') };
  writeFileSync(keys.priv, privateKey.export({ type: 'pkcs8', format: 'pem' }));
  writeFileSync(keys.pub, publicKey.export({ type: 'spki', format: 'pem' }));
  d = startWsgate([
    'proxy',
    '--listen',
    '127.0.0.1:0',
    '--metrics-listen',
    '127.0.0.1:0',
    '--allow-missing-origin',
    '--jwt-key',
    keys.pub,
    '--jwt-single-use',
    '--jwt-single-use-window',
    '30s',
    '--allow-target',
    '127.0.0.1/32',
    '--workers',
    '2',
    '--drain-timeout',
    '300ms',
  ]);
  ws = `ws://127.0.0.1:${portOf(await d.waitFor((l) => l.msg === 'proxy listening'))}`;
  const metrics = `http://127.0.0.1:${portOf(await d.waitFor((l) => l.msg === 'metrics listening'))}`;
  await eventually(
    async () => (await fetch(`${metrics}/readyz`)).status === 200,
    10_000,
    'both workers ready',
  );
});
after(async () => {
  await stopProcess({ child: d.child, exited: d.exited }, 5000);
  echo.close();
});

/** A single-use ticket for the echo target, minted by the CLI. */
const mint = () => mintSingleUse(keys.priv, `127.0.0.1:${echo.port}`);

test('a ticket used on one worker is refused on the other', async (t) => {
  let start = performance.now();
  const ticket = await mint();
  t.diagnostic(`minted in ${Math.round(performance.now() - start)} ms`);
  start = performance.now();
  let attempts = 0;
  const first = await openClient(`${ws}/?token=${ticket}`);
  const got = receive(first, 4);
  first.send(Buffer.from('ping'));
  await got;
  const opened = await d.waitFor((l) => l.msg === 'connection opened');
  const token = opened.token;
  const firstPid = opened.pid;
  const refusedBy = new Set<unknown>();
  for (let i = 0; i < 20 && !(refusedBy.size === 1 && !refusedBy.has(firstPid)); i++) {
    const before = d.logs.length;
    attempts++;
    await assert.rejects(
      openClient(`${ws}/?token=${ticket}`, undefined, { localAddress: '127.0.0.2' }),
      (e: Refused) =>
        e.status === 401 && e.headers?.['x-wsgate-error'] === 'PROXY_ERR_TOKEN_REPLAYED',
    );
    const line = await d.waitFor(
      (l) => l.code === 'PROXY_ERR_TOKEN_REPLAYED' && d.logs.indexOf(l) >= before,
    );
    assert.equal(line.token, token);
    if (line.pid !== firstPid) refusedBy.add(line.pid);
  }
  t.diagnostic(`${attempts} refused attempts in ${Math.round(performance.now() - start)} ms`);
  assert.equal(refusedBy.size, 1, 'the other worker refused the ticket');
  first.close();
});

test('the same client may reuse the ticket on the other worker within the window', async () => {
  const ticket = await mint();
  const start = d.logs.length;
  const openedSince = () => d.logs.slice(start).filter((l) => l.msg === 'connection opened');
  const clients = [];
  for (let i = 0; i < 20 && new Set(openedSince().map((l) => l.pid)).size < 2; i++) {
    clients.push(await openClient(`${ws}/?token=${ticket}`));
    await eventually(() => openedSince().length === clients.length, 5000, 'connection opened');
  }
  assert.equal(
    new Set(openedSince().map((l) => l.pid)).size,
    2,
    'both workers accepted the ticket from its first client',
  );
  assert.equal(new Set(openedSince().map((l) => l.token)).size, 1);
  for (const c of clients) c.close();
});
