import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    pool: 'forks',
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 600_000,
    // Integration tests share one Temporal dev server and one MinIO; two cores do not gain from
    // running many files at once against them.
    maxWorkers: 2,
    // `npm test` runs both projects; `vitest run --project default` skips the slow scale tests.
    projects: [
      { extends: true, test: { name: 'default', include: ['test/**/*.test.ts'], exclude: ['test/**/*.slow.test.ts', '**/node_modules/**'] } },
      { extends: true, test: { name: 'slow', include: ['test/**/*.slow.test.ts'] } },
    ],
  },
});
