import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHttpResolver, type HttpResolverOptions } from '../../proxy/src/tokens/http.js';
import type { Resolution } from '../../proxy/src/tokens/types.js';

type Handler = (res: ServerResponse) => void;

const json =
  (status: number, body: unknown): Handler =>
  (res) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(typeof body === 'string' ? body : JSON.stringify(body));
  };

/** What the lookup service answers, by token. */
const ANSWERS: Record<string, Handler> = {
  good: json(200, { host: '10.0.0.7', port: 5900 }),
  'string-port': json(200, { host: 'vnc.internal', port: '5901' }),
  tls: json(200, { host: '10.0.0.8', port: 5902, tls: true }),
  missing: json(404, { error: 'not found' }),
  forbidden: json(403, { error: 'no' }),
  boom: json(500, 'oops'),
  unavailable: json(503, ''),
  'bad-json': json(200, '{"host": '),
  array: json(200, '[]'),
  'bad-target': json(200, { host: '', port: 0 }),
  'bad-tls': json(200, { host: 'a', port: 1, tls: 'yes' }),
  redirect: (res) => {
    res.writeHead(302, { location: 'http://127.0.0.1:1/steal' });
    res.end();
  },
  slow: (res) => {
    setTimeout(() => json(200, { host: 'late', port: 1 })(res), 1000).unref();
  },
  trickle: (res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write('{"host":');
    setTimeout(() => res.end('"late","port":1}'), 1000).unref();
  },
  huge: json(200, { host: 'a', port: 1, pad: 'x'.repeat(200_000) }),
};

const ok = (host: string, port: number, tls?: boolean): Resolution => ({
  kind: 'target',
  target: tls ? { host, port, tls } : { host, port },
});
const no = (reason: string): Resolution => ({ kind: 'refused', reason });

describe('http resolver', () => {
  let server: Server;
  let base: string;
  const hits = new Map<string, number>();
  const seenUrls: string[] = [];

  before(async () => {
    server = createServer((req, res) => {
      const url = new URL(req.url!, 'http://x');
      seenUrls.push(req.url!);
      const token =
        url.searchParams.get('token') ?? decodeURIComponent(url.pathname.split('/').pop()!);
      hits.set(token, (hits.get(token) ?? 0) + 1);
      (ANSWERS[token] ?? json(404, {}))(res);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  const resolver = (o: Partial<HttpResolverOptions> = {}) =>
    createHttpResolver({ url: `${base}/lookup`, timeoutMs: 300, ...o });

  describe('#resolve', () => {
    const cases: [string, Resolution][] = [
      ['good', ok('10.0.0.7', 5900)],
      ['string-port', ok('vnc.internal', 5901)],
      ['tls', ok('10.0.0.8', 5902, true)],
      ['missing', { kind: 'unknown' }],
      ['forbidden', no('lookup denied the token')],
      ['boom', no('lookup failed: HTTP 500')],
      ['unavailable', no('lookup failed: HTTP 503')],
      ['bad-json', no('lookup answer is not JSON')],
      ['array', no('target host missing')],
      ['bad-target', no('target host invalid')],
      ['bad-tls', no('target tls flag invalid')],
      ['redirect', no('lookup failed: HTTP 302')],
      ['slow', no('lookup timed out')],
      ['trickle', no('lookup timed out')],
      ['huge', no('lookup answer too large')],
    ];
    for (const [token, want] of cases) {
      test(token, async () => {
        const r = resolver();
        const got = await r.resolve(token);
        assert.deepEqual(got, want);
        if (got.kind === 'refused') assert.ok(!got.reason.includes(token));
        r.close();
      });
    }
  });

  test('an unreachable service fails closed', async () => {
    const dead = createServer();
    await new Promise<void>((r) => dead.listen(0, '127.0.0.1', r));
    const port = (dead.address() as AddressInfo).port;
    await new Promise((r) => dead.close(r));
    const r = createHttpResolver({ url: `http://127.0.0.1:${port}/x` });
    assert.deepEqual(await r.resolve('good'), no('lookup failed'));
    r.close();
  });

  test('answers are cached for the TTL, errors are not', async () => {
    let now = 1_000_000;
    const r = resolver({ cacheTtlSeconds: 5, now: () => now });
    hits.clear();
    for (const token of ['good', 'good', 'missing', 'missing', 'boom', 'boom'])
      await r.resolve(token);
    assert.equal(hits.get('good'), 1);
    assert.equal(hits.get('missing'), 1, '404 is cached too');
    assert.equal(hits.get('boom'), 2, 'a failure is retried');
    now += 4_999;
    await r.resolve('good');
    assert.equal(hits.get('good'), 1);
    now += 2;
    assert.deepEqual(await r.resolve('good'), ok('10.0.0.7', 5900));
    assert.equal(hits.get('good'), 2);
    r.close();
  });

  test('cacheTtlSeconds 0 disables the cache', async () => {
    const r = resolver({ cacheTtlSeconds: 0 });
    hits.clear();
    await r.resolve('good');
    await r.resolve('good');
    assert.equal(hits.get('good'), 2);
    assert.equal(r.cacheSize, 0);
    r.close();
  });

  test('the cache is bounded, oldest out first', async () => {
    const r = resolver({ maxCacheEntries: 2 });
    hits.clear();
    for (const token of ['good', 'tls', 'string-port', 'good']) await r.resolve(token);
    assert.equal(r.cacheSize, 2);
    assert.equal(hits.get('good'), 2);
    r.close();
  });

  test('concurrent lookups of one token share a request', async () => {
    const r = resolver();
    hits.clear();
    const all = await Promise.all([r.resolve('good'), r.resolve('good'), r.resolve('good')]);
    assert.equal(hits.get('good'), 1);
    for (const got of all) assert.deepEqual(got, ok('10.0.0.7', 5900));
    r.close();
  });

  test('sends the token as a query parameter, or into a {token} template', async () => {
    seenUrls.length = 0;
    const odd = 'a b/c?d&e';
    const q = resolver({ url: `${base}/lookup?v=1`, cacheTtlSeconds: 0 });
    await q.resolve(odd);
    const t = resolver({ url: `${base}/tokens/{token}`, cacheTtlSeconds: 0 });
    await t.resolve(odd);
    assert.equal(seenUrls[0], '/lookup?v=1&token=a+b%2Fc%3Fd%26e');
    assert.equal(seenUrls[1], '/tokens/a%20b%2Fc%3Fd%26e');
    q.close();
    t.close();
  });

  test('after close() nothing is looked up', async () => {
    const r = resolver();
    r.close();
    assert.deepEqual(await r.resolve('good'), no('resolver closed'));
  });

  describe('configuration', () => {
    const bad: [string, Partial<HttpResolverOptions>, RegExp][] = [
      ['not a URL', { url: 'not a url' }, /tokenUrl: not a valid URL$/],
      ['ftp', { url: 'ftp://x/' }, /tokenUrl: must be an http or https URL$/],
      ['negative TTL', { cacheTtlSeconds: -1 }, /cacheTtlSeconds must be >= 0/],
      ['zero timeout', { timeoutMs: 0 }, /timeoutMs must be > 0/],
    ];
    for (const [name, opts, error] of bad) {
      test(`refuses ${name}`, () => {
        assert.throws(() => createHttpResolver({ url: 'http://127.0.0.1/', ...opts }), error);
      });
    }
    test('does not echo the URL (it may hold credentials)', () => {
      assert.throws(
        () => createHttpResolver({ url: 'ftp://user:s3cret@host/' }),
        (e: Error) => !e.message.includes('s3cret'),
      );
    });
  });
});
