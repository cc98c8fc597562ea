import * as tf from '@tensorflow/tfjs-core';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-backend-cpu';
import { createRequire } from 'node:module';
import path from 'node:path';
const require = createRequire(import.meta.url);
setWasmPaths(path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + path.sep);
for (const be of ['wasm', 'cpu']) {
await tf.setBackend(be);
const w = tf.randomNormal([64, 576]); const x = tf.randomNormal([8, 576, 1024]);
const w3 = tf.reshape(w, [1, 64, 576]);
const t = (name: string, f: () => tf.Tensor) => { for (let r = 0; r < 3; r++) { const t0 = performance.now(); tf.tidy(() => { f(); }); console.log(be, name, (performance.now() - t0).toFixed(1)); } };
t('bcast', () => tf.matMul(w3, x));
t('tile', () => tf.matMul(tf.tile(w3, [8, 1, 1]), x));
t('per-batch', () => tf.stack(tf.unstack(x).map((xb) => tf.matMul(w, xb))));
t('flatten', () => tf.transpose(tf.reshape(tf.matMul(w, tf.reshape(tf.transpose(x, [1, 0, 2]), [576, 8192])), [64, 8, 1024]), [1, 0, 2]));
}
