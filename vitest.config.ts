import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    // The browser suite drives Chromium: its own step (npm run test:browser, .ci/run).
    exclude: ['tests/browser/**', 'node_modules/**'],
    // One WebGPU probe for the whole run (one printed line when there is no adapter).
    globalSetup: ['tests/setup/webgpu-probe.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Two cores: one worker per core keeps the GPU (lavapipe) and CPU suites from starving each other.
    maxWorkers: 2,
  },
});
