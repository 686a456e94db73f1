import tseslint from 'typescript-eslint';

// Import boundaries keep each concern in its home (see src/*/README.md). Each block
// covers a disjoint set of files, so no block's rule overrides another's.
const UWS = { name: 'uWebSockets.js', message: 'Only src/server/ imports uWebSockets.js.' };
const LLAMA = { name: 'node-llama-cpp', message: 'Only src/engine/ imports node-llama-cpp.' };
const restrict = (files, ignores, paths, patterns = []) => ({
  files,
  ignores,
  rules: { 'no-restricted-imports': ['error', { paths, patterns }] },
});
const NOT_GATEWAY = 'Providers never import the gateway; share code through providers/ or src/core.';

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'node_modules/**',
      'src/protocol/generated/**',
      'test/clients/python/generated/**',
      'native/build/**',
      'coverage/**',
      'tmp/**', // gitignored scratch
    ],
  },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error',
    },
  },
  restrict(['src/**/*.ts'], ['src/server/**', 'src/engine/**', 'src/gateway/providers/**'], [UWS, LLAMA]),
  restrict(['src/server/**/*.ts'], [], [LLAMA]),
  restrict(['src/engine/**/*.ts'], [], [UWS]),
  // From providers/x.ts one level up is src/gateway; from providers/<name>/x.ts, two.
  restrict(
    ['src/gateway/providers/*.ts'],
    [],
    [UWS, LLAMA],
    [{ regex: '^\\.\\./(?!\\.\\./)', message: NOT_GATEWAY }],
  ),
  restrict(
    ['src/gateway/providers/*/**/*.ts'],
    [],
    [UWS, LLAMA],
    [{ regex: '^\\.\\./\\.\\./(?!\\.\\./)', message: NOT_GATEWAY }],
  ),
);
