// @ts-check
// Mutation testing of the pure core (issue 19): `npm run test:mutation`, HTML report in
// reports/mutation/. Stryker instruments the TypeScript sources once (mutant schemata), the
// sandbox compiles them with tsc (buildCommand), and node runs the compiled tests; each mutant
// runs only the test files that reached it (coverageAnalysis perTest).

/** The modules under mutation, in one place. */
export const MODULES = [
  'proxy/src/policy/**/*.ts',
  'proxy/src/tokens/extract.ts',
  'proxy/src/tokens/jwt.ts',
  'proxy/src/tokens/ovirt.ts',
  'proxy/src/tokens/file.ts',
  'proxy/src/tokens/target-claims.ts',
  'proxy/src/config/**/*.ts',
  'proxy/src/errors.ts',
  'operator/src/render/**/*.ts',
  'operator/src/status/**/*.ts',
  'operator/src/objects/**/*.ts',
  'operator/src/api/validate.ts',
  'operator/src/api/defaults.ts',
];

/**
 * The tests that judge them: every unit test, plus the token tests that read files from a
 * temporary directory (the resolvers' I/O edge; each runs in about a second) and the
 * --allow-unix-dir policy's, which resolves paths in one (no sockets).
 */
export const TEST_FILES = [
  'dist/test/**/*.unit.test.js',
  'dist/test/proxy/unix-dirs.test.js',
  'dist/test/proxy/tokens-jwt.test.js',
  'dist/test/proxy/tokens-ovirt.test.js',
  'dist/test/proxy/tokens-ticket-facts.test.js',
  'dist/test/proxy/token-file.test.js',
];

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  mutate: MODULES,
  testRunner: 'tap',
  tap: {
    testFiles: TEST_FILES,
    // node:test writes TAP only when asked (its default reporter is spec).
    nodeArgs: ['--test-reporter=tap'],
    forceBail: true,
  },
  coverageAnalysis: 'perTest',
  // The typescript checker (installed) made one file take 6 min instead of 2 here; the
  // mutants it rejects fail tsc-free at run time or survive visibly. Enable with
  // `npx stryker run --checkers typescript`.
  checkers: [],
  tsconfigFile: 'tsconfig.json',
  typescriptChecker: { prioritizePerformanceOverAccuracy: true },
  buildCommand: 'tsc -p tsconfig.json',
  // The instrumented sources do not type-check (mutant schemata); the checker above judges
  // each mutant instead. Only the mutated files: generated files are compared byte for byte.
  disableTypeChecks: `{${MODULES.join(',')}}`,
  ignorePatterns: ['dist', '.cache', 'reports', 'bench/**/*.json'],
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/index.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
  concurrency: 2,
  thresholds: { high: 90, low: 85, break: null },
};
