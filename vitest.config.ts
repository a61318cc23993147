import { defineConfig } from 'vitest/config';

// Projects by file name: `*.int.test.ts` need the real stack (Temporal + MinIO, started once by
// test/global-setup.ts), `*.slow.test.ts` are the scale tests (also on the stack), `*.cli.test.ts`
// run the built CLI or npm in child processes (no service, but a process start per case), every
// other `*.test.ts` is a unit test that starts no service and no process. `npm test` runs all
// four; `vitest run --project unit` runs in seconds with nothing running.
const STACK = ['test/global-setup.ts'];

export default defineConfig({
  test: {
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 600_000,
    // Integration tests share one Temporal dev server and one MinIO; two cores do not gain from
    // running many files at once against them.
    maxWorkers: 2,
    projects: [
      { extends: true, test: { name: 'unit', include: ['test/**/*.test.ts'], exclude: ['test/**/*.int.test.ts', 'test/**/*.slow.test.ts', 'test/**/*.cli.test.ts', '**/node_modules/**'] } },
      { extends: true, test: { name: 'cli', include: ['test/**/*.cli.test.ts'] } },
      { extends: true, test: { name: 'integration', include: ['test/**/*.int.test.ts'], globalSetup: STACK } },
      { extends: true, test: { name: 'slow', include: ['test/**/*.slow.test.ts'], globalSetup: STACK } },
    ],
  },
});
