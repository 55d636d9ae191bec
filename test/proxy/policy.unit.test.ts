/** Pure policy pieces: target and origin allow-lists, limits, client IP, PROXY headers. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { clientAddress, trustedProxies } from '../../proxy/src/client-ip.js';
import { Limits } from '../../proxy/src/policy/limits.js';
import { OriginPolicy } from '../../proxy/src/policy/origins.js';
import { parseTargetRule, TargetPolicy } from '../../proxy/src/policy/targets.js';
import { parseProxyHeader } from '../../proxy/src/proxy-protocol.js';

describe('target allow-list', () => {
  const policy = new TargetPolicy([
    '10.0.0.0/8:5900-5999',
    '192.168.1.7:5900',
    '172.16.0.0/12',
    '[fd00::/64]:5900-5901',
    '2001:db8::/32',
  ]);
  const cases: [string, number, boolean][] = [
    ['10.1.2.3', 5900, true],
    ['10.1.2.3', 5999, true],
    ['10.1.2.3', 6000, false],
    ['11.0.0.1', 5900, false],
    ['192.168.1.7', 5900, true],
    ['192.168.1.7', 5901, false],
    ['192.168.1.8', 5900, false],
    ['172.31.255.255', 1, true],
    ['fd00::5', 5901, true],
    ['fd00::5', 5902, false],
    ['fd00:0:0:1::5', 5900, false],
    ['2001:db8:1::1', 22, true],
    ['::ffff:10.1.2.3', 5900, true],
  ];
  for (const [address, port, allowed] of cases) {
    test(`${address} port ${port}: ${allowed ? 'allowed' : 'refused'}`, () => {
      assert.equal(policy.allows(address, port), allowed);
    });
  }
  test('an empty list allows nothing', () =>
    assert.equal(new TargetPolicy([]).allows('127.0.0.1', 1), false));
  for (const bad of [
    '10.0.0.0/33',
    '10.0.0.0/8:0',
    '10.0.0.0/8:6000-5900',
    'example.com:5900',
    'fd00::/129',
    '10.0.0.0/8:70000',
    '',
  ]) {
    test(`rejects rule ${JSON.stringify(bad)}`, () =>
      assert.throws(() => parseTargetRule(bad), RangeError));
  }
});

describe('origin allow-list', () => {
  const p = new OriginPolicy(
    ['https://manager.example.com', 'https://*.example.org', 'http://localhost:8080'],
    false,
  );
  const cases: [string | undefined, boolean][] = [
    ['https://manager.example.com', true],
    ['https://MANAGER.example.com', true],
    ['http://manager.example.com', false],
    ['https://manager.example.com:8443', false],
    ['https://a.example.org', true],
    ['https://a.b.example.org', true],
    ['https://example.org', false],
    ['https://evilexample.org', false],
    ['http://localhost:8080', true],
    ['null', false],
    [undefined, false],
  ];
  for (const [origin, allowed] of cases) {
    test(`${origin ?? '(missing)'}: ${allowed}`, () =>
      assert.equal(p.check(origin, 'proxy:6080').allowed, allowed));
  }
  test('no entries: same origin only', () => {
    const same = new OriginPolicy([], false);
    assert.equal(same.check('https://console.example.com', 'console.example.com').allowed, true);
    assert.equal(same.check('https://other.example.com', 'console.example.com').allowed, false);
  });
  test('* allows any origin; a missing one still needs --allow-missing-origin', () => {
    assert.equal(new OriginPolicy(['*'], false).check('https://x.y', 'h').allowed, true);
    assert.equal(new OriginPolicy(['*'], false).check(undefined, 'h').allowed, false);
    assert.equal(new OriginPolicy(['*'], true).check(undefined, 'h').allowed, true);
  });
  test('bad entries are refused', () => {
    assert.throws(() => new OriginPolicy(['manager.example.com'], false), RangeError);
    assert.throws(() => new OriginPolicy(['https://a/b'], false), RangeError);
  });
  test('with --allow-origin set, a same-origin page is no longer accepted by itself', () => {
    const listed = new OriginPolicy(['https://manager.example.com'], false);
    assert.equal(listed.check('https://proxy.example:6080', 'proxy.example:6080').allowed, false);
    assert.equal(listed.check('https://manager.example.com', 'proxy.example:6080').allowed, true);
  });
  test('an empty Origin counts as missing: refused with that reason, or allowed when missing is', () => {
    assert.deepEqual(new OriginPolicy([], false).check('', 'h'), {
      allowed: false,
      reason: 'no Origin header (non-browser clients need --allow-missing-origin)',
    });
    assert.equal(new OriginPolicy([], true).check('', 'h').allowed, true);
    assert.equal(new OriginPolicy(['https://a.example'], true).check('', 'h').allowed, true);
  });
  test('an Origin with a path is no origin: refused even if its prefix is listed', () => {
    const listed = new OriginPolicy(['https://manager.example.com'], false);
    assert.equal(listed.check('https://manager.example.com/x', 'h').allowed, false);
    assert.equal(new OriginPolicy([], false).check('https://h/x', 'h').allowed, false);
  });
  test('the refusal names the origin, cut to 100 characters', () => {
    const long = 'https://' + 'a'.repeat(300) + '.example';
    const refused = new OriginPolicy(['https://b.example'], false).check(long, 'h');
    assert.equal(refused.reason, `origin ${long.slice(0, 100)} not allowed`);
    const odd = new OriginPolicy([], false).check('x'.repeat(300), 'h');
    assert.equal(odd.reason, `origin ${JSON.stringify('x'.repeat(100))} not allowed`);
  });
});

describe('limits', () => {
  test('total and per-IP connection caps, released slots reusable', () => {
    const l = new Limits({ maxConnections: 3, maxConnectionsPerIp: 2, handshakeRate: 0 });
    assert.equal(l.acquire('a'), undefined);
    assert.equal(l.acquire('a'), undefined);
    assert.equal(l.acquire('a')?.status, 429);
    assert.equal(l.acquire('b'), undefined);
    assert.equal(l.acquire('c')?.status, 503);
    l.release('a');
    assert.equal(l.acquire('c'), undefined);
    assert.equal(l.connections, 3);
  });
  test('handshake rate: a token bucket per IP, refilled with time', () => {
    let now = 0;
    const l = new Limits({
      maxConnections: 0,
      maxConnectionsPerIp: 0,
      handshakeRate: 2,
      now: () => now,
    });
    assert.equal(l.takeHandshake('a'), undefined);
    assert.equal(l.takeHandshake('a'), undefined);
    assert.equal(l.takeHandshake('a')?.status, 429, 'burst of 2 used up');
    assert.equal(l.takeHandshake('b'), undefined, 'other IPs have their own bucket');
    now += 500;
    assert.equal(l.takeHandshake('a'), undefined, 'one token back after 0.5 s at 2/s');
    assert.equal(l.takeHandshake('a')?.status, 429);
  });
  test('idle buckets are pruned, so memory stays bounded', () => {
    let now = 0;
    const l = new Limits({
      maxConnections: 0,
      maxConnectionsPerIp: 0,
      handshakeRate: 10,
      now: () => now,
    });
    for (let i = 0; i < 1000; i++) l.takeHandshake(`10.0.${i >> 8}.${i & 255}`);
    assert.equal(l.trackedIps, 1000);
    now += 2000;
    l.prune();
    assert.equal(l.trackedIps, 0);
  });
});

describe('client IP', () => {
  const trusted = trustedProxies(['10.0.0.0/8', '::1/128']);
  test('an untrusted peer cannot claim an address', () =>
    assert.equal(clientAddress('203.0.113.9', '198.51.100.1', trusted), '203.0.113.9'));
  test('a trusted peer: the rightmost untrusted hop', () =>
    assert.equal(
      clientAddress('10.0.0.2', '198.51.100.1, 203.0.113.5, 10.0.0.9', trusted),
      '203.0.113.5',
    ));
  test('all hops trusted: the leftmost', () =>
    assert.equal(clientAddress('10.0.0.2', '10.1.1.1, 10.0.0.3', trusted), '10.1.1.1'));
  test('garbage in the header stops the walk', () =>
    assert.equal(clientAddress('10.0.0.2', 'not-an-ip, 10.0.0.3', trusted), '10.0.0.3'));
  test('no trusted proxies configured: the peer', () =>
    assert.equal(clientAddress('10.0.0.2', '1.2.3.4'), '10.0.0.2'));
  test('bad CIDRs are refused', () =>
    assert.throws(() => trustedProxies(['10.0.0.0/40']), RangeError));
});

describe('PROXY protocol header', () => {
  test('v1 TCP4', () => {
    const h = parseProxyHeader(Buffer.from('PROXY TCP4 198.51.100.1 10.0.0.1 51000 6080\r\nGET /'));
    assert.deepEqual(h, {
      state: 'done',
      length: 45,
      source: { address: '198.51.100.1', port: 51000 },
    });
  });
  test('v1 incomplete, then too long', () => {
    assert.equal(parseProxyHeader(Buffer.from('PROXY TCP4 1.2')).state, 'incomplete');
    assert.equal(parseProxyHeader(Buffer.from('PROXY ' + 'x'.repeat(120))).state, 'invalid');
  });
  test('v1 UNKNOWN keeps the peer address', () =>
    assert.deepEqual(parseProxyHeader(Buffer.from('PROXY UNKNOWN\r\n')), {
      state: 'done',
      length: 15,
    }));
  test('v2 TCP over IPv4 and IPv6', () => {
    const sig = Buffer.from('0d0a0d0a000d0a515549540a', 'hex');
    const v4 = Buffer.concat([
      sig,
      Buffer.from([0x21, 0x11, 0, 12, 198, 51, 100, 7, 10, 0, 0, 1, 0xc3, 0x50, 0x17, 0xc0]),
    ]);
    assert.deepEqual(parseProxyHeader(v4), {
      state: 'done',
      length: 28,
      source: { address: '198.51.100.7', port: 50000 },
    });
    const a6 = Buffer.from('20010db8000000000000000000000005', 'hex');
    const v6 = Buffer.concat([
      sig,
      Buffer.from([0x21, 0x21, 0, 36]),
      a6,
      Buffer.alloc(16),
      Buffer.from([0x01, 0xbb, 0, 80]),
    ]);
    assert.deepEqual(parseProxyHeader(v6), {
      state: 'done',
      length: 52,
      source: { address: '2001:db8::5', port: 443 },
    });
    assert.equal(parseProxyHeader(v4.subarray(0, 20)).state, 'incomplete');
  });
  test('garbage is invalid at once', () => {
    assert.equal(parseProxyHeader(Buffer.from('GET / HTTP/1.1\r\n')).state, 'invalid');
    assert.equal(parseProxyHeader(Buffer.from([0x0d, 0x0a, 0x0d, 0x0b])).state, 'invalid');
  });
});
