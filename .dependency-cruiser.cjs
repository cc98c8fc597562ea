/**
 * Import-direction rules (docs/architecture.md, "Layers and the rules between them"). `npm run lint:deps`
 * checks them in CI; a violation fails the run and names the import.
 */
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'kernels-use-the-contract-only',
      comment:
        'A backend sees the kernel specs and the backend contract (src/lower), the platform, the error class and ' +
        'the shared utilities; never the IR, the planner, the runtime or the API above them.',
      severity: 'error',
      from: { path: '^kernels/' },
      to: { path: '^src/', pathNot: '^src/(lower/|platform/|util/|errors\\.ts$)' },
    },
    {
      name: 'lower-is-a-leaf',
      comment: 'src/lower is the spec language every layer shares: it imports only the platform, errors and utilities.',
      severity: 'error',
      from: { path: '^src/lower/' },
      to: { path: '^(src|kernels)/', pathNot: '^src/(lower/|platform/|util/|errors\\.ts$)' },
    },
    {
      name: 'runtime-never-imports-kernels',
      comment: 'The runtime reaches backends through the registry; the composition root (src/backends.ts) creates them.',
      severity: 'error',
      from: { path: '^src/runtime/' },
      to: { path: '^kernels/' },
    },
    {
      name: 'only-the-composition-root-names-backends',
      comment: 'A new backend is its folder under kernels/ plus one line in src/backends.ts.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/backends\\.ts$' },
      to: { path: '^kernels/' },
    },
    {
      name: 'grammar-stands-alone',
      comment: 'The Chevrotain grammar is pure syntax.',
      severity: 'error',
      from: { path: '^grammar/' },
      to: { path: '^(src|kernels)/' },
    },
    {
      name: 'plan-and-ir-below-runtime',
      comment: 'The planner and the IR work on shapes and ids, never on tensors or backends.',
      severity: 'error',
      from: { path: '^src/(plan|ir|frontend)/' },
      to: { path: '^(src/(runtime|api|autograd|nn|optim)/|kernels/)' },
    },
    {
      name: 'jit-sits-above-the-runtime',
      comment: 'jit traces and replays what the runtime launches; the layers below it never depend on it.',
      severity: 'error',
      from: { path: '^(src/(lower|runtime|autograd|ir|plan|frontend|util|platform)/|kernels/)' },
      to: { path: '^src/jit/' },
    },
    {
      name: 'no-cycles-outside-the-tensor-core',
      comment:
        'Tensor, its ops and autograd call each other by design (a method records a node whose rule calls methods), ' +
        'as in PyTorch; everywhere else imports run one way. Type-only imports erase at compile time and do not count.',
      severity: 'error',
      from: { pathNot: '^src/(runtime|autograd)/' },
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|node_modules|tests|bench|examples|playground|scripts|stryker)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
