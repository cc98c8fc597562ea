/**
 * The main job (`npm start`): trains the seed-003 convolutional next-token model on the seed's two paragraphs,
 * with a progress bar, then samples text and plots the loss. `npm start -- --device webgpu` runs it on the GPU;
 * `npm start -- --tour` prints the runtime tour instead.
 */
import { isAvailable, shutdown } from '../src/index.js';
import { train } from './train.js';
import { tour } from './tour.js';

const args = process.argv.slice(2);
const at = args.indexOf('--device');
const requested = at >= 0 ? args[at + 1] : 'cpu';

if (args.includes('--tour')) {
  await tour();
} else {
  const device = requested === 'webgpu' && (await isAvailable('webgpu')) ? 'webgpu' : 'cpu';
  if (requested === 'webgpu' && device !== 'webgpu') console.log('WebGPU is not available here; training on the CPU.');
  await train({ device });
}
await shutdown();
