/** nn.models: ready-made architectures. */
export { MLP, type MLPOptions } from './mlp.js';
export { ResNet, BasicBlock, resnet18, resnet34, type ResNetOptions } from './resnet.js';
export { TokenConvNet, type TokenConvNetOptions } from './tokenconv.js';
export { SimpleBPETokenizer, SEED_TEXTS, seedTokens } from './bpe.js';
