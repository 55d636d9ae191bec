/**
 * Single-use tickets shared through a real Redis (`--replay-store`): Debian's
 * redis-server, started here on 127.0.0.1 (test/helpers/redis.ts), and two `wsgate proxy`
 * processes. The second client address is 127.0.0.2 (loopback is 127.0.0.0/8).
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseRedisUrl } from '../../proxy/src/replay/redis.js';
import { RedisReplayStore } from '../../proxy/src/replay/redis-store.js';
import { ReplayStoreUnavailable } from '../../proxy/src/replay/store.js';
import { createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import { portOf, startWsgate, type Daemon } from '../helpers/cli.js';
import { stopProcess } from '../helpers/processes.js';
import { eventually, openClient, receive } from '../helpers/proxy.js';
import { refusedWith, withProxy } from '../helpers/proxy-session.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import { startEchoServer, type TestServer } from '../helpers/servers.js';
import { issue } from '../helpers/tls.js';
import { tempDir } from './tokens-fixtures.js';
import { mintSingleUse } from '../helpers/e2e.js';
import { assertNoLeaks } from '../helpers/leak-scan.js';

let echo: TestServer;
let dir: string;
let keys: { priv: string; pub: string };
let tokens: string;
before(async () => {
  echo = await startEchoServer();
  dir = tempDir('wsgate-replay-');
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  keys = { priv: join(dir, 'jwt.key'), pub: join(dir, 'jwt.pub') };
  writeFileSync(keys.priv, privateKey.export({ type: 'pkcs8', format: 'pem' }));
  writeFileSync(keys.pub, publicKey.export({ type: 'spki', format: 'pem' }));
  tokens = join(dir, 'tokens');
  writeFileSync(tokens, `echo: 127.0.0.1:${echo.port}\n`);
});
after(() => echo.close());

/** A single-use ticket for the echo target, minted by the CLI. */
const mint = () => mintSingleUse(keys.priv, `127.0.0.1:${echo.port}`);

/** Opens a session from `localAddress`, echoes 4 bytes through it, closes it. */
async function use(url: string, localAddress = '127.0.0.1'): Promise<void> {
  const ws = await openClient(url, undefined, { localAddress });
  const got = receive(ws, 4);
  ws.send(Buffer.from('ping'));
  assert.equal((await got).toString(), 'ping');
  ws.close();
}

const proxyFlags = (store: string, extra: string[] = []) => [
  '--jwt-key',
  keys.pub,
  '--jwt-single-use',
  '--replay-store',
  store,
  '--token-file',
  tokens,
  '--allow-target',
  '127.0.0.1/32',
  ...extra,
];

interface Proxy {
  d: Daemon;
  ws: string;
  metrics: string;
}

async function startProxyProcess(store: string): Promise<Proxy> {
  const d = startWsgate([
    'proxy',
    '--listen',
    '127.0.0.1:0',
    '--metrics-listen',
    '127.0.0.1:0',
    '--allow-missing-origin',
    ...proxyFlags(store),
  ]);
  const ws = `ws://127.0.0.1:${portOf(await d.waitFor((l) => l.msg === 'proxy listening'))}`;
  const metrics = `http://127.0.0.1:${portOf(await d.waitFor((l) => l.msg === 'metrics listening'))}`;
  await d.waitFor((l) => l.msg === 'replay store connected');
  return { d, ws, metrics };
}

const readyz = async (p: { metrics: string } | string) => {
  const res = await fetch(`${typeof p === 'string' ? p : p.metrics}/readyz`);
  return { status: res.status, body: await res.text() };
};

describe('RedisReplayStore against redis-server', () => {
  let redis: TestRedis;
  before(async () => (redis = await startRedis()));
  after(() => redis.stop());

  test('two connections share claims; the window and the ticket lifetime are kept by Redis', async () => {
    const a = new RedisReplayStore({ address: parseRedisUrl(redis.url) });
    const b = new RedisReplayStore({ address: parseRedisUrl(redis.url) });
    try {
      await eventually(() => a.unavailable() === null && b.unavailable() === null, 5000, 'up');
      const claim = (s: RedisReplayStore, client: string, ttlMs = 60_000) =>
        s.claim({ key: 'jti-1', client, ttlMs, windowMs: 300 });
      assert.equal(await claim(a, '10.0.0.1'), 'first');
      assert.equal(await claim(b, '10.0.0.1'), 'same-client-window');
      assert.equal(await claim(b, '10.0.0.2'), 'replay');
      await eventually(async () => (await claim(a, '10.0.0.1')) === 'replay', 5000, 'window end');
      // A claim lives as long as its ticket could be valid (PX), then the key is gone.
      assert.equal(await b.claim({ key: 'short', client: 'c', ttlMs: 200, windowMs: 0 }), 'first');
      assert.equal(await a.claim({ key: 'short', client: 'd', ttlMs: 200, windowMs: 0 }), 'replay');
      await eventually(
        async () =>
          (await a.claim({ key: 'short', client: 'd', ttlMs: 200, windowMs: 0 })) === 'first',
        5000,
        'expiry',
      );
    } finally {
      a.close();
      b.close();
    }
  });
});

describe('RedisReplayStore against a peer that never answers', () => {
  test('the connection is given up after the command timeout and claims fail at once', async () => {
    // A real TCP server that reads and never replies, as a hung Redis would.
    const sockets = new Set<Socket>();
    const silent = createNetServer((s) => {
      sockets.add(s);
      s.on('data', () => {});
      s.on('close', () => sockets.delete(s));
    });
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as AddressInfo).port;
    const problems: (string | null)[] = [];
    const store = new RedisReplayStore({
      address: parseRedisUrl(`redis://127.0.0.1:${port}/0`),
      commandTimeoutMs: 200,
      onState: (p) => problems.push(p),
    });
    try {
      await eventually(() => problems.length > 0, 5000, 'a reported problem');
      assert.equal(problems[0], `no answer within 200ms (127.0.0.1:${port})`);
      assert.equal(store.unavailable(), problems[0]);
      const started = performance.now();
      await assert.rejects(
        store.claim({ key: 'k', client: 'c', ttlMs: 1000, windowMs: 0 }),
        (e: Error) =>
          e instanceof ReplayStoreUnavailable && /no answer within 200ms/.test(e.message),
      );
      assert.ok(performance.now() - started < 100, 'refused without waiting');
    } finally {
      store.close();
      for (const s of sockets) s.destroy();
      silent.close();
    }
  });
});

describe('two proxy processes sharing one Redis', () => {
  let redis: TestRedis;
  let one: Proxy;
  let two: Proxy;
  before(async () => {
    redis = await startRedis();
    [one, two] = await Promise.all([startProxyProcess(redis.url), startProxyProcess(redis.url)]);
  });
  after(async () => {
    await Promise.all(
      [one, two].map((p) => p && stopProcess({ child: p.d.child, exited: p.d.exited }, 3000)),
    );
    await redis.stop();
  });

  test('a ticket used on one proxy is refused on the other, from another client', async () => {
    const ticket = await mint();
    await use(`${one.ws}/?token=${ticket}`);
    await assert.rejects(
      openClient(`${two.ws}/?token=${ticket}`, undefined, { localAddress: '127.0.0.2' }),
      refusedWith(401, 'PROXY_ERR_TOKEN_REPLAYED'),
    );
    const line = await two.d.waitFor((l) => l.code === 'PROXY_ERR_TOKEN_REPLAYED');
    assert.equal(line.client, '127.0.0.2');
    assert.match(String(line.token), /^sha256:[0-9a-f]{12}$/);
  });

  test('the same client within the window is accepted on the other proxy', async () => {
    const ticket = await mint();
    await use(`${one.ws}/?token=${ticket}`);
    await use(`${two.ws}/?token=${ticket}`);
  });

  test('Redis stopped: single-use tickets refused (503, logged, /readyz says why), token-file tokens still work; back when Redis is', async () => {
    const ticket = await mint();
    await redis.stop();
    for (const p of [one, two]) {
      const line = await p.d.waitFor(
        (l) => l.msg?.toString().startsWith('replay store unavailable') === true,
      );
      assert.equal(line.level, 50, 'logged as an error');
      assert.match(String(line.err), /127\.0\.0\.1:\d+/);
      const r = await eventually(
        async () => {
          const got = await readyz(p);
          return got.status === 503 ? got : undefined;
        },
        5000,
        '/readyz 503',
      );
      assert.match(r.body, /^not ready: replay store unavailable: .*127\.0\.0\.1:\d+/);
    }
    await assert.rejects(
      openClient(`${one.ws}/?token=${ticket}`),
      refusedWith(503, 'PROXY_ERR_REPLAY_STORE'),
    );
    const refused = await one.d.waitFor((l) => l.code === 'PROXY_ERR_REPLAY_STORE');
    assert.match(String(refused.detail), /^replay store unavailable: /);
    await use(`${two.ws}/?token=echo`);

    redis = await startRedis({ port: redis.port });
    for (const p of [one, two]) {
      await eventually(async () => (await readyz(p)).status === 200, 10_000, 'ready again');
    }
    // The refused attempt claimed nothing: the ticket's first use is now.
    await use(`${two.ws}/?token=${ticket}`);
    await assert.rejects(
      openClient(`${one.ws}/?token=${ticket}`, undefined, { localAddress: '127.0.0.2' }),
      refusedWith(401, 'PROXY_ERR_TOKEN_REPLAYED'),
    );
  });
});

describe('--workers with --replay-store', () => {
  let redis: TestRedis;
  before(async () => (redis = await startRedis()));
  after(() => redis.stop());

  test("the primary claims in Redis for its workers: a ticket used on another proxy is refused on the workers'", async () => {
    const d = startWsgate([
      'proxy',
      '--listen',
      '127.0.0.1:0',
      '--metrics-listen',
      '127.0.0.1:0',
      '--allow-missing-origin',
      '--workers',
      '2',
      ...proxyFlags(redis.url),
    ]);
    try {
      const ws = `ws://127.0.0.1:${portOf(await d.waitFor((l) => l.msg === 'proxy listening'))}`;
      const metrics = `http://127.0.0.1:${portOf(await d.waitFor((l) => l.msg === 'metrics listening'))}`;
      await eventually(async () => (await readyz(metrics)).status === 200, 10_000, 'ready');
      await d.waitForCount((l) => l.msg === 'replay store connected', 1);
      assert.equal(
        d.logs.filter((l) => l.msg === 'replay store connected').length,
        1,
        "one connection, the primary's",
      );
      await withProxy(proxyFlags(redis.url), async (other) => {
        await eventually(
          () => other.logs.some((l) => l.msg === 'replay store connected'),
          5000,
          'up',
        );
        const ticket = await mint();
        await use(other.url(`/?token=${ticket}`));
        await assert.rejects(
          openClient(`${ws}/?token=${ticket}`, undefined, { localAddress: '127.0.0.2' }),
          refusedWith(401, 'PROXY_ERR_TOKEN_REPLAYED'),
        );
        await use(`${ws}/?token=${ticket}`); // its first client, within the window
      });
    } finally {
      await stopProcess({ child: d.child, exited: d.exited }, 5000);
    }
  });
});

describe('rediss:// (TLS) with --replay-store-ca', () => {
  let redis: TestRedis;
  let ca: string;
  before(async () => {
    const authority = issue({ cn: 'wsgate redis test CA', ca: true, days: 2 });
    const leaf = issue({ cn: 'redis', issuer: authority, ips: ['127.0.0.1'], days: 1 });
    const files = {
      cert: join(dir, 'redis.crt'),
      key: join(dir, 'redis.key'),
      ca: join(dir, 'redis-ca.crt'),
    };
    writeFileSync(files.cert, leaf.cert);
    writeFileSync(files.key, leaf.key);
    writeFileSync(files.ca, authority.cert);
    ca = files.ca;
    redis = await startRedis({ tls: files });
  });
  after(() => redis.stop());

  test('the store is reached over TLS, verified against the CA', async () => {
    assert.match(redis.url, /^rediss:/);
    await withProxy(proxyFlags(redis.url, ['--replay-store-ca', ca]), async (p) => {
      await eventually(() => p.logs.some((l) => l.msg === 'replay store connected'), 5000, 'up');
      const ticket = await mint();
      await use(p.url(`/?token=${ticket}`));
      await assert.rejects(
        openClient(p.url(`/?token=${ticket}`), undefined, { localAddress: '127.0.0.2' }),
        refusedWith(401, 'PROXY_ERR_TOKEN_REPLAYED'),
      );
    });
  });

  test('without the CA the certificate is refused, and the log says why', async () => {
    await withProxy(proxyFlags(redis.url), async (p) => {
      const line = await eventually(
        () => p.logs.find((l) => l.msg?.toString().startsWith('replay store unavailable')),
        5000,
        'log line',
      );
      assert.match(String(line.err), /CERT|SIGNATURE|certificate/i);
      assert.ok(!p.logs.some((l) => l.msg === 'replay store connected'));
    });
  });
});

describe('password from --replay-store-password-file (requirepass)', () => {
  let redis: TestRedis;
  before(async () => (redis = await startRedis({ password: 'correct horse' })));
  after(() => redis.stop());

  test('the right password: tickets are claimed in Redis', async () => {
    const file = join(dir, 'redis-password');
    writeFileSync(file, 'correct horse\n');
    await withProxy(proxyFlags(redis.url, ['--replay-store-password-file', file]), async (p) => {
      await eventually(() => p.logs.some((l) => l.msg === 'replay store connected'), 5000, 'up');
      const ticket = await mint();
      await use(p.url(`/?token=${ticket}`));
      await assert.rejects(
        openClient(p.url(`/?token=${ticket}`), undefined, { localAddress: '127.0.0.2' }),
        refusedWith(401, 'PROXY_ERR_TOKEN_REPLAYED'),
      );
    });
  });

  test('a wrong password: the log and /readyz say authentication failed, tickets are refused', async () => {
    const file = join(dir, 'wrong-password');
    writeFileSync(file, 'battery staple\n');
    await withProxy(proxyFlags(redis.url, ['--replay-store-password-file', file]), async (p) => {
      const line = await eventually(
        () => p.logs.find((l) => l.msg?.toString().startsWith('replay store unavailable')),
        5000,
        'log line',
      );
      assert.match(String(line.err), /^authentication failed: WRONGPASS/);
      const r = await readyz(p.metricsUrl(''));
      assert.equal(r.status, 503);
      assert.match(r.body, /replay store unavailable: authentication failed: WRONGPASS/);
      assertNoLeaks(p.logs, ['battery staple']);
      await assert.rejects(
        openClient(p.url(`/?token=${await mint()}`)),
        refusedWith(503, 'PROXY_ERR_REPLAY_STORE'),
      );
    });
  });

  test('no password: the log says Redis wants one', async () => {
    await withProxy(proxyFlags(redis.url), async (p) => {
      const line = await eventually(
        () => p.logs.find((l) => l.msg?.toString().startsWith('replay store unavailable')),
        5000,
        'log line',
      );
      assert.match(String(line.err), /^NOAUTH/);
    });
  });
});
