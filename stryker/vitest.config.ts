/**
 * The vitest configuration Stryker runs: the project's, narrowed to the test files of one module, named by
 * STRYKER_TESTS (a comma-separated list of globs) so each per-module run executes only the tests that bear on it.
 */
import { defineConfig } from 'vitest/config';

const tests = (process.env.STRYKER_TESTS ?? '').split(',').filter((t) => t !== '');
if (tests.length === 0) throw new Error('STRYKER_TESTS must name the test files of the module under mutation');

export default defineConfig({
  test: {
    include: tests,
    exclude: ['tests/browser/**', 'node_modules/**'],
    globalSetup: ['tests/setup/webgpu-probe.ts'],
    // Instrumented code runs several times slower; the header-limit tests parse 10^5-entry headers.
    testTimeout: 600_000,
    hookTimeout: 60_000,
    maxWorkers: 1,
  },
});
