import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // better-sqlite3 is a native addon: separate processes, not worker threads.
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Real servers on 127.0.0.1:0; nothing leaves the machine.
    env: { WASL_LOG_LEVEL: 'silent' },
    // The JSON report lets .ci/run print "N passed, N failed", so a run that executed no test shows.
    reporters: ['default', 'json'],
    outputFile: { json: '.vitest-report.json' },
  },
});
