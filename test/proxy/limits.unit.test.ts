/**
 * Connection limits (proxy/src/policy/limits.ts): the caps and the handshake token bucket
 * at their edges, which refusal each limit answers with, and the bounded bucket table.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { REFUSALS } from '../../proxy/src/errors.js';
import { Limits } from '../../proxy/src/policy/limits.js';

/** Limits with a clock the test moves (milliseconds). */
function clocked(options: { maxConnections?: number; perIp?: number; rate?: number }) {
  const clock = { now: 0 };
  const limits = new Limits({
    maxConnections: options.maxConnections ?? 0,
    maxConnectionsPerIp: options.perIp ?? 0,
    handshakeRate: options.rate ?? 0,
    now: () => clock.now,
  });
  return { clock, limits };
}

describe('connection caps', () => {
  test('0 = unlimited: a thousand connections from one IP are all accepted', () => {
    const { limits } = clocked({});
    for (let i = 0; i < 1000; i++) assert.equal(limits.acquire('a'), undefined, `#${i}`);
    assert.equal(limits.connections, 1000);
  });

  test('--max-connections: the cap-th is accepted, the next refused with PROXY_ERR_TOO_MANY (503)', () => {
    const { limits } = clocked({ maxConnections: 2 });
    assert.equal(limits.acquire('a'), undefined);
    assert.equal(limits.acquire('b'), undefined);
    assert.equal(limits.acquire('c'), REFUSALS.tooManyConnections);
    assert.equal(REFUSALS.tooManyConnections.status, 503);
    assert.equal(limits.connections, 2, 'a refused connection takes no slot');
  });

  test('--max-connections-per-ip: refused with PROXY_ERR_TOO_MANY_FROM_IP (429), other IPs go on', () => {
    const { limits } = clocked({ perIp: 1 });
    assert.equal(limits.acquire('a'), undefined);
    assert.equal(limits.acquire('a'), REFUSALS.tooManyFromIp);
    assert.equal(limits.acquire('b'), undefined);
    assert.equal(limits.connections, 2);
  });

  test('the total cap is checked before the per-IP one', () => {
    const { limits } = clocked({ maxConnections: 1, perIp: 1 });
    limits.acquire('a');
    assert.equal(limits.acquire('a'), REFUSALS.tooManyConnections);
  });

  test('release frees the slot of that IP: it may connect again', () => {
    const { limits } = clocked({ perIp: 2 });
    limits.acquire('a');
    limits.acquire('a');
    limits.release('a');
    assert.equal(limits.connections, 1);
    assert.equal(limits.acquire('a'), undefined);
    assert.equal(limits.acquire('a'), REFUSALS.tooManyFromIp);
  });

  test('the per-IP table forgets an IP when its last connection is released', () => {
    const { limits } = clocked({ perIp: 2 });
    limits.acquire('a');
    limits.acquire('a');
    limits.acquire('b');
    const perIp = Reflect.get(limits, 'perIp') as Map<string, number>;
    limits.release('a');
    assert.deepEqual(
      [...perIp],
      [
        ['a', 1],
        ['b', 1],
      ],
    );
    limits.release('a');
    limits.release('b');
    assert.equal(perIp.size, 0);
    assert.equal(limits.connections, 0);
  });
});

describe('handshake rate', () => {
  test('0 = unlimited: a thousand handshakes at one instant are all accepted', () => {
    const { limits } = clocked({ rate: 0 });
    for (let i = 0; i < 1000; i++) assert.equal(limits.takeHandshake('a'), undefined, `#${i}`);
    assert.equal(limits.trackedIps, 0, 'no bucket is kept');
  });

  test('the burst is the rate: 3/s allows 3 at once, the 4th gets PROXY_ERR_RATE_LIMITED (429)', () => {
    const { limits } = clocked({ rate: 3 });
    for (let i = 0; i < 3; i++) assert.equal(limits.takeHandshake('a'), undefined);
    assert.equal(limits.takeHandshake('a'), REFUSALS.rateLimited);
    assert.equal(REFUSALS.rateLimited.status, 429);
  });

  test('a refill never exceeds the burst, however long the IP was idle', () => {
    const { clock, limits } = clocked({ rate: 2 });
    limits.takeHandshake('a');
    clock.now += 60_000;
    assert.equal(limits.takeHandshake('a'), undefined);
    assert.equal(limits.takeHandshake('a'), undefined);
    assert.equal(limits.takeHandshake('a'), REFUSALS.rateLimited);
  });

  test('tokens come back at the rate: at 4/s, none after 249 ms, one after 250 ms', () => {
    const { clock, limits } = clocked({ rate: 4 });
    for (let i = 0; i < 4; i++) limits.takeHandshake('a');
    clock.now = 249;
    assert.equal(limits.takeHandshake('a'), REFUSALS.rateLimited);
    clock.now = 250;
    assert.equal(limits.takeHandshake('a'), undefined);
    assert.equal(limits.takeHandshake('a'), REFUSALS.rateLimited);
  });

  test('a refused handshake still moves the clock: time is not counted twice', () => {
    const { clock, limits } = clocked({ rate: 1 });
    assert.equal(limits.takeHandshake('a'), undefined);
    clock.now = 400;
    assert.equal(limits.takeHandshake('a'), REFUSALS.rateLimited, '0.4 tokens');
    clock.now = 800;
    assert.equal(limits.takeHandshake('a'), REFUSALS.rateLimited, '0.8 tokens, not 1.2');
    clock.now = 1000;
    assert.equal(limits.takeHandshake('a'), undefined, 'a whole token after 1 s');
  });

  test('a rate below 1/s still allows a burst of 1, refilled at that rate', () => {
    const { clock, limits } = clocked({ rate: 0.5 });
    assert.equal(limits.takeHandshake('a'), undefined);
    assert.equal(limits.takeHandshake('a'), REFUSALS.rateLimited);
    clock.now = 1999;
    assert.equal(limits.takeHandshake('a'), REFUSALS.rateLimited);
    clock.now = 3999;
    assert.equal(limits.takeHandshake('a'), undefined);
  });
});

describe('bucket table', () => {
  test('prune drops a bucket once it has refilled (burst / rate = 1 s), not a millisecond before', () => {
    const { clock, limits } = clocked({ rate: 10 });
    limits.takeHandshake('a');
    clock.now = 500;
    limits.takeHandshake('b');
    clock.now = 1000;
    limits.prune();
    assert.equal(limits.trackedIps, 1, 'a (1000 ms idle) dropped, b (500 ms) kept');
    limits.prune(1499);
    assert.equal(limits.trackedIps, 1);
    limits.prune(1500);
    assert.equal(limits.trackedIps, 0);
  });

  test('below 1/s a bucket takes 1/rate seconds to refill: kept until then', () => {
    const { limits } = clocked({ rate: 0.5 });
    limits.takeHandshake('a');
    limits.prune(1999);
    assert.equal(limits.trackedIps, 1);
    limits.prune(2000);
    assert.equal(limits.trackedIps, 0);
  });

  test('below 100000 IPs a new one sweeps nothing: refilled buckets stay until the table is full', () => {
    const { clock, limits } = clocked({ rate: 1 });
    limits.takeHandshake('a');
    clock.now = 5000;
    limits.takeHandshake('b');
    assert.equal(limits.trackedIps, 2);
  });

  test('prune cuts only a full table: 60000 active IPs all stay', () => {
    const { limits } = clocked({ rate: 1 });
    for (let i = 0; i < 60_000; i++) limits.takeHandshake(`ip${i}`);
    limits.prune();
    assert.equal(limits.trackedIps, 60_000);
  });

  test('at 100000 IPs a new one prunes the idle ones first', () => {
    const { clock, limits } = clocked({ rate: 1 });
    for (let i = 0; i < 100_000; i++) limits.takeHandshake(`ip${i}`);
    assert.equal(limits.trackedIps, 100_000);
    clock.now = 1000;
    limits.takeHandshake('new');
    assert.equal(limits.trackedIps, 1);
  });

  test('at 100000 active IPs a new one makes the table forget the oldest half', () => {
    const { limits } = clocked({ rate: 1 });
    for (let i = 0; i < 99_999; i++) limits.takeHandshake(`ip${i}`);
    limits.takeHandshake('last');
    assert.equal(limits.trackedIps, 100_000, 'the 100000th IP is tracked without pruning');
    limits.takeHandshake('new');
    assert.equal(limits.trackedIps, 50_001);
    assert.equal(limits.takeHandshake('ip0'), undefined, 'the oldest was forgotten: a full bucket');
    assert.equal(limits.takeHandshake('ip49999'), undefined, 'the 50000th oldest too');
    assert.equal(limits.takeHandshake('ip50000'), REFUSALS.rateLimited, 'the newer half kept');
    assert.equal(limits.takeHandshake('last'), REFUSALS.rateLimited);
  });
});
