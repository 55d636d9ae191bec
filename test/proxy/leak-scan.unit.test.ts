/** The log scanner catches a secret in every form a careless log call would give it. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { tokenHash } from '../../proxy/src/admission.js';
import { assertNoLeaks, findLeaks } from '../helpers/leak-scan.js';

const TOKEN = 'vm-42 secret/key+1=';
const hash = tokenHash(TOKEN);
const base = { level: 30, time: 1764876000000, pid: 7, conn: 'c1', peer: '127.0.0.1' };

const b64 = (s: string) => Buffer.from(s).toString('base64');
const b64url = (s: string) => Buffer.from(s).toString('base64url');
const jwt = [
  b64url('{"alg":"HS256","typ":"JWT"}'),
  b64url('{"sub":"vm-42","exp":1764879600,"jti":"a1b2c3d4e5"}'),
  'S1gNaTuReS1gNaTuReS1gNaTuReS1gNaTuReXyZ-_0',
].join('.');
const ovirtSignature = 'c2lnbmF0dXJlLW9mLXRoZS1vdmlydC10aWNrZXQ=';
const ovirt = b64(JSON.stringify({ data: '{"vm":"42"}', signature: ovirtSignature, salt: 'x' }));

const leaky: [string, Record<string, unknown>, string][] = [
  ['raw in a field', { ...base, msg: 'handshake refused', token: TOKEN }, TOKEN],
  ['raw in a URL', { ...base, msg: 'upgrade', url: `/?token=${TOKEN}` }, TOKEN],
  [
    'percent-encoded in a URL',
    { ...base, msg: 'upgrade', url: `/vnc?token=${encodeURIComponent(TOKEN)}&x=1` },
    TOKEN,
  ],
  [
    'form-encoded (+ for space) in a URL',
    { ...base, msg: 'upgrade', url: `/?${new URLSearchParams({ token: TOKEN })}` },
    TOKEN,
  ],
  [
    'lower-case, double percent-encoded',
    {
      ...base,
      msg: 'upgrade',
      url: '/?token=' + encodeURIComponent(encodeURIComponent(TOKEN)).toLowerCase(),
    },
    TOKEN,
  ],
  ['base64', { ...base, msg: 'token', value: b64(TOKEN) }, TOKEN],
  ['base64url', { ...base, msg: 'token', value: b64url(TOKEN) }, TOKEN],
  [
    'base64 inside a Basic credential (unaligned)',
    { ...base, msg: 'resolver call', headers: { authorization: `Basic ${b64(`ab:${TOKEN}`)}` } },
    TOKEN,
  ],
  ['hex', { ...base, msg: 'token', hex: Buffer.from(TOKEN).toString('hex') }, TOKEN],
  [
    'in a Cookie header',
    { ...base, msg: 'request', req: { headers: { cookie: `lang=en; token=${TOKEN}` } } },
    TOKEN,
  ],
  [
    'in a Sec-WebSocket-Protocol header',
    {
      ...base,
      msg: 'request',
      req: { headers: { 'sec-websocket-protocol': `binary, token.${TOKEN}` } },
    },
    TOKEN,
  ],
  ['as a key', { ...base, msg: 'seen', tokens: { [TOKEN]: 1 } }, TOKEN],
  ['in an array', { ...base, msg: 'seen', list: ['a', ['b', `x${TOKEN}y`]] }, TOKEN],
  [
    'in a plain text line',
    `wsgate: token ${TOKEN} refused` as unknown as Record<string, unknown>,
    TOKEN,
  ],
  ['a whole JWT ticket', { ...base, msg: 'ticket', ticket: jwt }, jwt],
  ['only a JWT signature', { ...base, msg: 'bad signature', sig: jwt.split('.')[2] }, jwt],
  ['only a JWT payload', { ...base, msg: 'claims', payload: jwt.split('.')[1] }, jwt],
  ['only an oVirt signature', { ...base, msg: 'ovirt', signature: ovirtSignature }, ovirt],
  [
    'an oVirt ticket, + turned into space by a query string',
    { ...base, msg: 'ovirt', url: `/?token=${ovirt.replace(/\+/g, ' ')}` },
    ovirt,
  ],
];

describe('leak scan', () => {
  for (const [name, line, secret] of leaky) {
    test(`reports a secret ${name}`, () => {
      const clean = { ...base, msg: 'connection opened', token: tokenHash(secret) };
      const leaks = findLeaks([clean, line, clean], [secret]);
      assert.equal(leaks.length, 1, JSON.stringify(leaks));
      assert.equal(leaks[0]!.line, 1);
      assert.equal(leaks[0]!.secret, secret);
      assert.throws(() => assertNoLeaks([clean, line], [secret]), /secrets in the log/);
    });
  }

  test('realistic proxy lines that carry only tokenHash() are clean', () => {
    const lines = [
      { ...base, msg: 'proxy listening', address: '127.0.0.1:6080' },
      { ...base, msg: 'connection opened', token: hash, target: '127.0.0.1:5900', source: 'query' },
      {
        ...base,
        msg: 'handshake refused',
        code: 'PROXY_ERR_UNKNOWN_TOKEN',
        status: 401,
        token: hash,
      },
      {
        ...base,
        msg: 'connection closed',
        token: hash,
        closeCode: 1000,
        bytesClientToTarget: 1234,
        bytesTargetToClient: 56789,
        durationMs: 812.5,
      },
      { ...base, msg: 'token file loaded', entries: 3, sha256: b64('not the token at all') },
    ];
    assert.deepEqual(findLeaks(lines, [TOKEN, jwt, ovirt]), []);
    assertNoLeaks(lines, [TOKEN, jwt, ovirt]);
  });

  test('a JWT header alone is not a leak: it is the same for every ticket of a key', () => {
    assert.deepEqual(findLeaks([{ ...base, header: jwt.split('.')[0] }], [jwt]), []);
  });

  test('refuses secrets too short to scan for, and an empty capture', () => {
    assert.throws(() => findLeaks([base], ['abc']), /too short/);
    assert.throws(() => assertNoLeaks([], [TOKEN]), /no log lines/);
  });
});
