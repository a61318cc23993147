import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    pool: 'forks',
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 600_000,
    // Integration tests share one Temporal dev server and one MinIO; two cores do not gain from
    // running many files at once against them.
    maxWorkers: 2,
  },
});
