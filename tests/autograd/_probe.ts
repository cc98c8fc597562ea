import { isAvailable, zeros, tensor } from '../../src/index.js';
console.log(await isAvailable('webgpu'));
const z = zeros([4], { device: 'webgpu' });
console.log('zeros');
console.log(Array.from(await z.data()));
const a = tensor(new Float32Array([1, 2, 3, 4]), { device: 'webgpu' });
console.log('tensor');
process.exit(0);
