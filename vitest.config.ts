import { defineConfig } from 'vitest/config';

// Tests are split by what they need (see test/README.md).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          testTimeout: 10_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
          fileParallelism: false,
        },
      },
      {
        test: {
          name: 'model',
          include: ['test/model/**/*.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          // Real models on a 2-core box: one file at a time.
          fileParallelism: false,
        },
      },
    ],
  },
});
