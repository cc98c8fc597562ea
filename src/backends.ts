/**
 * The composition root: the one file that names every backend. It creates each with the runtime's storage hooks
 * and registers it: the CPU at once, WebGPU lazily (Dawn or `navigator.gpu` is loaded only when a program asks
 * for 'webgpu'). A new backend is its folder under kernels/ plus one line here.
 */
import { createCpuBackend } from '../kernels/cpu/backend.js';
import type { StorageHooks } from './lower/backend.js';
import { checkNotDisposed, registerBackend, registerBackendInitializer, runDeferredChecks } from './runtime/backend.js';
import { noteAllocation } from './runtime/scope.js';

const hooks: StorageHooks = { allocated: noteAllocation, checkUsable: checkNotDisposed, beforeRead: runDeferredChecks };

registerBackend(createCpuBackend(hooks));
registerBackendInitializer('webgpu', async () => (await import('../kernels/wgsl/webgpu.js')).createWebGPUBackend(hooks));
