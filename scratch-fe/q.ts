import { checkEinsum, checkEinops, parseShape } from '../src/ir/index.js';
console.log(checkEinsum('(...) -> (...)', [[5]], 'einsum', 'einops').outputShape);
console.log(checkEinsum('(...) -> ...', [[5]], 'einsum', 'einops').outputShape);
console.log(checkEinops('rearrange', 'a1 ٣ -> a1 ٣', [2, 3]).outputShape);
