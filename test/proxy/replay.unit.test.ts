/** The replay store's pure parts: the window rule, the memory store, RESP, Redis URLs. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseRedisUrl, describeRedis } from '../../proxy/src/replay/redis.js';
import { encodeCommand, RespError, RespParser } from '../../proxy/src/replay/resp.js';
import {
  judge,
  MemoryReplayStore,
  ReplayStoreUnavailable,
  type ClaimResult,
  type FirstUse,
} from '../../proxy/src/replay/store.js';

describe('judge: one console per ticket', () => {
  const first: FirstUse = { client: '10.0.0.1', atMs: 1000 };
  const cases: [string, FirstUse | undefined, string, number, ClaimResult][] = [
    ['no first use: this is it', undefined, '10.0.0.1', 1000, 'first'],
    ['same client at once', first, '10.0.0.1', 1000, 'same-client-window'],
    ['same client at the end of the window', first, '10.0.0.1', 6000, 'same-client-window'],
    ['same client after the window', first, '10.0.0.1', 6001, 'replay'],
    ['another client within the window', first, '10.0.0.2', 1001, 'replay'],
    ['an unknown client never matches', { client: '', atMs: 1000 }, '', 1000, 'replay'],
  ];
  for (const [name, f, client, now, want] of cases) {
    test(name, () => assert.equal(judge(f, client, now, 5000), want));
  }
});

describe('MemoryReplayStore', () => {
  test('first, same client in the window, then replay; forgotten after the ttl', async () => {
    let now = 0;
    const s = new MemoryReplayStore(10, () => now);
    const claim = (client: string) => s.claim({ key: 'j', client, ttlMs: 30_000, windowMs: 5000 });
    assert.equal(await claim('a'), 'first');
    now = 4000;
    assert.equal(await claim('a'), 'same-client-window');
    assert.equal(await claim('b'), 'replay');
    now = 5001;
    assert.equal(await claim('a'), 'replay');
    now = 30_001; // the ticket has expired, so its claim may go
    assert.equal(await claim('b'), 'first');
    assert.equal(s.size, 1);
  });

  test('a full store refuses new tickets rather than forgetting live ones', async () => {
    const s = new MemoryReplayStore(1, () => 0);
    assert.equal(await s.claim({ key: '1', client: 'a', ttlMs: 1000, windowMs: 0 }), 'first');
    await assert.rejects(
      s.claim({ key: '2', client: 'a', ttlMs: 1000, windowMs: 0 }),
      (e: Error) => e instanceof ReplayStoreUnavailable && /too many single-use/.test(e.message),
    );
    assert.equal(await s.claim({ key: '1', client: 'b', ttlMs: 1000, windowMs: 0 }), 'replay');
  });
});

describe('RESP', () => {
  test('a command is an array of bulk strings', () => {
    assert.equal(
      encodeCommand(['SET', 'k', 'vé', 5]).toString(),
      '*4\r\n$3\r\nSET\r\n$1\r\nk\r\n$3\r\nvé\r\n$1\r\n5\r\n',
    );
  });

  test('replies are parsed across arbitrary chunk boundaries', () => {
    const wire = Buffer.from(
      '+OK\r\n-WRONGPASS invalid password\r\n:42\r\n$5\r\nfirst\r\n$-1\r\n*2\r\n$1\r\na\r\n:1\r\n',
    );
    for (let cut = 0; cut <= wire.length; cut++) {
      const p = new RespParser();
      const got = [...p.push(wire.subarray(0, cut)), ...p.push(wire.subarray(cut))];
      assert.equal(got.length, 6, `cut at ${cut}`);
      assert.equal(got[0], 'OK');
      assert.ok(got[1] instanceof RespError && got[1].message === 'WRONGPASS invalid password');
      assert.deepEqual(got.slice(2), [42, 'first', null, ['a', 1]]);
    }
  });

  test('a reply that is not RESP is a protocol error', () => {
    assert.throws(() => new RespParser().push(Buffer.from('HTTP/1.1 400\r\n')), /unexpected reply/);
    assert.throws(() => new RespParser().push(Buffer.from('$x\r\n')), /bad integer/);
  });
});

describe('parseRedisUrl', () => {
  test('host, port, database, TLS and an ACL user', () => {
    assert.deepEqual(parseRedisUrl('redis://cache:6380/2'), {
      host: 'cache',
      port: 6380,
      db: 2,
      tls: false,
      username: undefined,
    });
    assert.deepEqual(parseRedisUrl('rediss://wsgate@[::1]'), {
      host: '::1',
      port: 6379,
      db: 0,
      tls: true,
      username: 'wsgate',
    });
    assert.equal(describeRedis(parseRedisUrl('rediss://u@[::1]/3')), 'rediss://[::1]:6379/3');
  });

  const bad: [string, RegExp][] = [
    ['cache:6379', /not a URL|redis:\/\/ or rediss:\/\//],
    ['http://cache/', /redis:\/\/ or rediss:\/\//],
    ['redis://:secret@cache/', /password-file, not the URL/],
    ['redis://cache/x', /database "x" is not a number/],
    ['redis://cache/?db=1', /no query/],
  ];
  for (const [url, message] of bad) {
    test(`refuses ${url}`, () => assert.throws(() => parseRedisUrl(url), message));
  }
});
