import { randn, matmul } from '../../src/index.js';
for (const dt of ['float32','float64'] as const) {
  const a = randn([64, 576], {dtype: dt}); const b = randn([576, 3136], {dtype: dt});
  matmul(a,b);
  const t0 = performance.now(); for (let i=0;i<5;i++) matmul(a,b); const t = (performance.now()-t0)/5;
  console.log(dt, t.toFixed(1), 'ms', (2*64*576*3136/t/1e6).toFixed(2), 'GFLOP/s');
}
const x = randn([8,64,58,58]); const t0=performance.now(); for (let i=0;i<5;i++) x.contiguous(); x.permute(0,2,3,1).contiguous(); console.log('copy', (performance.now()-t0)/6);
process.exit(0);
