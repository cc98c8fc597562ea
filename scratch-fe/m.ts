import { checkEinops, checkEinsum } from '../src/ir/index.js';
const tries: (() => unknown)[] = [
  () => checkEinops('rearrange', 'b h w -> b w', [2, 3, 4]),
  () => checkEinsum('ij,jk->ik', [[2, 3], [4, 5]]),
  () => checkEinops('rearrange', '(a b -> a b', [6, 2]),
  () => checkEinops('rearrange', 'a b', [6, 2]),
  () => checkEinsum('ij->i,j', [[2, 3]]),
  () => checkEinops('reduce', 'a b -> a', [6, 2], {}, 'median'),
  () => checkEinsum('...->', [[2, 3]]),
  () => checkEinsum(42 as any, [[2, 3]]),
  () => checkEinsum('ij', [[2, 'x']] as any),
];
for (const t of tries) { try { t(); console.log('no error'); } catch (e: any) { console.log(e.constructor.name + ': ' + e.message + '\n'); } }
