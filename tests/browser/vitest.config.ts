import { defineConfig } from 'vitest/config';

// The browser suite (npm run test:browser): one file, one Chromium, a few minutes.
export default defineConfig({
  test: {
    include: ['tests/browser/**/*.test.ts'],
    testTimeout: 300_000,
    hookTimeout: 120_000,
    maxWorkers: 1,
  },
});
