/** The bearer token of an Authorization header, as the metrics guard reads it. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { bearerToken } from '../../operator/src/serving/metrics-auth.js';

describe('bearerToken', () => {
  const cases: Array<[string | undefined, string | null]> = [
    ['Bearer abc.def-ghi', 'abc.def-ghi'],
    ['bearer abc', 'abc'],
    ['Bearer   abc  ', 'abc'],
    [undefined, null],
    ['', null],
    ['Bearer', null],
    ['Bearer ', null],
    ['Basic dXNlcjpwYXNz', null],
    ['Bearer a b', null],
  ];
  for (const [header, token] of cases) {
    test(`${JSON.stringify(header)} -> ${JSON.stringify(token)}`, () => {
      assert.equal(bearerToken(header), token);
    });
  }
});
