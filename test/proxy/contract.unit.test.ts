/**
 * The proxy's public checks (proxy/src/contract.ts): null for what the proxy accepts, and
 * for anything else exactly the message the proxy itself fails with at startup.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { trustedProxies } from '../../proxy/src/client-ip.js';
import {
  checkOriginPattern,
  checkTargetRule,
  checkTrustedProxy,
} from '../../proxy/src/contract.js';
import { OriginPolicy } from '../../proxy/src/policy/origins.js';
import { TargetPolicy } from '../../proxy/src/policy/targets.js';

/** What the proxy does with one value at startup: null, or the message it throws. */
function startup(build: () => unknown): string | null {
  try {
    build();
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}

const CASES: [string, (text: string) => string | null, (text: string) => unknown, string[]][] = [
  [
    'checkTargetRule',
    checkTargetRule,
    (text) => new TargetPolicy([text]),
    [
      '10.0.0.0/8:5900-5999',
      '[fd00::/64]:5900',
      '2001:db8::/32',
      '10.0.0.0/33',
      'vm1:5900',
      '10.0.0.1:6000-5900',
    ],
  ],
  [
    'checkOriginPattern',
    checkOriginPattern,
    (text) => new OriginPolicy([text], false),
    [
      '*',
      'https://a.example',
      'https://*.example.com',
      'http://[::1]:8080',
      'a.example',
      'ftp://a.example',
    ],
  ],
  [
    'checkTrustedProxy',
    checkTrustedProxy,
    (text) => trustedProxies([text]),
    ['10.0.0.0/8', '192.0.2.1', 'fd00::/64', '10.0.0.0/40', 'lb.example', '10.0.0.0/x'],
  ],
];

for (const [name, check, build, values] of CASES) {
  describe(name, () => {
    for (const value of values) {
      test(`${JSON.stringify(value)}: the proxy's verdict`, () => {
        assert.equal(
          check(value),
          startup(() => build(value)),
        );
      });
    }
    test('refuses some and accepts some (the table means something)', () => {
      const verdicts = values.map(check);
      assert.ok(verdicts.some((v) => v === null));
      assert.ok(verdicts.some((v) => typeof v === 'string' && v.includes('"')));
    });
  });
}
