/**
 * The main job (`npm start`): trains the seed-003 convolutional next-token model on the seed's two paragraphs,
 * with a progress bar, then samples text and plots the loss. `npm start -- --device webgpu` runs it on the GPU;
 * `npm start -- --no-jit` runs each op eagerly instead of replaying the jitted training step (loss, gradients, AdamW);
 * `npm start -- --tour` prints the runtime tour instead.
 */
import { deviceInfo, shutdown } from '../src/index.js';
import { train } from './train.js';
import { tour } from './tour.js';

const args = process.argv.slice(2);
const at = args.indexOf('--device');
const requested = at >= 0 ? args[at + 1] : 'cpu';

if (args.includes('--tour')) {
  await tour();
} else {
  let device: 'cpu' | 'webgpu' = 'cpu';
  if (requested === 'webgpu') {
    const info = await deviceInfo('webgpu');
    if (info.available) {
      device = 'webgpu';
      const a = info.adapter;
      const name = a === undefined ? 'unknown adapter' : [a.vendor, a.architecture, a.device].filter((s) => s !== '').join(' / ');
      console.log(`WebGPU adapter: ${name}${a?.software === true ? ' (a software rasterizer: expect CPU-like speed, not a GPU\'s)' : ''}`);
    } else {
      console.log(`WebGPU is not available here, training on the CPU instead. Why:\n${info.reason ?? 'unknown'}`);
    }
  }
  await train({ device, jit: !args.includes('--no-jit') });
}
await shutdown();
