/** Where tokens come from, in the contract's order (DESIGN §2). */
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { describe, test } from 'node:test';
import { chooseProtocol, extractToken } from '../../proxy/src/tokens/extract.js';

const req = (url: string, headers: Record<string, string> = {}) =>
  ({ url, headers }) as unknown as IncomingMessage;

describe('extractToken', () => {
  const cases: [string, IncomingMessage, string | undefined, string | undefined][] = [
    ['query', req('/websockify?token=abc'), 'abc', 'query'],
    ['query among others', req('/?a=1&token=x%2By&b=2'), 'x+y', 'query'],
    ['query beats cookie and path', req('/p/seg?token=q', { cookie: 'token=c' }), 'q', 'query'],
    ['cookie', req('/', { cookie: 'sid=1; token=from-cookie' }), 'from-cookie', 'cookie'],
    ['quoted cookie', req('/', { cookie: 'token="quoted"' }), 'quoted', 'cookie'],
    ['cookie beats path', req('/seg', { cookie: 'token=c' }), 'c', 'cookie'],
    ['last path segment', req('/console/vm-7'), 'vm-7', 'path'],
    ['percent-encoded oVirt ticket in path', req('/eyJz%2Bb%2F8%3D'), 'eyJz+b/8=', 'path'],
    [
      'subprotocol',
      req('/', { 'sec-websocket-protocol': 'binary, token.t0k' }),
      't0k',
      'subprotocol',
    ],
    ['empty query token falls through', req('/p?token=', {}), 'p', 'path'],
    ['only the key token counts in the query', req('/?mytoken=a&xtoken=b'), undefined, undefined],
    ['a key ending in token is skipped', req('/?mytoken=a&token=b'), 'b', 'query'],
    ['+ in the query is a space', req('/?token=a+b'), 'a b', 'query'],
    ['+ in the cookie is a space', req('/', { cookie: 'token=a+b' }), 'a b', 'cookie'],
    [
      'an empty token. subprotocol is no token',
      req('/', { 'sec-websocket-protocol': 'binary, token.' }),
      undefined,
      undefined,
    ],
    ['nothing', req('/'), undefined, undefined],
    ['bad percent-encoding is no token', req('/%E0%A4%A'), undefined, undefined],
  ];
  for (const [name, r, token, source] of cases) {
    test(name, () => {
      const found = extractToken(r);
      assert.equal(found?.token, token);
      assert.equal(found?.source, source);
    });
  }
});

describe('chooseProtocol', () => {
  test('binary when offered', () =>
    assert.equal(chooseProtocol(new Set(['base64', 'binary'])), 'binary'));
  test('none when binary is not offered', () =>
    assert.equal(chooseProtocol(new Set(['base64', 'x'])), false));
  test('a lone token.* is echoed so browsers accept the answer', () =>
    assert.equal(chooseProtocol(new Set(['token.abc'])), 'token.abc'));
});
