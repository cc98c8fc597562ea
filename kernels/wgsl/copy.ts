/**
 * LoopSpec → WGSL, the 'copy4' shape: a plain copy (no cast, no arithmetic) of one contiguous input into a
 * contiguous output, moved 16 bytes per invocation as `vec4<u32>` — the bits, whatever the 4-byte dtype (float32,
 * int32, bool stored as u32, float16 stored as f32), so NaN payloads and signed zeros survive exactly.
 *
 * Eligible after simplifyLoops has merged the loops: a single loop with unit stride in both operands, both offsets
 * divisible by 4, at least 4 elements, storage of 4 bytes per element. Invocation g copies vec4 g; the invocation
 * just past the last whole vec4 copies the 1–3 trailing elements one component at a time, so nothing beyond the
 * output's range is written (an output may be a view into a larger buffer).
 */

import type { LoopSpec } from '../../src/lower/spec.js';
import { ParamsLayout } from './params.js';
import { bindingDecl, foldGrid } from './common.js';

/** Invocations per copy4 workgroup. */
const COPY_WORKGROUP_SIZE = 256;

/** Whether `spec` is a copy the vec4 kernel can move (see the module comment). */
export function isVec4Copy(spec: LoopSpec): boolean {
  const input = spec.inputs[0];
  return spec.parallel === spec.sizes.length && spec.sizes.length === 1 && spec.inputs.length === 1 && input !== undefined &&
    spec.expr.kind === 'input' && spec.expr.index === 0 &&
    input.dtype === spec.output.dtype && spec.computeType === spec.output.dtype && spec.output.dtype !== 'float16' && spec.output.dtype !== 'float64' &&
    input.strides[0] === 1 && spec.output.strides[0] === 1 && input.offset % 4 === 0 && spec.output.offset % 4 === 0 && spec.sizes[0]! >= 4;
}

export function renderCopy4(spec: LoopSpec, name: string): { name: string; source: string; params: ParamsLayout; storageBindings: number } {
  const params = new ParamsLayout();
  params.field('size0', 'elements');
  params.field('in0_offset', 'elements, divisible by 4');
  params.field('out_offset', 'elements, divisible by 4');
  const source = [
    `// einjit copy kernel ${name}: ${spec.label}`,
    `// ${spec.output.dtype} copied as raw 32-bit words, one vec4 (16 bytes) per invocation; the invocation after the`,
    '// last whole vec4 copies the trailing 1-3 elements one component at a time.',
    '',
    bindingDecl(0, 'in0', 'read', 'vec4<u32>', `input 0 (${spec.inputs[0]!.dtype})`),
    bindingDecl(1, 'out', 'read_write', 'vec4<u32>', `output (${spec.output.dtype})`),
    params.render(2),
    '',
    `@compute @workgroup_size(${COPY_WORKGROUP_SIZE})`,
    'fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {',
    `  let g = i32((wid.y * nwg.x + wid.x) * ${COPY_WORKGROUP_SIZE}u + lid.x);`,
    '  let whole = params.size0 / 4;',
    '  let src = params.in0_offset / 4 + g;',
    '  let dst = params.out_offset / 4 + g;',
    '  if (g < whole) {',
    '    out[dst] = in0[src];',
    '  } else if (g == whole) {',
    '    for (var lane = 0; lane < params.size0 % 4; lane++) { out[dst][lane] = in0[src][lane]; }',
    '  }',
    '}',
    '',
  ].join('\n');
  return { name, source, params, storageBindings: 2 };
}

export function copy4ParamValues(spec: LoopSpec): Map<string, number> {
  return new Map([['size0', spec.sizes[0]!], ['in0_offset', spec.inputs[0]!.offset], ['out_offset', spec.output.offset]]);
}

export function copy4Grid(spec: LoopSpec, name: string): [number, number, number] {
  return foldGrid(Math.ceil((Math.floor(spec.sizes[0]! / 4) + 1) / COPY_WORKGROUP_SIZE), name);
}
