// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// The @kubernetes-models packages are dev dependencies used for their types: the image
// installs production dependencies only, so a value import would fail there.
const KUBERNETES_MODELS = {
  group: ['@kubernetes-models/*', 'kubernetes-models', 'kubernetes-models/*'],
  allowTypeImports: true,
  message: 'type-only: @kubernetes-models packages are dev dependencies',
};

/**
 * Which part may import which (README "Layout"): lib/ depends on no part; the proxy on
 * lib/ only; the operator and the CLI on lib/ and the proxy's public module,
 * proxy/src/contract.ts. `forbidden` is a regular expression over the import path; it is
 * checked for static imports and re-exports and for `import()` (written so it has no
 * `/`, which esquery's selectors cannot hold). test/ and bench/ may import anything.
 */
function boundary(forbidden = '', message = '') {
  const models = ['error', { patterns: [KUBERNETES_MODELS] }];
  if (forbidden === '') return { '@typescript-eslint/no-restricted-imports': models };
  const selector = `ImportExpression[source.value=/${forbidden.replaceAll('/', '\\W')}/]`;
  return {
    '@typescript-eslint/no-restricted-imports': [
      'error',
      { patterns: [KUBERNETES_MODELS, { regex: forbidden, message }] },
    ],
    'no-restricted-syntax': ['error', { selector, message }],
  };
}

const UP = '^(\\.\\./)+';
const THROUGH_CONTRACT =
  'operator/ and cli/ use the proxy only through proxy/src/contract.ts; shared code is in lib/';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', '.cache/', 'charts/', 'reports/', '.stryker-tmp/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        Buffer: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        URL: 'readonly',
        setImmediate: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      ...boundary(),
    },
  },
  {
    files: ['lib/**/*.ts'],
    rules: boundary(`${UP}(proxy|operator|cli)/`, 'lib/ is shared by every part and imports none'),
  },
  {
    files: ['proxy/**/*.ts'],
    rules: boundary(`${UP}(operator|cli)/`, 'the proxy imports neither the operator nor the CLI'),
  },
  {
    files: ['operator/**/*.ts', 'cli/**/*.ts'],
    ignores: ['cli/main.ts'],
    rules: boundary(`${UP}proxy/(?!src/contract\\.js$)`, THROUGH_CONTRACT),
  },
  {
    // The dispatcher also starts the proxy's command, as it starts the operator's.
    files: ['cli/main.ts'],
    rules: boundary(`${UP}proxy/(?!src/(contract|cli)\\.js$)`, THROUGH_CONTRACT),
  },
);
