import { noGrad } from '../../src/index.js';
import * as nn from '../../src/nn/index.js';
import { loadResnetCase, formulaTensor, formulaInput } from './resnet-weights.js';
const c = loadResnetCase();
for (const dtype of ['float64'] as const) {
  const m = nn.models.resnet34({ numClasses: 1000 }).cast(dtype);
  const sd: Record<string, any> = {};
  for (const k of c.keys) sd[k] = formulaTensor(k, c.shapes[k]!);
  m.loadStateDict(sd);
  m.eval();
  const t0 = performance.now();
  const y = noGrad(() => m.forward(formulaInput(dtype)));
  const got = y.dataSync();
  let err = 0;
  for (let i = 0; i < 1000; i++) err = Math.max(err, Math.abs(got[i]! - c.logits_float64[i]!));
  console.log(dtype, 'ms', (performance.now() - t0).toFixed(0), 'max err', err, y.shape);
}
process.exit(0);
