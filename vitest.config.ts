import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    // Real ffmpeg, databases and a browser on a 2-core box: give them time, and do not run more
    // heavy files at once than there are cores.
    testTimeout: 60_000,
    hookTimeout: 120_000,
    maxWorkers: 2,
    pool: 'forks',
    reporters: ['default', './tests/support/summary-reporter.ts'],
  },
});
