/**
 * Admission without sockets: each refusal it decides (with the errors.ts code and status
 * a client sees), that a refusal gives back what it had taken (connection slot,
 * per-target reservation), and what an admitted request carries. Requests are real
 * IncomingMessage objects on an unconnected net.Socket (no I/O); the token resolvers
 * are in-memory implementations of the TokenResolver contract, since the real ones are
 * tested against their files and servers elsewhere.
 */
import assert from 'node:assert/strict';
import { IncomingMessage } from 'node:http';
import { Socket } from 'node:net';
import { describe, test } from 'node:test';
import {
  Admission,
  tokenHash,
  type Admitted,
  type AdmissionOptions,
  type Refused,
} from '../../proxy/src/admission.js';
import { trustedProxies } from '../../proxy/src/client-ip.js';
import { REFUSALS } from '../../proxy/src/errors.js';
import { ProxyMetrics } from '../../proxy/src/metrics.js';
import { Limits, type LimitsOptions } from '../../proxy/src/policy/limits.js';
import { OriginPolicy } from '../../proxy/src/policy/origins.js';
import { SessionRegistry, type SessionRelay } from '../../proxy/src/sessions.js';
import type { Resolution, TokenResolver } from '../../proxy/src/tokens/types.js';

const PEER = '192.0.2.10';
const TARGET = { host: '127.0.0.1', port: 5900 };
const TARGET_NAME = '127.0.0.1:5900';
const EXPIRES = Date.UTC(2026, 0, 2);

/** Tokens by value; `boom` throws, as a resolver whose backend fails would. */
function tableResolver(name: string, table: Record<string, Resolution>): TokenResolver {
  return {
    name,
    resolve(token) {
      if (token === 'boom') throw new Error('backend down');
      return table[token] ?? { kind: 'unknown' };
    },
  };
}

const RESOLVERS = [
  tableResolver('file', { trusted: { kind: 'target', target: TARGET } }),
  tableResolver('jwt', {
    good: { kind: 'target', target: TARGET, subject: 'alice', expiresAt: EXPIRES, record: true },
    expired: { kind: 'refused', reason: 'token expired' },
    replayed: { kind: 'refused', reason: 'jti seen', refusal: REFUSALS.tokenReplayed },
  }),
];

interface Setup {
  limits?: Partial<LimitsOptions>;
  maxPerTarget?: number;
  options?: Partial<AdmissionOptions>;
}

function setup(s: Setup = {}) {
  const limits = new Limits({
    maxConnections: 0,
    maxConnectionsPerIp: 0,
    handshakeRate: 0,
    ...s.limits,
  });
  const registry = new SessionRegistry<SessionRelay>({
    maxPerTarget: s.maxPerTarget ?? 0,
    policy: 'refuse',
  });
  const metrics = new ProxyMetrics(undefined, false);
  const admission = new Admission({
    resolvers: RESOLVERS,
    trustedResolvers: new Set(['file']),
    origins: new OriginPolicy(['https://console.example'], false),
    limits,
    clientSubjects: [],
    metrics,
    registry,
    ...s.options,
  });
  return { admission, limits, registry, metrics };
}

interface RequestShape {
  method?: string;
  url?: string;
  http?: [number, number];
  /** Merged over a valid upgrade's headers; undefined removes one. */
  headers?: Record<string, string | undefined>;
}

function request(r: RequestShape = {}): IncomingMessage {
  const req = new IncomingMessage(new Socket());
  req.method = r.method ?? 'GET';
  req.url = r.url ?? '/websockify?token=good';
  [req.httpVersionMajor, req.httpVersionMinor] = r.http ?? [1, 1];
  const headers: Record<string, string | undefined> = {
    host: 'proxy.example',
    upgrade: 'websocket',
    connection: 'Upgrade',
    'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
    'sec-websocket-version': '13',
    origin: 'https://console.example',
    ...r.headers,
  };
  for (const [k, v] of Object.entries(headers)) if (v !== undefined) req.headers[k] = v;
  return req;
}

function refused(result: Admitted | Refused): Refused {
  assert.ok(result.refusal, `expected a refusal, got admitted to ${JSON.stringify(result)}`);
  return result;
}

function admitted(result: Admitted | Refused): Admitted {
  assert.equal(result.refusal, undefined, `expected admission, got ${result.refusal?.code}`);
  return result as Admitted;
}

interface RefusalCase {
  name: string;
  setup?: Setup;
  request?: RequestShape;
  draining?: boolean;
  /** Runs first, against the same Admission (e.g. to use up a limit). */
  before?: (s: ReturnType<typeof setup>) => Promise<void> | void;
  code: string;
  status: number;
  detail?: RegExp;
  /** Whether the refusal names the token's hash (it was found before the refusal). */
  token?: string;
}

const CASES: RefusalCase[] = [
  { name: 'draining', draining: true, code: 'PROXY_ERR_DRAINING', status: 503 },
  { name: 'not GET', request: { method: 'POST' }, code: 'PROXY_ERR_BAD_METHOD', status: 405 },
  { name: 'HTTP/1.0', request: { http: [1, 0] }, code: 'PROXY_ERR_BAD_HTTP', status: 400 },
  {
    name: 'no Host header',
    request: { headers: { host: undefined } },
    code: 'PROXY_ERR_BAD_HTTP',
    status: 400,
  },
  {
    name: 'no Upgrade: websocket',
    request: { headers: { upgrade: 'h2c' } },
    code: 'PROXY_ERR_NOT_WEBSOCKET',
    status: 426,
  },
  {
    name: 'bad Sec-WebSocket-Key',
    request: { headers: { 'sec-websocket-key': 'short' } },
    code: 'PROXY_ERR_BAD_KEY',
    status: 400,
  },
  {
    name: 'unsupported Sec-WebSocket-Version',
    request: { headers: { 'sec-websocket-version': '7' } },
    code: 'PROXY_ERR_BAD_VERSION',
    status: 400,
  },
  {
    name: 'duplicate subprotocol',
    request: { headers: { 'sec-websocket-protocol': 'binary, binary' } },
    code: 'PROXY_ERR_BAD_PROTOCOL',
    status: 400,
  },
  {
    name: 'handshake rate exceeded',
    setup: { limits: { handshakeRate: 1 } },
    before: async ({ admission }) => {
      const first = admitted(await admission.admit(request(), PEER, false));
      admission.abandon(first);
    },
    code: 'PROXY_ERR_RATE_LIMITED',
    status: 429,
  },
  {
    name: 'origin not allowed',
    request: { headers: { origin: 'https://evil.example' } },
    code: 'PROXY_ERR_ORIGIN_FORBIDDEN',
    status: 403,
    detail: /evil\.example.*not allowed/,
  },
  {
    name: 'origin missing',
    request: { headers: { origin: undefined } },
    code: 'PROXY_ERR_ORIGIN_FORBIDDEN',
    status: 403,
    detail: /--allow-missing-origin/,
  },
  {
    name: 'client certificate subject not allowed',
    setup: { options: { clientSubjects: ['console-gateway'] } },
    code: 'PROXY_ERR_CLIENT_CERT',
    status: 403,
    detail: /^subject CN ""$/,
  },
  {
    name: 'too many connections',
    setup: { limits: { maxConnections: 1 } },
    before: ({ limits }) => assert.equal(limits.acquire('198.51.100.1'), undefined),
    code: 'PROXY_ERR_TOO_MANY',
    status: 503,
  },
  {
    name: 'too many connections from the client address',
    setup: { limits: { maxConnectionsPerIp: 1 } },
    before: ({ limits }) => assert.equal(limits.acquire(PEER), undefined),
    code: 'PROXY_ERR_TOO_MANY_FROM_IP',
    status: 429,
  },
  {
    name: 'token missing',
    request: { url: '/' },
    code: 'PROXY_ERR_NO_TOKEN',
    status: 401,
  },
  {
    name: 'token no resolver knows',
    request: { url: '/?token=nobody-knows' },
    code: 'PROXY_ERR_UNKNOWN_TOKEN',
    status: 401,
    token: tokenHash('nobody-knows'),
  },
  {
    name: 'token refused by its resolver',
    request: { url: '/?token=expired' },
    code: 'PROXY_ERR_TOKEN_REFUSED',
    status: 401,
    detail: /^token expired$/,
    token: tokenHash('expired'),
  },
  {
    name: "token refused with the resolver's own refusal",
    request: { url: '/?token=replayed' },
    code: 'PROXY_ERR_TOKEN_REPLAYED',
    status: 401,
    token: tokenHash('replayed'),
  },
  {
    name: 'resolver throws (fails closed)',
    request: { url: '/?token=boom' },
    code: 'PROXY_ERR_TOKEN_REFUSED',
    status: 401,
    detail: /^file resolver failed: backend down$/,
    token: tokenHash('boom'),
  },
  {
    name: 'target at its session limit',
    setup: { maxPerTarget: 1 },
    before: ({ registry }) => assert.ok(registry.reserve(TARGET_NAME, 'another console')),
    code: 'PROXY_ERR_TARGET_BUSY',
    status: 409,
    detail: new RegExp(`^${TARGET_NAME}$`),
    token: tokenHash('good'),
  },
];

describe('Admission refusals', () => {
  for (const c of CASES) {
    test(`${c.name}: ${c.code} ${c.status}, nothing held`, async () => {
      const s = setup(c.setup);
      await c.before?.(s);
      const held = s.limits.connections;
      const r = refused(await s.admission.admit(request(c.request), PEER, c.draining ?? false));
      assert.equal(r.refusal.code, c.code);
      assert.equal(r.refusal.status, c.status);
      assert.equal(r.client, PEER);
      assert.equal(r.token, c.token);
      if (c.detail) assert.match(r.detail ?? '', c.detail);
      assert.equal(s.limits.connections, held, 'the connection slot was given back');
    });
  }

  test('the refusals are the errors.ts catalogue entries', async () => {
    const { admission } = setup();
    const r = refused(await admission.admit(request({ method: 'PUT' }), PEER, false));
    assert.equal(r.refusal, REFUSALS.badMethod);
  });

  test('draining is decided before the handshake is looked at', async () => {
    const { admission } = setup();
    const r = refused(await admission.admit(request({ method: 'POST' }), PEER, true));
    assert.equal(r.refusal.code, 'PROXY_ERR_DRAINING');
  });

  test('a refused token is not passed on to later resolvers', async () => {
    const { admission, metrics } = setup();
    refused(await admission.admit(request({ url: '/?token=boom' }), PEER, false));
    const counted = await metrics.tokenResolutions.get();
    const seen = counted.values.filter((v) => v.value > 0).map((v) => v.labels);
    assert.deepEqual(seen, [{ resolver: 'file', result: 'refused' }]);
  });
});

describe('Admission admits', () => {
  test('a token: target, ticket facts, console key; holds a slot and a reservation', async () => {
    const { admission, limits, registry } = setup({ maxPerTarget: 1 });
    const a = admitted(
      await admission.admit(request({ url: '/websockify?token=good' }), PEER, false),
    );
    assert.deepEqual(a.target, TARGET);
    assert.equal(a.targetName, TARGET_NAME);
    assert.equal(a.trusted, false, 'the jwt resolver is not trusted');
    assert.equal(a.token, tokenHash('good'));
    assert.equal(a.client, PEER);
    assert.equal(a.consoleKey, `${tokenHash('good')}|${PEER}`);
    assert.equal(a.ticket.subject, 'alice');
    assert.equal(a.ticket.expiresAt, EXPIRES);
    assert.equal(a.ticket.record, true);
    assert.equal(limits.connections, 1, 'holds a connection slot');
    assert.equal(registry.reserve(TARGET_NAME, 'another console'), undefined, 'holds the target');
    assert.ok(registry.reserve(TARGET_NAME, a.consoleKey), 'a further channel of the console');

    admission.abandon(a);
    assert.equal(limits.connections, 0, 'abandon gives the slot back');
  });

  test('abandon releases the per-target reservation', async () => {
    const { admission, registry } = setup({ maxPerTarget: 1 });
    const a = admitted(await admission.admit(request(), PEER, false));
    admission.abandon(a);
    assert.ok(registry.reserve(TARGET_NAME, 'another console'));
  });

  test("a trusted resolver's target is marked trusted", async () => {
    const { admission } = setup();
    const a = admitted(await admission.admit(request({ url: '/?token=trusted' }), PEER, false));
    assert.equal(a.trusted, true);
    assert.equal(a.ticket.subject, undefined, 'token files name no subject');
  });

  test('a fixed target needs no token and is trusted', async () => {
    const fixed = { host: '::1', port: 5901 };
    const { admission } = setup({ options: { fixedTarget: fixed } });
    const a = admitted(await admission.admit(request({ url: '/' }), PEER, false));
    assert.equal(a.target, fixed);
    assert.equal(a.targetName, '[::1]:5901');
    assert.equal(a.trusted, true);
    assert.equal(a.token, undefined);
    assert.equal(a.consoleKey, `|${PEER}`);
  });

  test('the client address comes from X-Forwarded-For only behind a trusted proxy', async () => {
    const xff = { headers: { 'x-forwarded-for': '203.0.113.7' } };
    const trusting = setup({ options: { trustedProxies: trustedProxies([PEER + '/32']) } });
    const behind = admitted(await trusting.admission.admit(request(xff), PEER, false));
    assert.equal(behind.client, '203.0.113.7');
    const direct = admitted(await setup().admission.admit(request(xff), PEER, false));
    assert.equal(direct.client, PEER);
  });
});
