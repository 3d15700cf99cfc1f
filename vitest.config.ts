import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    pool: 'forks',
    globalSetup: ['test/support/global-setup.ts'],
    // Drops the PostgreSQL databases a file's tests were given (FIRELANE_TEST_STORE=postgres).
    setupFiles: ['test/support/test-store-setup.ts'],
  },
});
