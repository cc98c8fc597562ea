import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Two cores: one worker per core keeps the GPU (lavapipe) and CPU suites from starving each other.
    maxWorkers: 2,
  },
});
