/**
 * The catalogue of refusals, admin API errors and close codes (proxy/src/errors.ts): what
 * a client or a dashboard sees. Every entry has its own code, a status or close code of
 * the right class, a metrics label, and a message that says something.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ADMIN_ERRORS, CLOSES, REFUSALS } from '../../proxy/src/errors.js';

/** Every refusal: [key, code, HTTP status, wsgate_connections_total result label]. */
const REFUSAL_TABLE: [keyof typeof REFUSALS, string, number, string][] = [
  ['notWebSocket', 'PROXY_ERR_NOT_WEBSOCKET', 426, 'bad_request'],
  ['malformed', 'PROXY_ERR_MALFORMED', 400, 'bad_request'],
  ['headersTooLarge', 'PROXY_ERR_HEADERS_TOO_LARGE', 431, 'bad_request'],
  ['badMethod', 'PROXY_ERR_BAD_METHOD', 405, 'bad_request'],
  ['badHttp', 'PROXY_ERR_BAD_HTTP', 400, 'bad_request'],
  ['badKey', 'PROXY_ERR_BAD_KEY', 400, 'bad_request'],
  ['badVersion', 'PROXY_ERR_BAD_VERSION', 400, 'bad_request'],
  ['badProtocol', 'PROXY_ERR_BAD_PROTOCOL', 400, 'bad_request'],
  ['noToken', 'PROXY_ERR_NO_TOKEN', 401, 'unauthorized'],
  ['unknownToken', 'PROXY_ERR_UNKNOWN_TOKEN', 401, 'unauthorized'],
  ['tokenRefused', 'PROXY_ERR_TOKEN_REFUSED', 401, 'unauthorized'],
  ['tokenReplayed', 'PROXY_ERR_TOKEN_REPLAYED', 401, 'unauthorized'],
  ['replayStore', 'PROXY_ERR_REPLAY_STORE', 503, 'unauthorized'],
  ['targetForbidden', 'PROXY_ERR_TARGET_FORBIDDEN', 403, 'forbidden'],
  ['unixForbidden', 'PROXY_ERR_UNIX_FORBIDDEN', 403, 'forbidden'],
  ['originForbidden', 'PROXY_ERR_ORIGIN_FORBIDDEN', 403, 'forbidden'],
  ['tooManyConnections', 'PROXY_ERR_TOO_MANY', 503, 'rate_limited'],
  ['tooManyFromIp', 'PROXY_ERR_TOO_MANY_FROM_IP', 429, 'rate_limited'],
  ['clientCertificate', 'PROXY_ERR_CLIENT_CERT', 403, 'forbidden'],
  ['targetTls', 'PROXY_ERR_TARGET_TLS', 502, 'upstream_error'],
  ['rateLimited', 'PROXY_ERR_RATE_LIMITED', 429, 'rate_limited'],
  ['targetRefused', 'PROXY_ERR_TARGET_REFUSED', 502, 'upstream_error'],
  ['targetTimeout', 'PROXY_ERR_TARGET_TIMEOUT', 502, 'upstream_error'],
  ['targetUnreachable', 'PROXY_ERR_TARGET_UNREACHABLE', 502, 'upstream_error'],
  ['draining', 'PROXY_ERR_DRAINING', 503, 'draining'],
  ['targetBusy', 'PROXY_ERR_TARGET_BUSY', 409, 'target_busy'],
];

/** A message a person can read: a capital, then words, ending in a letter. */
const READABLE = /^[A-Z][A-Za-z0-9 ,./:'-]{9,}[A-Za-z]$/;

describe('REFUSALS', () => {
  test('the table above lists every refusal', () =>
    assert.deepEqual(Object.keys(REFUSALS).sort(), REFUSAL_TABLE.map(([key]) => key).sort()));

  for (const [key, code, status, result] of REFUSAL_TABLE) {
    test(`${key}: ${code}, HTTP ${status}, counted as ${result}, with a readable message`, () => {
      const r = REFUSALS[key];
      assert.deepEqual(
        { code: r.code, status: r.status, result: r.result },
        { code, status, result },
      );
      assert.match(r.message, READABLE);
    });
  }

  test('every code is different', () =>
    assert.equal(new Set(Object.values(REFUSALS).map((r) => r.code)).size, REFUSAL_TABLE.length));

  test('every message is different', () =>
    assert.equal(
      new Set(Object.values(REFUSALS).map((r) => r.message)).size,
      REFUSAL_TABLE.length,
    ));

  test('entries are frozen: a caller cannot change what the next client is told', () => {
    for (const r of Object.values(REFUSALS)) assert.ok(Object.isFrozen(r), r.code);
  });

  test('messages that name a flag name the right one', () => {
    assert.match(REFUSALS.unixForbidden.message, /--allow-unix-dir/);
    assert.match(REFUSALS.targetBusy.message, /--max-sessions-per-target/);
  });
});

describe('ADMIN_ERRORS', () => {
  const table: [keyof typeof ADMIN_ERRORS, string, number][] = [
    ['unauthorized', 'PROXY_ERR_ADMIN_UNAUTHORIZED', 401],
    ['notFound', 'PROXY_ERR_ADMIN_NOT_FOUND', 404],
    ['sessionNotFound', 'PROXY_ERR_SESSION_NOT_FOUND', 404],
    ['badMethod', 'PROXY_ERR_ADMIN_BAD_METHOD', 405],
    ['badRequest', 'PROXY_ERR_ADMIN_BAD_REQUEST', 400],
    ['unavailable', 'PROXY_ERR_ADMIN_UNAVAILABLE', 503],
  ];
  test('the table lists every admin error', () =>
    assert.deepEqual(Object.keys(ADMIN_ERRORS).sort(), table.map(([key]) => key).sort()));
  for (const [key, code, status] of table) {
    test(`${key}: ${code}, HTTP ${status}, with a readable message`, () => {
      const e = ADMIN_ERRORS[key];
      assert.deepEqual({ code: e.code, status: e.status }, { code, status });
      assert.match(e.message, /^[A-Z][A-Za-z0-9 ?=:/]{9,}[a-zA-Z]$/);
    });
  }
  test('the bad request names the query it needs', () =>
    assert.equal(ADMIN_ERRORS.badRequest.message, 'DELETE /sessions needs ?target=HOST:PORT'));
  test('no admin code is also a refusal code', () => {
    const refusals = new Set(Object.values(REFUSALS).map((r) => r.code));
    for (const e of Object.values(ADMIN_ERRORS)) assert.ok(!refusals.has(e.code), e.code);
  });
});

describe('CLOSES', () => {
  const table: [keyof typeof CLOSES, number, string][] = [
    ['targetClosed', 1000, 'target closed the connection'],
    ['shutdown', 1001, 'proxy shutting down'],
    ['idle', 1008, 'idle timeout'],
    ['maxSession', 1008, 'maximum session length reached'],
    ['tooBig', 1009, 'message too big'],
    ['targetError', 1011, 'target connection error'],
    ['ticketExpired', 1008, 'ticket expired'],
    ['admin', 1008, 'closed by administrator'],
    ['replaced', 4001, 'replaced by a newer session'],
  ];
  test('the table lists every close', () =>
    assert.deepEqual(Object.keys(CLOSES).sort(), table.map(([key]) => key).sort()));
  for (const [key, code, reason] of table) {
    test(`${key}: close ${code} "${reason}"`, () =>
      assert.deepEqual({ ...CLOSES[key] }, { code, reason }));
  }
  test('every reason fits a close frame (123 bytes) and tells the closes apart', () => {
    const reasons = Object.values(CLOSES).map((c) => c.reason);
    for (const r of reasons) assert.ok(Buffer.byteLength(r) <= 123, r);
    assert.equal(new Set(reasons).size, reasons.length);
  });
});
