/** The nn and optim namespaces as the public API exports them. */
export * as nn from '../../src/nn/index.js';
export * as optim from '../../src/optim/index.js';
