import { checkEinops, checkEinsum, checkPack, checkUnpack, parseShape } from '../src/ir/index.js';
type Ex = { op: string; pattern: string; shapes: number[][]; axesLengths?: Record<string, number>; reduction?: string; packedShapes?: number[][]; syntax?: 'numpy' | 'einops' };
export function run(x: Ex): unknown {
  switch (x.op) {
    case 'einsum': return checkEinsum(x.pattern, x.shapes, 'einsum', x.syntax ?? 'auto');
    case 'rearrange': case 'reduce': case 'repeat': return checkEinops(x.op, x.pattern, x.shapes[0]!, x.axesLengths ?? {}, x.reduction);
    case 'pack': return checkPack(x.pattern, x.shapes);
    case 'unpack': return checkUnpack(x.pattern, x.shapes[0]!, x.packedShapes!);
    case 'parseShape': return parseShape(x.pattern, x.shapes[0]!);
  }
}
const sections: [string, Ex[]][] = [
 ['Lexing and parsing', [
  { op: 'rearrange', pattern: 'a ! b -> a b', shapes: [[2, 3]] },
  { op: 'rearrange', pattern: 'a.b -> a b', shapes: [[2, 3]] },
  { op: 'einsum', pattern: 'ij- >ij', shapes: [[2, 3]], syntax: 'numpy' },
  { op: 'rearrange', pattern: 'a b', shapes: [[2, 3]] },
  { op: 'einsum', pattern: 'i->i->i', shapes: [[3]], syntax: 'numpy' },
  { op: 'rearrange', pattern: 'a (b c -> a b c', shapes: [[2, 12]] },
  { op: 'rearrange', pattern: 'a b) -> a b', shapes: [[2, 3]] },
  { op: 'rearrange', pattern: '(a (b c)) -> a b c', shapes: [[24]], axesLengths: { a: 2, b: 3 } },
  { op: 'rearrange', pattern: 'a b, c -> a', shapes: [[2, 3]] },
  { op: 'einsum', pattern: 'ij->i,j', shapes: [[2, 3]], syntax: 'numpy' },
  { op: 'rearrange', pattern: 'a * -> a', shapes: [[2, 3]] },
  { op: 'parseShape', pattern: 'a -> a', shapes: [[2]] },
  { op: 'pack', pattern: 'a ... *', shapes: [[3, 4]] },
  { op: 'pack', pattern: '(a) *', shapes: [[3, 4]] },
  { op: 'einsum', pattern: '(ij)->i', shapes: [[2, 3]], syntax: 'numpy' },
 ]],
 ['Names', [
  { op: 'einsum', pattern: 'iα', shapes: [[2, 3]], syntax: 'numpy' },
  { op: 'rearrange', pattern: '2a b -> b 2a', shapes: [[2, 3]] },
  { op: 'pack', pattern: 'h_ w *', shapes: [[3, 4]] },
  { op: 'repeat', pattern: 'a -> a 99999999999999999999', shapes: [[2]] },
  { op: 'einsum', pattern: null as unknown as string, shapes: [[2]] },
 ]],
 ['einsum', [
  { op: 'einsum', pattern: '...i...', shapes: [[2, 3]], syntax: 'numpy' },
  { op: 'einsum', pattern: '...->......', shapes: [[2, 3]], syntax: 'numpy' },
  { op: 'einsum', pattern: 'ij->ik', shapes: [[2, 3]], syntax: 'numpy' },
  { op: 'einsum', pattern: 'i->ii', shapes: [[3]], syntax: 'numpy' },
  { op: 'einsum', pattern: 'i->i', shapes: [], syntax: 'numpy' },
  { op: 'einsum', pattern: 'ij', shapes: [[2, 1.5]], syntax: 'numpy' },
  { op: 'einsum', pattern: 'i', shapes: [[2], [3]], syntax: 'numpy' },
  { op: 'einsum', pattern: 'i,j', shapes: [[2]], syntax: 'numpy' },
  { op: 'einsum', pattern: 'ijk', shapes: [[2, 3]], syntax: 'numpy' },
  { op: 'einsum', pattern: '...i->i', shapes: [[2, 3]], syntax: 'numpy' },
  { op: 'einsum', pattern: 'ii', shapes: [[2, 3]], syntax: 'numpy' },
  { op: 'einsum', pattern: 'ij,jk', shapes: [[2, 3], [4, 5]], syntax: 'numpy' },
  { op: 'einsum', pattern: '(a b) -> a b', shapes: [[6]], syntax: 'einops' },
  { op: 'einsum', pattern: 'i 2 -> i', shapes: [[5, 2]], syntax: 'einops' },
  { op: 'einsum', pattern: 'i j -> i 1', shapes: [[5, 3]], syntax: 'einops' },
  { op: 'einsum', pattern: 'a b c d e f g h i j k l m n o p q r s t u v w x y z A B C D E F G H I J K L M N O P Q R S T U V W X Y Z extra ->', shapes: [Array(53).fill(1)], syntax: 'einops' },
 ]],
 ['rearrange, reduce, repeat', [
  { op: 'rearrange', pattern: 'b h w -> b w', shapes: [[2, 3, 4]] },
  { op: 'rearrange', pattern: 'a b -> a b c', shapes: [[2, 3]] },
  { op: 'rearrange', pattern: 'a b -> a b 3', shapes: [[2, 3]] },
  { op: 'rearrange', pattern: 'a b c -> ... a b c', shapes: [[2, 3, 4]] },
  { op: 'rearrange', pattern: '(a ...) -> a ...', shapes: [[2, 3, 4]] },
  { op: 'reduce', pattern: 'a ... ... -> a', shapes: [[2, 3, 4]], reduction: 'sum' },
  { op: 'repeat', pattern: 'a b -> a b b', shapes: [[3, 4]], axesLengths: { b: 4 } },
  { op: 'rearrange', pattern: 'a 0 -> a', shapes: [[2, 1]] },
  { op: 'reduce', pattern: 'a b -> a', shapes: [[3, 4]], reduction: 'median' },
  { op: 'reduce', pattern: 'a b -> a c', shapes: [[3, 4]], reduction: 'sum' },
  { op: 'repeat', pattern: 'a b -> a', shapes: [[3, 4]] },
  { op: 'repeat', pattern: 'a -> a b', shapes: [[3]] },
  { op: 'rearrange', pattern: 'a b c -> a b c', shapes: [[2, 3]] },
  { op: 'rearrange', pattern: 'a b -> b a', shapes: [[2, 3]], axesLengths: { c: 3 } },
  { op: 'rearrange', pattern: 'a b -> b a', shapes: [[2, 3]], axesLengths: { _c: 3 } },
  { op: 'rearrange', pattern: '(a b) c -> a b c', shapes: [[6, 2]] },
  { op: 'rearrange', pattern: '(a b) c -> a b c', shapes: [[6, 4]], axesLengths: { b: -2 } },
  { op: 'rearrange', pattern: '(a b) c -> a b c', shapes: [[6, 2]], axesLengths: { a: 4 } },
  { op: 'rearrange', pattern: 'a b -> b a', shapes: [[2, 3]], axesLengths: { a: 3 } },
  { op: 'rearrange', pattern: 'a -> a', shapes: [[-1]] },
  { op: 'rearrange', pattern: 'a -> a', shapes: [[2]], axesLengths: [2] as unknown as Record<string, number> },
 ]],
 ['pack, unpack, parse_shape', [
  { op: 'pack', pattern: 'h w', shapes: [[3, 4]] },
  { op: 'pack', pattern: 'h h *', shapes: [[3, 4, 5]] },
  { op: 'pack', pattern: 'a *', shapes: [] },
  { op: 'pack', pattern: 'a b *', shapes: [[3]] },
  { op: 'pack', pattern: 'h *', shapes: [[2, 3], [4, 3]] },
  { op: 'pack', pattern: 'a *', shapes: [[0, 3]] },
  { op: 'unpack', pattern: 'a *', shapes: [[2, 3, 4]], packedShapes: [[3], [1]] },
  { op: 'unpack', pattern: '*', shapes: [[5]], packedShapes: [[-1], [-1]] },
  { op: 'unpack', pattern: '*', shapes: [[5]], packedShapes: [[2], [1], [1]] },
  { op: 'unpack', pattern: '*', shapes: [[5]], packedShapes: [[-2]] },
  { op: 'parseShape', pattern: '(a b) c', shapes: [[6, 4]] },
  { op: 'parseShape', pattern: '(...)', shapes: [[2, 3]] },
  { op: 'parseShape', pattern: 'a a', shapes: [[2, 3]] },
  { op: 'parseShape', pattern: 'a b c', shapes: [[1, 2, 3, 4]] },
  { op: 'parseShape', pattern: 'a b c ()', shapes: [[1, 2, 3, 4]] },
  { op: 'parseShape', pattern: '2 a b c', shapes: [[1, 2, 3, 4]] },
 ]],
];
for (const [title, exs] of sections) {
  console.log(`## ${title}\n`);
  for (const x of exs) {
    try { run(x); console.log('NO ERROR', JSON.stringify(x)); } catch (e: any) {
      console.log('### `' + e.reason.replace(/`/g, "'") + '`\n');
      console.log('DESCRIPTION\n');
      console.log('```json error-example');
      console.log(JSON.stringify({ ...x, headline: e.reason }));
      console.log('```\n');
      console.log('```text\n' + e.message + '\n```\n');
    }
  }
}
