/** The admin API's pure parts: the token file's content and the bearer check. */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import { authorized, MIN_TOKEN_LENGTH, parseAdminToken } from '../../proxy/src/admin.js';

const TOKEN = 'k'.repeat(MIN_TOKEN_LENGTH);

describe('parseAdminToken', () => {
  test('keeps the SHA-256 of the trimmed token, never the token', () => {
    const stored = parseAdminToken(Buffer.from(`  ${TOKEN}\n`));
    assert.deepEqual(stored, createHash('sha256').update(TOKEN).digest());
    assert.ok(!stored.toString('latin1').includes(TOKEN));
  });

  test('refuses short, empty and multi-word tokens', () => {
    assert.throws(() => parseAdminToken(Buffer.from('short')), /at least 16 characters/);
    assert.throws(() => parseAdminToken(Buffer.from('\n')), /at least 16 characters/);
    assert.throws(() => parseAdminToken(Buffer.from(`${TOKEN} ${TOKEN}`)), /one word/);
  });
});

describe('authorized', () => {
  const stored = parseAdminToken(Buffer.from(TOKEN));
  const cases: [string | undefined, boolean][] = [
    [`Bearer ${TOKEN}`, true],
    [`bearer ${TOKEN}`, true],
    [` Bearer ${TOKEN} `, true],
    [undefined, false],
    ['', false],
    ['Bearer', false],
    ['Bearer ', false],
    [`Bearer ${TOKEN}x`, false],
    [`Bearer ${TOKEN.slice(1)}`, false],
    [`Basic ${TOKEN}`, false],
    [TOKEN, false],
    [`Bearer ${TOKEN} extra`, false],
  ];
  for (const [header, want] of cases) {
    test(JSON.stringify(header), () => assert.equal(authorized(header, stored), want));
  }
});
