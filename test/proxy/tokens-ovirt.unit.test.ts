/**
 * The pure parts of the oVirt ticket resolver (tokens/ovirt.ts), without a certificate
 * file: recognising a ticket (decodeTicket), its time format (parseTicketTime), verifying
 * decoded fields against a key (verifyTicket), and reading the engine's PEM
 * (parseEngineCertificates).
 */
import assert from 'node:assert/strict';
import { constants, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { describe, test } from 'node:test';
import {
  decodeTicket,
  parseEngineCertificates,
  parseTicketTime,
  verifyTicket,
} from '../../proxy/src/tokens/ovirt.js';
import { ticketTime } from '../helpers/ovirt.js';
import { selfSignedCert } from './tokens-fixtures.js';

const NOW = Date.UTC(2026, 4, 17, 12, 0, 0);
const engine = generateKeyPairSync('rsa', { modulusLength: 2048 });
const KEYS = [engine.publicKey];
const DATA = encodeURI(JSON.stringify({ host: '192.0.2.10', port: '5900', ssl_target: false }));
const ORDER = ['salt', 'digest', 'validFrom', 'validTo', 'data'];

/**
 * Decoded ticket fields, `v2_signature` made by `key` over the values of `order` (default:
 * every field given, in order) with the engine's PSS parameters; `signedFields` is
 * `fieldsText` when given (to test its spelling), else `order` joined with commas.
 */
function ticket(
  values: Record<string, string> = {},
  o: { order?: string[]; fieldsText?: string; key?: KeyObject } = {},
): Record<string, unknown> {
  const fields: Record<string, string> = {
    salt: 'c2FsdHNhbHQ=',
    digest: 'sha1',
    validFrom: ticketTime(NOW),
    validTo: ticketTime(NOW + 60_000),
    data: DATA,
    ...values,
  };
  const order = o.order ?? ORDER;
  const signed = Buffer.concat(order.map((k) => Buffer.from(fields[k] ?? '', 'utf8')));
  const v2 = sign('sha256', signed, {
    key: o.key ?? engine.privateKey,
    padding: constants.RSA_PKCS1_PSS_PADDING,
    saltLength: constants.RSA_PSS_SALTLEN_MAX_SIGN,
  });
  return {
    ...fields,
    signedFields: o.fieldsText ?? order.join(','),
    v2_signature: v2.toString('base64'),
  };
}

const refusal = (reason: string) => ({ kind: 'refused', reason });
const accepted = (expiresAt = NOW + 60_000, tls = false) => ({
  kind: 'target',
  target: tls ? { host: '192.0.2.10', port: 5900, tls: true } : { host: '192.0.2.10', port: 5900 },
  expiresAt,
});

describe('parseTicketTime', () => {
  const valid: [string, number][] = [
    ['20260517120000', NOW],
    ['19991231235959', Date.UTC(1999, 11, 31, 23, 59, 59)],
    ['20260101000000', Date.UTC(2026, 0, 1, 0, 0, 0)],
    ['20241231000000', Date.UTC(2024, 11, 31)],
  ];
  for (const [text, want] of valid) {
    test(`reads ${text} as UTC`, () => assert.equal(parseTicketTime(text), want));
  }
  const invalid: [string, string][] = [
    ['month 13', '20261301000000'],
    ['month 00', '20260001000000'],
    ['day 00', '20260500000000'],
    ['day 31 of a 30-day month', '20260431000000'],
    ['hour 24', '20260517240000'],
    ['minute 60', '20260517126000'],
    ['second 60', '20260517120060'],
    ['15 digits', '202605171200000'],
    ['a letter among the digits', '2026051712000a'],
    ['a trailing newline', '20260517120000\n'],
    ['a leading letter', 'x20260517120000'],
    ['the empty string', ''],
  ];
  for (const [name, text] of invalid) {
    test(`${name} is NaN`, () => assert.ok(Number.isNaN(parseTicketTime(text)), text));
  }
});

describe('decodeTicket', () => {
  const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64');

  test('returns the fields of base64 JSON with a string signedFields', () => {
    assert.deepEqual(decodeTicket(encode({ signedFields: 'a', data: 'x' })), {
      signedFields: 'a',
      data: 'x',
    });
  });
  test('a space is read as the "+" a query string turned it into', () => {
    // {"signedFields":"a","x":">>>"} in base64 holds a "+".
    const token = encode({ signedFields: 'a', x: '>>>' });
    assert.ok(token.includes('+'));
    assert.deepEqual(decodeTicket(token.replace(/\+/g, ' ')), { signedFields: 'a', x: '>>>' });
  });
  test('two "+" turned into spaces are both put back', () => {
    const token = encode({ signedFields: 'a', x: '>>>>>>>>>' });
    assert.ok(token.split('+').length > 2, token);
    assert.deepEqual(decodeTicket(token.replace(/\+/g, ' ')), {
      signedFields: 'a',
      x: '>>>>>>>>>',
    });
  });
  const notTickets: [string, string][] = [
    ['a websockify file token', 'vm-42'],
    ['a JWT', 'eyJhbGciOiJSUzI1NiJ9.eyJob3N0IjoiYSJ9.c2ln'],
    ['base64 with a character outside the alphabet', `${encode({ signedFields: 'a' })}!`],
    ['base64 preceded by a character outside the alphabet', `!${encode({ signedFields: 'a' })}`],
    ['three padding characters', `${encode({ signedFields: 'ab' }).replace(/=*$/, '')}===`],
    ['base64 of plain words', Buffer.from('just some words here').toString('base64')],
    ['a JSON array', encode(['signedFields', 'a'])],
    ['a JSON string', encode('signedFields: a, b, c')],
    ['JSON without signedFields', encode({ salt: 'x', data: 'y' })],
    ['a signedFields that is not a string', encode({ signedFields: ['salt', 'data'] })],
  ];
  for (const [name, token] of notTickets) {
    test(`${name} is not a ticket`, () => assert.equal(decodeTicket(token), undefined));
  }
  test('JSON null of 16+ base64 characters is not a ticket', () => {
    const token = Buffer.from('     null       ').toString('base64');
    assert.ok(token.length >= 16);
    assert.equal(decodeTicket(token), undefined);
  });
});

describe('verifyTicket', () => {
  test('a ticket signed over all fields names its target and expires at validTo', () => {
    assert.deepEqual(verifyTicket(ticket(), KEYS, NOW, 5), accepted());
  });
  test('ssl_target true asks for TLS; ssl_target null counts as false', () => {
    const tls = encodeURI(JSON.stringify({ host: '192.0.2.10', port: '5900', ssl_target: true }));
    assert.deepEqual(verifyTicket(ticket({ data: tls }), KEYS, NOW, 5), accepted(undefined, true));
    const nul = encodeURI(JSON.stringify({ host: '192.0.2.10', port: '5900', ssl_target: null }));
    assert.deepEqual(verifyTicket(ticket({ data: nul }), KEYS, NOW, 5), accepted());
  });
  test('signedFields may have spaces around its names and commas', () => {
    const t = ticket({}, { fieldsText: ' salt , digest,validFrom ,  validTo,data ' });
    assert.deepEqual(verifyTicket(t, KEYS, NOW, 5), accepted());
  });
  test('a repeated signed field is refused', () => {
    const t = ticket({}, { order: [...ORDER, 'salt'] });
    assert.deepEqual(verifyTicket(t, KEYS, NOW, 5), refusal('signedFields repeats a field'));
  });
  for (const name of ['salt', 'validFrom', 'validTo', 'data']) {
    test(`${name} left out of signedFields is refused as "${name} is not signed"`, () => {
      const t = ticket({}, { order: ORDER.filter((f) => f !== name) });
      assert.deepEqual(verifyTicket(t, KEYS, NOW, 5), refusal(`${name} is not signed`));
    });
  }
  test('a signed field that is not a string is refused as missing', () => {
    const t = { ...ticket(), digest: 1 };
    assert.deepEqual(verifyTicket(t, KEYS, NOW, 5), refusal('signed field digest missing'));
  });
  test('an extra signed field counts in the signature', () => {
    const t = ticket({ extra: 'x' }, { order: [...ORDER, 'extra'] });
    assert.deepEqual(verifyTicket(t, KEYS, NOW, 5), accepted());
    assert.deepEqual(
      verifyTicket({ ...t, extra: 'y' }, KEYS, NOW, 5),
      refusal('signature invalid'),
    );
  });
  test('no v2_signature, or one that is not a string, is refused naming SHA-1', () => {
    const { v2_signature: _v2, ...without } = ticket();
    const reason = 'no v2_signature (SHA-1 is not accepted)';
    assert.deepEqual(verifyTicket(without, KEYS, NOW, 5), refusal(reason));
    assert.deepEqual(verifyTicket({ ...without, v2_signature: 5 }, KEYS, NOW, 5), refusal(reason));
  });
  test('a signature by a key not configured is refused; any configured key may match', () => {
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const t = ticket({}, { key: other.privateKey });
    assert.deepEqual(verifyTicket(t, KEYS, NOW, 5), refusal('signature invalid'));
    assert.deepEqual(verifyTicket(t, [engine.publicKey, other.publicKey], NOW, 5), accepted());
    assert.deepEqual(
      verifyTicket(ticket(), [other.publicKey, engine.publicKey], NOW, 5),
      accepted(),
    );
  });
  test('a signature with a shorter PSS salt than the maximum is refused', () => {
    const t = ticket();
    const signed = Buffer.concat(ORDER.map((k) => Buffer.from(t[k] as string)));
    const short = sign('sha256', signed, {
      key: engine.privateKey,
      padding: constants.RSA_PKCS1_PSS_PADDING,
      saltLength: 32,
    });
    assert.deepEqual(
      verifyTicket({ ...t, v2_signature: short.toString('base64') }, KEYS, NOW, 5),
      refusal('signature invalid'),
    );
  });
  test('malformed validity times are refused after the signature', () => {
    const bad: Record<string, string>[] = [
      { validFrom: '2026-05-17' },
      { validTo: '20260517126000' },
    ];
    for (const values of bad) {
      assert.deepEqual(
        verifyTicket(ticket(values), KEYS, NOW, 5),
        refusal('validity times malformed'),
        JSON.stringify(values),
      );
    }
  });

  describe('the validity window and its leeway (seconds)', () => {
    // validFrom = NOW, validTo = NOW + 60 s.
    const cases: [string, number, number, string | undefined][] = [
      ['at validFrom minus the leeway', NOW - 5000, 5, undefined],
      ['1 ms before validFrom minus the leeway', NOW - 5001, 5, 'ticket not yet valid'],
      ['1 ms before validFrom with no leeway', NOW - 1, 0, 'ticket not yet valid'],
      ['at validFrom with no leeway', NOW, 0, undefined],
      ['at validTo plus the leeway', NOW + 65_000, 5, undefined],
      ['1 ms after validTo plus the leeway', NOW + 65_001, 5, 'ticket expired'],
      ['at validTo with no leeway', NOW + 60_000, 0, undefined],
      ['1 ms after validTo with no leeway', NOW + 60_001, 0, 'ticket expired'],
    ];
    for (const [name, now, leeway, reason] of cases) {
      test(`${name}: ${reason ?? 'accepted'}`, () => {
        assert.deepEqual(
          verifyTicket(ticket(), KEYS, now, leeway),
          reason ? refusal(reason) : accepted(),
        );
      });
    }
  });

  const badData: [string, string, string][] = [
    ['data that is not JSON', 'host=a&port=1', 'data malformed'],
    ['data with a bad percent escape', '%7B%ZZ', 'data malformed'],
    ['data that is JSON null', 'null', 'data malformed'],
    ['data that is a JSON array', encodeURI('["192.0.2.10","5900"]'), 'data malformed'],
    ['data that is a JSON string', encodeURI('"192.0.2.10:5900"'), 'data malformed'],
    [
      'data naming a WebSocket path (KubeVirt)',
      encodeURI(JSON.stringify({ host: 'k', port: '443', path: '' })),
      'ticket names a WebSocket target, not supported',
    ],
    [
      'data with a host the target checks refuse',
      encodeURI(JSON.stringify({ host: 'a b', port: '5900' })),
      'target host invalid',
    ],
    [
      'data with a tls flag that is not a boolean',
      encodeURI(JSON.stringify({ host: 'a', port: '5900', ssl_target: 'yes' })),
      'target tls flag invalid',
    ],
  ];
  for (const [name, data, reason] of badData) {
    test(`${name} is refused as "${reason}"`, () => {
      assert.deepEqual(verifyTicket(ticket({ data }), KEYS, NOW, 5), refusal(reason));
    });
  }
});

describe('parseEngineCertificates', () => {
  const spki = engine.publicKey.export({ type: 'spki', format: 'pem' }) as string;
  const pkcs1 = engine.publicKey.export({ type: 'pkcs1', format: 'pem' }) as string;
  const cert = selfSignedCert(engine.privateKey, engine.publicKey);
  const same = (k: KeyObject) => k.equals(engine.publicKey);

  test('reads the key of a CERTIFICATE, a PUBLIC KEY and an RSA PUBLIC KEY block', () => {
    const keys = parseEngineCertificates(Buffer.from(`${cert}\n${spki}\n${pkcs1}`));
    assert.equal(keys.length, 3);
    assert.ok(keys.every(same));
  });
  test('a file without a PEM block is "no CERTIFICATE found"', () => {
    assert.throws(() => parseEngineCertificates(Buffer.from('not pem')), {
      name: 'TypeError',
      message: 'no CERTIFICATE found',
    });
  });
  test('a private key block is refused naming its label', () => {
    const pem = engine.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    assert.throws(() => parseEngineCertificates(Buffer.from(`${cert}${pem}`)), {
      name: 'TypeError',
      message: 'unexpected PEM block "PRIVATE KEY" (want the engine\'s CERTIFICATE)',
    });
  });
  test('an EC or Ed25519 key is refused naming its type', () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    assert.throws(
      () => parseEngineCertificates(Buffer.from(selfSignedCert(ec.privateKey, ec.publicKey))),
      { name: 'TypeError', message: 'engine key is ec, not RSA' },
    );
    const ed = generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' });
    assert.throws(() => parseEngineCertificates(Buffer.from(ed as string)), {
      name: 'TypeError',
      message: 'engine key is ed25519, not RSA',
    });
  });
});
