/**
 * Contracting a tensor network: the norm of a matrix product state (MPS), a chain of 3-index tensors contracted
 * with its mirror. The planner's report shows why the order matters. Run: npx tsx examples/tensor-network.ts
 */
import { einsum, einsumPath, manualSeed, randn, type Tensor } from '../src/index.js';

/** ⟨ψ|ψ⟩ for an open-boundary MPS of `sites` tensors with bond dimension `bond` and physical dimension `phys`. */
export function mpsNorm(tensors: readonly Tensor[]): { value: Tensor; pattern: string } {
  const n = tensors.length;
  // Bra bonds a0..a(n), ket bonds b0..b(n), physical p0..p(n-1); named axes keep it readable past 52 letters.
  const bra = tensors.map((_, i) => `a${i} p${i} a${i + 1}`);
  const ket = tensors.map((_, i) => `b${i} p${i} b${i + 1}`);
  const pattern = `${[...bra, ...ket].join(', ')} -> a0 a${n} b0 b${n}`;
  const value = einsum(...tensors, ...tensors, pattern);
  return { value, pattern };
}

export function main(): { value: Tensor; report: string } {
  manualSeed(2);
  const sites = 6;
  const bond = 4;
  const phys = 2;
  const tensors = Array.from({ length: sites }, (_, i) =>
    randn([i === 0 ? 1 : bond, phys, i === sites - 1 ? 1 : bond]));
  const { value, pattern } = mpsNorm(tensors);
  const shapes = [...tensors, ...tensors].map((t) => t.shape);
  const { report } = einsumPath(pattern, shapes, { optimize: 'auto' });
  console.log(report);
  console.log(`<psi|psi> = ${value.reshape([1]).item()}`);
  return { value, report };
}

if (import.meta.url === `file://${process.argv[1]}`) main();
