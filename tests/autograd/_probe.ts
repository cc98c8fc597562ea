import { einsum, tensor, zeros } from '../../src/index.js';
const t = (s: number[]) => zeros(s, { dtype: 'float64' });
for (const [p, shapes] of [['ij,ij->ij', [[1, 3], [2, 3]]], ['ii->i', [[1, 3]]], ['ij,jk', [[2, 1], [3, 2]]], ['...i,...i->...', [[2, 1, 3], [4, 3]]], ['i...,i', [[2], [2]]], ['ii,i->i', [[3, 3], [1]]]] as [string, number[][]][]) {
  try { console.log(p, einsum(p, ...shapes.map(t)).shape); } catch (e) { console.log(p, 'ERR', (e as Error).message.split('\n')[0]); }
}
