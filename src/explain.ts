/**
 * `einjit explain`: everything einjit decides about a pattern, as text — the parsed IR, the checked shapes, the
 * contraction plan (for einsum) or the einops recipe, the kernel chosen for each step and its generated source.
 */
import { EinjitError } from './errors.js';
import { compile } from './api/einsum.js';
import { rearrange, reduce, repeat, type Reduction } from './api/einops.js';
import { checkEinops, checkEinsum, printEinsum, printTransform } from './ir/index.js';
import { checkDevice, getBackend, initBackend } from './runtime/backend.js';
import { captureKernels } from './runtime/recording.js';
import { zeros } from './runtime/creation.js';
import { formatShape } from './errors.js';

export interface ExplainRequest {
  readonly pattern: string;
  readonly shapes: readonly (readonly number[])[];
  readonly device: string;
  readonly optimize: string;
  /** 'einsum', 'rearrange', 'reduce' or 'repeat'. */
  readonly op: string;
  readonly reduction: string;
  readonly axes: Readonly<Record<string, number>>;
  /** Include the generated source of every kernel. */
  readonly source: boolean;
}

export async function explainPattern(req: ExplainRequest): Promise<string> {
  const device = checkDevice(req.device, 'explain');
  if (device !== 'cpu') await initBackend(device);
  const lines: string[] = [];
  if (req.op === 'einsum') {
    const checked = checkEinsum(req.pattern, req.shapes, 'explain');
    lines.push('Parsed IR:', indent(printEinsum(checked.ir)), '');
    lines.push(`Checked shapes: ${req.shapes.map(formatShape).join(', ')} -> ${formatShape(checked.outputShape)}`, '');
    const expr = compile(req.pattern, req.shapes, { device, optimize: req.optimize });
    lines.push(expr.explain());
    if (req.source) {
      for (const k of expr.kernels()) lines.push('', `── ${k.name} ${'─'.repeat(Math.max(0, 60 - k.name.length))}`, k.source);
    }
    return lines.join('\n');
  }
  if (req.op !== 'rearrange' && req.op !== 'reduce' && req.op !== 'repeat') {
    throw new EinjitError(`unknown op '${req.op}'`, { op: 'explain', hint: 'use einsum, rearrange, reduce or repeat' });
  }
  if (req.shapes.length !== 1) {
    throw new EinjitError(`${req.op} takes one input, got ${req.shapes.length} shapes`, {
      op: 'explain', pattern: req.pattern, hint: 'give one shape, e.g. --shapes 2x3x4',
    });
  }
  const shape = req.shapes[0]!;
  const recipe = checkEinops(req.op, req.pattern, shape, req.axes, req.op === 'reduce' ? req.reduction : undefined);
  lines.push('Parsed IR:', indent(printTransform(recipe.ir)), '');
  lines.push(`Checked shapes: ${formatShape(shape)} -> ${formatShape(recipe.outputShape)}`);
  lines.push(`  elementary axes ${formatShape(recipe.elementaryShape)}` +
    (recipe.reducedAxes.length ? `, reduced positions [${recipe.reducedAxes.join(', ')}] with ${req.reduction}` : '') +
    `, output axes ${recipe.outputAxes.map((a) => (a.kind === 'input' ? `#${a.axis}` : `new(${a.size})`)).join(' ')}`, '');
  const x = zeros(shape, { device });
  const { specs } = captureKernels(device, () => {
    if (req.op === 'rearrange') return rearrange(x, req.pattern, req.axes);
    if (req.op === 'repeat') return repeat(x, req.pattern, req.axes);
    return reduce(x, req.pattern, req.reduction as Reduction, req.axes);
  });
  if (specs.length === 0) lines.push('Kernels: none — the result is a view of the input (no data moves)');
  else {
    lines.push('Kernels:');
    specs.forEach((s, i) => lines.push(`  ${i}: ${s.kind === 'gemm' ? 'GEMM' : 'loop nest'} ${s.label}`));
    if (req.source) {
      const backend = getBackend(device, 'explain');
      specs.forEach((s, i) => lines.push('', `── kernel ${i} ${'─'.repeat(50)}`, backend.source(s)));
    }
  }
  return lines.join('\n');
}

function indent(text: string): string {
  return text.split('\n').map((l) => `  ${l}`).join('\n');
}
