/**
 * The protections end to end, with real clients and targets: resolvers (JWT minted by
 * `wsgate token`, oVirt engine tickets, HTTP lookup) behind the target allow-list,
 * origins, limits, trusted client IPs and the maximum session length.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runWsgate } from '../helpers/cli.js';
import { engineTicket, newEngine } from '../helpers/ovirt.js';
import { closed, eventually, metricValue, openClient, receive } from '../helpers/proxy.js';
import { assertNoLeaks } from '../helpers/leak-scan.js';
import { leakWatch } from '../helpers/leak-watch.js';
import { connections, refusedWith, type Refused } from '../helpers/proxy-session.js';
import { startEchoServer, type TestServer } from '../helpers/servers.js';
import { tempDir } from './tokens-fixtures.js';

let echo: TestServer;
let dir: string;
before(async () => {
  echo = await startEchoServer();
  dir = tempDir('wsgate-security-');
});
after(() => echo.close());

/** Every line every proxy here logs, scanned at the end for every token the tests used. */
const leaks = leakWatch(['echo', 'good', 'plain-token']);

/** Writes a token file `name` in the temp dir that maps the token `echo` to the echo server. */
function echoTokens(name: string): string {
  const tokens = join(dir, name);
  writeFileSync(tokens, `echo: 127.0.0.1:${echo.port}\n`);
  return tokens;
}

async function roundTrip(url: string, opts: Parameters<typeof openClient>[2] = {}): Promise<void> {
  const ws = await openClient(url, undefined, opts);
  const got = receive(ws, 4);
  ws.send(Buffer.from('ping'));
  assert.equal((await got).toString(), 'ping');
  ws.close();
}

describe('JWT tickets minted by `wsgate token`', () => {
  let keys: { priv: string; pub: string };
  before(() => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    keys = { priv: join(dir, 'jwt.key'), pub: join(dir, 'jwt.pub') };
    writeFileSync(keys.priv, privateKey.export({ type: 'pkcs8', format: 'pem' }));
    writeFileSync(keys.pub, publicKey.export({ type: 'spki', format: 'pem' }));
  });
  const mint = async (target: string, extra: string[] = []) => {
    const run = await runWsgate([
      'token',
      '--key',
      keys.priv,
      '--target',
      target,
      '--ttl',
      '60s',
      ...extra,
    ]);
    assert.equal(run.code, 0, run.stderr);
    return leaks.secret(run.stdout.trim());
  };

  test('a minted ticket opens a session to an allowed target', async () => {
    await leaks.with(
      ['--jwt-key', keys.pub, '--allow-target', `127.0.0.1/32:${echo.port}`],
      async (proxy) => {
        await roundTrip(proxy.url(`/?token=${await mint(`127.0.0.1:${echo.port}`)}`));
        assert.equal(
          await metricValue(
            proxy.metricsUrl('/metrics'),
            'wsgate_token_resolutions_total',
            'resolver="jwt",result="target"',
          ),
          1,
        );
      },
    );
  });

  test('without --allow-target, signed targets are refused with 403', async () => {
    await leaks.with(['--jwt-key', keys.pub], async (proxy) => {
      const ticket = await mint(`127.0.0.1:${echo.port}`);
      await assert.rejects(
        openClient(proxy.url(`/?token=${ticket}`)),
        refusedWith(403, 'PROXY_ERR_TARGET_FORBIDDEN'),
      );
      assert.equal(await connections(proxy, 'forbidden'), 1);
    });
  });

  test('names are resolved and the address dialled is what is checked', async () => {
    const allowed = await leaks.start([
      '--jwt-key',
      keys.pub,
      '--allow-target',
      `127.0.0.1/32:${echo.port}`,
    ]);
    const other = await leaks.start([
      '--jwt-key',
      keys.pub,
      '--allow-target',
      `10.0.0.0/8:${echo.port}`,
    ]);
    try {
      const ticket = await mint(`localhost:${echo.port}`);
      await roundTrip(allowed.url(`/?token=${ticket}`));
      await assert.rejects(openClient(other.url(`/?token=${ticket}`)), (e: Refused) => {
        assert.equal(e.status, 403);
        assert.match(e.body ?? '', /localhost:\d+ is not in --allow-target/);
        return true;
      });
    } finally {
      await allowed.close();
      await other.close();
    }
  });

  test('a single-use ticket opens one console: its client may reuse it within the window, another client is refused, counted and logged by hash', async () => {
    await leaks.with(
      ['--jwt-key', keys.pub, '--jwt-single-use', '--allow-target', '127.0.0.1/32'],
      async (proxy) => {
        const ticket = await mint(`127.0.0.1:${echo.port}`, ['--single-use']);
        // Two connections from 127.0.0.1, as a SPICE client opens its channels.
        await roundTrip(proxy.url(`/?token=${ticket}`));
        await roundTrip(proxy.url(`/?token=${ticket}`));
        // Loopback is 127.0.0.0/8: 127.0.0.2 is a different client address.
        await assert.rejects(
          openClient(proxy.url(`/?token=${ticket}`), undefined, { localAddress: '127.0.0.2' }),
          refusedWith(401, 'PROXY_ERR_TOKEN_REPLAYED'),
        );
        assert.equal(await connections(proxy, 'unauthorized'), 1);
        const line = proxy.logs.find((l) => l.code === 'PROXY_ERR_TOKEN_REPLAYED');
        assert.equal(line?.client, '127.0.0.2');
        assert.equal(line?.detail, 'ticket already used');
        assert.match(String(line?.token), /^sha256:[0-9a-f]{12}$/);
        assertNoLeaks(proxy.logs, [ticket]);
      },
    );
  });

  test('with --jwt-single-use-window 0 a single-use ticket works exactly once', async () => {
    await leaks.with(
      [
        '--jwt-key',
        keys.pub,
        '--jwt-single-use',
        '--jwt-single-use-window',
        '0',
        '--allow-target',
        '127.0.0.1/32',
      ],
      async (proxy) => {
        const ticket = await mint(`127.0.0.1:${echo.port}`, ['--single-use']);
        await roundTrip(proxy.url(`/?token=${ticket}`));
        await assert.rejects(
          openClient(proxy.url(`/?token=${ticket}`)),
          refusedWith(401, 'PROXY_ERR_TOKEN_REPLAYED'),
        );
      },
    );
  });

  test('a forged ticket is refused and never falls through to a later resolver', async () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const forgedKey = join(dir, 'forged.key');
    writeFileSync(forgedKey, privateKey.export({ type: 'pkcs8', format: 'pem' }));
    const run = await runWsgate([
      'token',
      '--key',
      forgedKey,
      '--target',
      `127.0.0.1:${echo.port}`,
    ]);
    const forged = leaks.secret(run.stdout.trim());
    // A lookup service (asked after the JWT resolver) that would accept anything.
    const asked: string[] = [];
    const lenient = createServer((req, res) => {
      asked.push(new URL(req.url!, 'http://x').searchParams.get('token') ?? '');
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ host: '127.0.0.1', port: echo.port }));
    });
    await new Promise<void>((r) => lenient.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(lenient.address() as AddressInfo).port}/`;
    const proxy = await leaks.start([
      '--jwt-key',
      keys.pub,
      '--token-url',
      url,
      '--allow-target',
      '127.0.0.1/32',
    ]);
    try {
      await assert.rejects(
        openClient(proxy.url(`/?token=${forged}`)),
        refusedWith(401, 'PROXY_ERR_TOKEN_REFUSED'),
      );
      assert.deepEqual(asked, [], 'the lookup service was never asked about the forged ticket');
      await roundTrip(proxy.url('/?token=plain-token'));
      assert.deepEqual(
        asked,
        ['plain-token'],
        'tokens the JWT resolver does not recognise go on to the next',
      );
    } finally {
      await proxy.close();
      lenient.close();
    }
  });
});

describe('oVirt engine tickets', () => {
  test('a ticket signed by the engine key relays; the ticket travels in the path', async () => {
    const engine = newEngine();
    const cert = join(dir, 'engine.cer');
    writeFileSync(cert, engine.certPem);
    await leaks.with(
      ['--ovirt-cert', cert, '--allow-target', `127.0.0.1/32:${echo.port}`],
      async (proxy) => {
        const ticket = leaks.secret(
          engineTicket(engine, { host: '127.0.0.1', port: String(echo.port) }),
        );
        await roundTrip(proxy.url(`/${encodeURIComponent(ticket)}`));
        const other = newEngine('attacker');
        const forged = leaks.secret(
          engineTicket(other, { host: '127.0.0.1', port: String(echo.port) }),
        );
        await assert.rejects(
          openClient(proxy.url(`/${encodeURIComponent(forged)}`)),
          refusedWith(401, 'PROXY_ERR_TOKEN_REFUSED'),
        );
      },
    );
  });
});

describe('HTTP token lookup', () => {
  let lookups: string[];
  let server: Server;
  let base: string;
  let failing = false;
  before(async () => {
    lookups = [];
    server = createServer((req, res) => {
      const token = new URL(req.url!, 'http://x').searchParams.get('token') ?? '';
      lookups.push(token);
      if (failing) return void res.writeHead(500).end();
      if (token === 'good')
        return void res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ host: '127.0.0.1', port: echo.port }));
      res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/console`;
  });
  after(() => server.close());

  test('the service names the target; unknown tokens get 401; outages fail closed', async () => {
    await leaks.with(
      ['--token-url', base, '--token-url-cache-ttl', '0', '--allow-target', '127.0.0.1/32'],
      async (proxy) => {
        await roundTrip(proxy.url('/?token=good'));
        await assert.rejects(
          openClient(proxy.url('/?token=bad')),
          refusedWith(401, 'PROXY_ERR_UNKNOWN_TOKEN'),
        );
        failing = true;
        await assert.rejects(
          openClient(proxy.url('/?token=good')),
          refusedWith(401, 'PROXY_ERR_TOKEN_REFUSED'),
        );
        failing = false;
        assert.deepEqual(lookups, ['good', 'bad', 'good']);
        assertNoLeaks(proxy.logs, ['good']);
      },
    );
  });
});

describe('token file targets and --allow-target', () => {
  test('a token file alone allows exactly its targets; --allow-target narrows it', async () => {
    const tokens = echoTokens('narrow');
    const open = await leaks.start(['--token-file', tokens]);
    const narrowed = await leaks.start(['--token-file', tokens, '--allow-target', '10.0.0.0/8']);
    try {
      await roundTrip(open.url('/?token=echo'));
      await assert.rejects(
        openClient(narrowed.url('/?token=echo')),
        refusedWith(403, 'PROXY_ERR_TARGET_FORBIDDEN'),
      );
    } finally {
      await open.close();
      await narrowed.close();
    }
  });
});

describe('origins', () => {
  test('allowed, wildcard, foreign and missing origins', async () => {
    const tokens = echoTokens('origins');
    await leaks.with(
      [
        '--token-file',
        tokens,
        '--no-allow-missing-origin',
        '--allow-origin',
        'https://manager.example.com',
        '--allow-origin',
        'https://*.consoles.example',
      ],
      async (proxy) => {
        await roundTrip(proxy.url('/?token=echo'), { origin: 'https://manager.example.com' });
        await roundTrip(proxy.url('/?token=echo'), { origin: 'https://eu.consoles.example' });
        await assert.rejects(
          openClient(proxy.url('/?token=echo'), undefined, { origin: 'https://evil.example' }),
          refusedWith(403, 'PROXY_ERR_ORIGIN_FORBIDDEN'),
        );
        await assert.rejects(openClient(proxy.url('/?token=echo')), (e: Refused) => {
          assert.equal(e.status, 403);
          assert.match(e.body ?? '', /--allow-missing-origin/);
          return true;
        });
      },
    );
  });

  test('by default only a same-origin page is accepted', async () => {
    const tokens = echoTokens('same');
    await leaks.with(['--token-file', tokens, '--no-allow-missing-origin'], async (proxy) => {
      await roundTrip(proxy.url('/?token=echo'), {
        origin: `http://127.0.0.1:${proxy.address.port}`,
      });
      await assert.rejects(
        openClient(proxy.url('/?token=echo'), undefined, { origin: 'http://127.0.0.1:1' }),
        refusedWith(403),
      );
    });
  });
});

describe('limits', () => {
  let tokens: string;
  before(() => {
    tokens = echoTokens('limits');
  });

  test('--max-connections answers 503, --max-connections-per-ip 429; slots free up when sessions end', async () => {
    await leaks.with(
      [
        '--token-file',
        tokens,
        '--max-connections',
        '3',
        '--max-connections-per-ip',
        '2',
        '--trusted-proxy',
        '127.0.0.1',
      ],
      async (proxy) => {
        const as = (ip: string) => ({ headers: { 'x-forwarded-for': ip } });
        const a1 = await openClient(proxy.url('/?token=echo'), undefined, as('198.51.100.1'));
        const a2 = await openClient(proxy.url('/?token=echo'), undefined, as('198.51.100.1'));
        await assert.rejects(
          openClient(proxy.url('/?token=echo'), undefined, as('198.51.100.1')),
          refusedWith(429, 'PROXY_ERR_TOO_MANY_FROM_IP'),
        );
        const b1 = await openClient(proxy.url('/?token=echo'), undefined, as('198.51.100.2'));
        await assert.rejects(
          openClient(proxy.url('/?token=echo'), undefined, as('198.51.100.3')),
          refusedWith(503, 'PROXY_ERR_TOO_MANY'),
        );
        a1.close();
        await closed(a1);
        await eventually(() => proxy.server.sessions.size === 2, 3000, 'slot released');
        const c1 = await openClient(proxy.url('/?token=echo'), undefined, as('198.51.100.3'));
        assert.equal(await connections(proxy, 'rate_limited'), 2);
        const opened = proxy.logs.filter((l) => l.msg === 'connection opened').map((l) => l.client);
        assert.deepEqual(
          opened,
          ['198.51.100.1', '198.51.100.1', '198.51.100.2', '198.51.100.3'],
          'client IPs from the trusted X-Forwarded-For',
        );
        for (const ws of [a2, b1, c1]) ws.close();
      },
    );
  });

  test('X-Forwarded-For from an untrusted peer is ignored', async () => {
    await leaks.with(['--token-file', tokens, '--max-connections-per-ip', '1'], async (proxy) => {
      const a = await openClient(proxy.url('/?token=echo'), undefined, {
        headers: { 'x-forwarded-for': '198.51.100.1' },
      });
      await assert.rejects(
        openClient(proxy.url('/?token=echo'), undefined, {
          headers: { 'x-forwarded-for': '198.51.100.2' },
        }),
        refusedWith(429),
      );
      assert.equal(proxy.logs.find((l) => l.msg === 'connection opened')?.client, '127.0.0.1');
      a.close();
    });
  });

  test('--handshake-rate refuses bursts with 429', async () => {
    await leaks.with(['--token-file', tokens, '--handshake-rate', '3'], async (proxy) => {
      const results = await Promise.allSettled(
        Array.from({ length: 6 }, () => openClient(proxy.url('/?token=echo'))),
      );
      const ok = results.filter((r) => r.status === 'fulfilled');
      const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      assert.equal(ok.length, 3);
      for (const r of refused) assert.equal((r.reason as Refused).status, 429);
      for (const r of ok) r.value.close();
    });
  });

  test('--max-session closes a busy session with 1008', async () => {
    await leaks.with(['--token-file', tokens, '--max-session', '500ms'], async (proxy) => {
      const ws = await openClient(proxy.url('/?token=echo'));
      const busy = setInterval(() => ws.send(Buffer.from('x')), 50);
      const started = Date.now();
      const [code, reason] = await closed(ws);
      clearInterval(busy);
      assert.equal(code, 1008);
      assert.equal(reason, 'maximum session length reached');
      assert.ok(Date.now() - started >= 450);
    });
  });
});

test('no line any proxy here logged holds a token or ticket in any form (leak-scan)', () => {
  assert.ok(leaks.scanned > 100, `only ${leaks.scanned} lines were scanned`);
  leaks.assertClean();
});
