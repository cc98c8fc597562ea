/**
 * Reading the WGSL einjit generates for a matrix product: the plan, the kernel chosen, and its source. Without a
 * GPU it falls back to showing the CPU kernel. Run: npx tsx examples/wgsl-inspection.ts
 */
import { compile, isAvailable, shutdown } from '../src/index.js';

export async function main(): Promise<{ device: string; source: string; explain: string }> {
  const device = (await isAvailable('webgpu')) ? 'webgpu' : 'cpu';
  const expr = compile('ik,kj->ij', [[256, 128], [128, 64]], { device });
  const explain = expr.explain();
  const source = expr.source();
  console.log(explain);
  console.log(source);
  return { device, source, explain };
}

if (import.meta.url === `file://${process.argv[1]}`) main().then(() => shutdown());
