import { readFileSync } from 'node:fs';
import { checkEinops, checkEinsum, checkPack, checkUnpack, parseShape } from '../src/ir/index.js';
const einops = JSON.parse(readFileSync('tests/conformance/einops.json', 'utf8')).cases;
const einsum = JSON.parse(readFileSync('tests/conformance/einsum.json', 'utf8')).cases;
for (const c of einops.filter((c: any) => c.error)) {
  const shapes = c.inputs.map((i: any) => i.shape);
  try {
    if (c.op === 'einsum') checkEinsum(c.pattern, shapes, 'einsum', 'einops');
    else if (c.op === 'pack') checkPack(c.pattern, shapes);
    else if (c.op === 'unpack') checkUnpack(c.pattern, shapes[0], c.packed_shapes);
    else if (c.op === 'parse_shape') parseShape(c.pattern, shapes[0]);
    else checkEinops(c.op, c.pattern, c.list_input ? [shapes.length, ...shapes[0]] : shapes[0], c.axes_lengths, c.op === 'reduce' ? c.reduction : undefined);
    console.log('NO ERROR', c.id);
  } catch (e: any) { console.log(c.id.padEnd(18), e.reason); if (process.env.FULL) console.log(e.message); }
}
for (const c of einsum.filter((c: any) => !c.valid)) {
  try { checkEinsum(c.subscripts, c.shapes, 'einsum', 'numpy'); console.log('NO ERROR', c.id); } catch (e: any) { console.log(c.id.padEnd(18), e.reason); }
}
