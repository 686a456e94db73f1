import tseslint from 'typescript-eslint';

// Import boundaries keep each concern in its home (see src/*/README.md).
const boundary = (files, patterns) => ({
  files,
  rules: { 'no-restricted-imports': ['error', { patterns }] },
});

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'src/protocol/generated/**', 'native/build/**', 'coverage/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error',
    },
  },
  boundary(['src/**/*.ts'], []),
  {
    files: ['src/**/*.ts'],
    ignores: ['src/server/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        { paths: [{ name: 'uWebSockets.js', message: 'Only src/server/ imports uWebSockets.js.' }] },
      ],
    },
  },
  {
    files: ['src/**/*.ts'],
    ignores: ['src/engine/**', 'src/models/**', 'src/skills/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            { name: 'uWebSockets.js', message: 'Only src/server/ imports uWebSockets.js.' },
            { name: 'node-llama-cpp', message: 'Only src/engine/ (and model tools) import node-llama-cpp.' },
          ],
        },
      ],
    },
  },
  // Providers never import the gateway; src/core is fine. (A gitignore-style negation
  // cannot re-include core under an excluded '../../*', hence one regex per depth.)
  ...[
    ['src/gateway/providers/*.ts', '^\\.\\./(?!\\.\\./core/)'],
    ['src/gateway/providers/*/**/*.ts', '^\\.\\./\\.\\./(?!\\.\\./core/)'],
  ].map(([glob, regex]) => ({
    files: [glob],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [{ name: 'node-llama-cpp' }, { name: 'uWebSockets.js' }],
          patterns: [{ regex, message: 'Providers never import the gateway (src/core is fine).' }],
        },
      ],
    },
  })),
);
