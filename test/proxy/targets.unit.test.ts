/**
 * `--allow-target CIDR[:PORT[-PORT]]` (proxy/src/policy/targets.ts): what each rule form
 * allows, port ranges at their edges, and the exact message of every refused rule.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseTargetRule, TargetPolicy } from '../../proxy/src/policy/targets.js';

/** The message parseTargetRule throws for `text` (a RangeError), or fails. */
function refusal(text: string): string {
  try {
    parseTargetRule(text);
  } catch (e) {
    assert.ok(e instanceof RangeError, `${text}: a RangeError`);
    return e.message;
  }
  assert.fail(`${JSON.stringify(text)} was accepted`);
}

const FORM = '(e.g. 10.0.0.0/8:5900-5999, [fd00::/64]:5900)';

describe('parseTargetRule: ports and prefixes', () => {
  test('no port: every port 1-65535; no prefix: the one address', () => {
    const r = parseTargetRule('192.0.2.7');
    assert.equal(r.text, '192.0.2.7');
    assert.equal(r.portMin, 1);
    assert.equal(r.portMax, 65535);
    const p = new TargetPolicy(['192.0.2.7']);
    assert.equal(p.allows('192.0.2.7', 1), true);
    assert.equal(p.allows('192.0.2.7', 65535), true);
    assert.equal(p.allows('192.0.2.6', 5900), false);
    assert.equal(p.allows('192.0.2.8', 5900), false);
  });

  test('one port: that port only', () => {
    const r = parseTargetRule('10.0.0.0/8:5900');
    assert.deepEqual([r.portMin, r.portMax], [5900, 5900]);
  });

  test('a range: both ends included, one past either end refused', () => {
    const r = parseTargetRule('10.0.0.0/8:5900-5999');
    assert.deepEqual([r.portMin, r.portMax], [5900, 5999]);
    const p = new TargetPolicy(['10.0.0.0/8:5900-5999']);
    assert.equal(p.allows('10.9.9.9', 5899), false);
    assert.equal(p.allows('10.9.9.9', 5900), true);
    assert.equal(p.allows('10.9.9.9', 5999), true);
    assert.equal(p.allows('10.9.9.9', 6000), false);
  });

  test('a range of one port (low = high) is accepted', () => {
    const r = parseTargetRule('10.0.0.1:5900-5900');
    assert.deepEqual([r.portMin, r.portMax], [5900, 5900]);
  });

  test('ports 1 and 65535 are accepted as range ends', () => {
    const r = parseTargetRule('10.0.0.1:1-65535');
    assert.deepEqual([r.portMin, r.portMax], [1, 65535]);
  });

  test('/32 and /0 for IPv4, /128 and /0 for IPv6 are accepted', () => {
    assert.equal(new TargetPolicy(['10.0.0.1/32']).allows('10.0.0.1', 22), true);
    assert.equal(new TargetPolicy(['0.0.0.0/0']).allows('203.0.113.1', 22), true);
    assert.equal(new TargetPolicy(['fd00::1/128']).allows('fd00::1', 22), true);
    assert.equal(new TargetPolicy(['::/0']).allows('2001:db8::1', 22), true);
  });

  test('a bare IPv6 address without a prefix is that one address, any port', () => {
    const p = new TargetPolicy(['fd00::abcd']);
    assert.equal(p.allows('fd00::abcd', 1), true);
    assert.equal(p.allows('fd00::abcd', 65535), true);
    assert.equal(p.allows('fd00::abce', 5900), false);
  });

  test('a bracketed IPv6 network with a port range', () => {
    const p = new TargetPolicy(['[fd00::/64]:5900-5901']);
    assert.equal(p.allows('fd00::1:2', 5901), true);
    assert.equal(p.allows('fd00::1:2', 5902), false);
    assert.equal(p.allows('fd01::1', 5900), false);
  });

  test('a bracketed IPv6 address without a port: any port', () => {
    const r = parseTargetRule('[fd00::1]');
    assert.deepEqual([r.portMin, r.portMax], [1, 65535]);
  });
});

describe('parseTargetRule: refused rules and their messages', () => {
  const form = (text: string) => `"${text}" is not CIDR[:PORT[-PORT]] ${FORM}`;
  for (const text of [
    '',
    'example.com:5900',
    'vm1',
    '10.0.0.0/8:',
    '10.0.0.0/8:5900-',
    '10.0.0.0/8:-5900',
    ' 10.0.0.1',
    '10.0.0.1 ',
    '10.0.0.1/8/8',
    'x10.0.0.1',
    '10.0.0.1x',
    '1000.0.0.1',
    '10.0.0.1/123',
    '10.0.0.1:5900-123456',
    '[fd00::1]:',
    '[fd00::1/1234]',
    'fd00::1:5900-5901',
    'fd00::/64:5900',
    '[fd00::1]x',
    'x[fd00::1]',
    'xfd00::1',
    'fd00::1/1234',
  ]) {
    test(`${JSON.stringify(text)}: not of the form, says so`, () =>
      assert.equal(refusal(text), form(text)));
  }

  test('four numbers that are no IPv4 address: named', () =>
    assert.equal(refusal('999.0.0.1/8'), '"999.0.0.1/8": 999.0.0.1 is not an IP address'));
  test('hex and colons that are no IPv6 address: named', () =>
    assert.equal(refusal('[fd00:::1]:5900'), '"[fd00:::1]:5900": fd00:::1 is not an IP address'));

  test('IPv4 prefix /33: longer than 32', () =>
    assert.equal(refusal('10.0.0.0/33'), '"10.0.0.0/33": prefix /33 is longer than 32'));
  test('IPv6 prefix /129: longer than 128', () =>
    assert.equal(refusal('fd00::/129'), '"fd00::/129": prefix /129 is longer than 128'));
  test('IPv6 prefix /33 is fine (the IPv4 limit does not apply)', () =>
    assert.equal(new TargetPolicy(['2001:db8::/33']).allows('2001:db8::1', 1), true));

  const ports = 'ports must be 1-65535, low to high';
  for (const text of [
    '10.0.0.0/8:0',
    '10.0.0.0/8:0-5900',
    '10.0.0.0/8:65536',
    '10.0.0.0/8:5900-65536',
    '10.0.0.0/8:6000-5999',
    '[fd00::1]:0',
  ]) {
    test(`${text}: ${ports}`, () => assert.equal(refusal(text), `"${text}": ${ports}`));
  }
});

describe('TargetPolicy', () => {
  test('empty: true for no rules, false with one', () => {
    assert.equal(new TargetPolicy([]).empty, true);
    assert.equal(new TargetPolicy(['10.0.0.1']).empty, false);
  });

  test('keeps the rules in order, as parsed', () => {
    const p = new TargetPolicy(['10.0.0.1:1', '[fd00::1]:2']);
    assert.deepEqual(
      p.rules.map((r) => [r.text, r.portMin, r.portMax]),
      [
        ['10.0.0.1:1', 1, 1],
        ['[fd00::1]:2', 2, 2],
      ],
    );
  });

  test('a bad rule in the list throws from the constructor', () =>
    assert.throws(() => new TargetPolicy(['10.0.0.1', 'nope']), RangeError));

  test('a later rule allows what an earlier one does not', () => {
    const p = new TargetPolicy(['10.0.0.1:22', '10.0.0.2:5900']);
    assert.equal(p.allows('10.0.0.2', 5900), true);
    assert.equal(p.allows('10.0.0.1', 5900), false);
  });

  test('an IPv6 address is checked as IPv6: an IPv4 rule does not cover it', () => {
    const p = new TargetPolicy(['0.0.0.0/0']);
    assert.equal(p.allows('fd00::1', 5900), false);
    assert.equal(new TargetPolicy(['::/0']).allows('fd00::1', 5900), true);
  });

  test('an IPv4 address is checked as IPv4: an IPv6 rule other than its mapped form does not cover it', () => {
    assert.equal(new TargetPolicy(['fd00::/8']).allows('10.0.0.1', 5900), false);
    assert.equal(new TargetPolicy(['10.0.0.0/8']).allows('10.0.0.1', 5900), true);
  });

  test('the port must be in range even when the address matches', () =>
    assert.equal(new TargetPolicy(['10.0.0.1:22']).allows('10.0.0.1', 23), false));
});
