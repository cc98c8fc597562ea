/**
 * The weights and input of tests/conformance/resnet34_torchvision.json, rebuilt from the formula in its header.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { tensor, type Tensor } from '../../src/index.js';

export interface ResnetCase {
  readonly keys: string[];
  readonly shapes: Record<string, number[]>;
  readonly param_count: number;
  readonly logits_float64: number[];
  readonly float32_vs_float64_max_abs_diff: number;
  readonly max_abs_logit: number;
  readonly formula: string;
}

export function loadResnetCase(): ResnetCase {
  const path = fileURLToPath(new URL('../conformance/resnet34_torchvision.json', import.meta.url));
  return JSON.parse(readFileSync(path, 'utf8')) as ResnetCase;
}

function isBatchNorm(key: string): boolean {
  return key.includes('.bn') || key.startsWith('bn1') || key.includes('downsample.1');
}

/** The value of every state-dict entry, by the header's formula, as float64 (num_batches_tracked: 0). */
export function formulaTensor(key: string, shape: readonly number[]): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  if (key.endsWith('num_batches_tracked')) return tensor(new Int32Array(n), { shape: shape.slice() });
  let codes = 0;
  for (const ch of key) codes += ch.charCodeAt(0);
  const phase = (codes % 97) * 0.23;
  const out = new Float64Array(n);
  const fanIn = n / (shape[0] ?? 1);
  const leaf = key.slice(key.lastIndexOf('.') + 1);
  for (let i = 0; i < n; i++) {
    const s = Math.sin(0.37 * i + phase);
    let v: number;
    if (leaf === 'running_mean') v = 0.1 * s;
    else if (leaf === 'running_var') v = 1 + 0.25 * (s + 1);
    else if (isBatchNorm(key) && leaf === 'weight') v = 1 + 0.1 * s;
    else if (isBatchNorm(key) && leaf === 'bias') v = 0.1 * s;
    else if (leaf === 'bias') v = 0.01 * s;
    else v = Math.sqrt(2 / fanIn) * s;
    out[i] = v;
  }
  return tensor(out, { shape: shape.slice() });
}

export function formulaInput(dtype: 'float32' | 'float64'): Tensor {
  const n = 3 * 224 * 224;
  const x = new Float64Array(n);
  for (let i = 0; i < n; i++) x[i] = Math.sin(0.003 * i);
  return tensor(x, { shape: [1, 3, 224, 224] }).cast(dtype);
}
