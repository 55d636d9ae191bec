/**
 * The import boundaries of eslint.config.js (which part may import which), run through
 * ESLint itself on made-up files, so the rule cannot quietly disappear or stop matching.
 */
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { before, describe, test } from 'node:test';
import { ESLint } from 'eslint';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BOUNDARY_RULES = new Set([
  '@typescript-eslint/no-restricted-imports',
  'no-restricted-syntax',
]);

let eslint: ESLint;
before(() => {
  eslint = new ESLint({ cwd: ROOT });
});

/** The boundary messages ESLint reports for `code` as if it were the file `file`. */
async function boundaryMessages(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(`${code}\n`, { filePath: `${ROOT}${file}` });
  assert.ok(result, `ESLint linted ${file}`);
  return result.messages.filter((m) => BOUNDARY_RULES.has(m.ruleId ?? '')).map((m) => m.message);
}

// [file, import statement, the part of the message that names the boundary, or null when allowed]
const CASES: [string, string, string | null][] = [
  // operator/: lib/ and the proxy's contract only.
  [
    'operator/src/x.ts',
    "export { startProxy } from '../../proxy/src/proxy.js';",
    'only through proxy/src/contract.ts',
  ],
  [
    'operator/src/render/x.ts',
    "import type { ProxyConfig } from '../../../proxy/src/config/types.js'; export type C = ProxyConfig;",
    'only through proxy/src/contract.ts',
  ],
  [
    'operator/src/x.ts',
    "export const m = () => import('../../proxy/src/server.js');",
    'only through proxy/src/contract.ts',
  ],
  ['operator/src/x.ts', "export { checkTargetRule } from '../../proxy/src/contract.js';", null],
  [
    'operator/src/render/x.ts',
    "export type { ProxyConfig } from '../../../proxy/src/contract.js';",
    null,
  ],
  ['operator/src/x.ts', "export { createLogger } from '../../lib/log.js';", null],
  ['operator/src/x.ts', "export { Reason } from './conditions.js';", null],
  // cli/: the same; only the dispatcher may start the proxy's command.
  [
    'cli/token.ts',
    "export { mintTicket } from '../proxy/src/tokens/mint.js';",
    'only through proxy/src/contract.ts',
  ],
  ['cli/token.ts', "export { mintTicket } from '../proxy/src/contract.js';", null],
  [
    'cli/play.ts',
    "export { proxyCommand } from '../proxy/src/cli.js';",
    'only through proxy/src/contract.ts',
  ],
  ['cli/main.ts', "export { proxyCommand } from '../proxy/src/cli.js';", null],
  [
    'cli/main.ts',
    "export { startProxy } from '../proxy/src/proxy.js';",
    'only through proxy/src/contract.ts',
  ],
  // proxy/: never the operator or the CLI.
  [
    'proxy/src/x.ts',
    "export { validate } from '../../operator/src/validate.js';",
    'the proxy imports neither',
  ],
  [
    'proxy/src/tokens/x.ts',
    "export const m = () => import('../../../cli/token.js');",
    'the proxy imports neither',
  ],
  ['proxy/src/x.ts', "export { parseListen } from '../../lib/address.js';", null],
  ['proxy/src/tokens/x.ts', "export { parseTargetRule } from '../policy/targets.js';", null],
  // lib/: no part at all.
  [
    'lib/x.ts',
    "export { checkTargetRule } from '../proxy/src/contract.js';",
    'lib/ is shared by every part',
  ],
  ['lib/x.ts', "export { validate } from '../operator/src/validate.js';", 'lib/ is shared'],
  ['lib/x.ts', "export { parseListen } from './address.js';", null],
  // Tests may reach anything.
  ['test/proxy/x.ts', "export { startProxy } from '../../proxy/src/proxy.js';", null],
];

describe('import boundaries (eslint.config.js)', () => {
  for (const [file, code, expected] of CASES) {
    const verdict = expected === null ? 'allowed' : 'reported';
    test(`${file}: ${code.split("'")[1]} is ${verdict}`, async () => {
      const messages = await boundaryMessages(file, code);
      if (expected === null) {
        assert.deepEqual(messages, []);
      } else {
        assert.equal(messages.length, 1, `one boundary error, got ${JSON.stringify(messages)}`);
        assert.ok(messages[0]!.includes(expected), messages[0]);
      }
    });
  }
});
