import { defineConfig } from 'vitest/config';

const inCi = /^(true|1)$/i.test(process.env.CI ?? '');

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/setup/fast-check-seed.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Real-tool tests start processes; two workers match the two cores of CI's machine.
    maxWorkers: 2,
    // CI retries a failed test once, and the flaky reporter names each one that passed only then; a
    // test that fails twice fails the run.
    retry: inCi ? 1 : 0,
    reporters: ['default', './test/setup/flaky-reporter.ts'],
  },
});
