import { checkEinops, checkEinsum, clearFrontendCaches } from '../src/ir/index.js';
import { parsePattern } from '../grammar/index.js';
function time(name: string, f: (i: number) => void, n = 5000) {
  const t = performance.now();
  for (let i = 0; i < n; i++) f(i);
  console.log(name, ((performance.now() - t) / n * 1000).toFixed(1), 'µs');
}
time('grammar ok', (i) => parsePattern('a b c' + i + ' -> c a', 'transform'));
time('grammar bad paren', (i) => parsePattern('(a (b' + i, 'transform'));
time('grammar lexbad', (i) => parsePattern('a-b' + i, 'transform'));
time('einsum ok cold', (i) => { clearFrontendCaches(); checkEinsum('ij,jk->ik', [[2, i], [i, 4]]); });
time('einsum bad', (i) => { try { checkEinsum('ij,jk->ik' + 'x'.repeat(i % 50), [[2, 3], [4, 4]]); } catch {} });
time('einops bad syntax', (i) => { try { checkEinops('rearrange', '(a (b' + i, [2]); } catch {} });
time('new Error', (i) => { try { throw new Error('x' + i); } catch {} });
