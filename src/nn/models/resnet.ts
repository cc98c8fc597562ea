/**
 * ResNet-18/34 exactly as torchvision builds them (BasicBlock, a 7×7 stride-2 stem, 3×3 max pool, four stages,
 * 1×1 stride-2 downsample with batch norm, global average pool, linear head). Field names and order match
 * torchvision's, so state-dict keys and shapes are the same: a converted torchvision checkpoint loads unchanged.
 */
import * as A from '../../runtime/args.js';
import { EinjitError } from '../../errors.js';
import type { Tensor } from '../../runtime/tensor.js';
import { Module, Sequential } from '../module.js';
import { AdaptiveAvgPool2d, BatchNorm2d, Conv2d, Linear, MaxPool2d, ReLU, type FactoryOptions } from '../layers.js';
import * as init from '../init.js';

function conv3x3(inPlanes: number, outPlanes: number, stride: number, f: FactoryOptions): Conv2d {
  return new Conv2d(inPlanes, outPlanes, 3, { stride, padding: 1, bias: false, ...f });
}

function conv1x1(inPlanes: number, outPlanes: number, stride: number, f: FactoryOptions): Conv2d {
  return new Conv2d(inPlanes, outPlanes, 1, { stride, bias: false, ...f });
}

/** Two 3×3 convolutions with batch norm and a residual connection (torchvision's BasicBlock). */
export class BasicBlock extends Module {
  static readonly expansion = 1;
  conv1: Conv2d;
  bn1: BatchNorm2d;
  relu: ReLU;
  conv2: Conv2d;
  bn2: BatchNorm2d;
  downsample: Sequential | null;

  constructor(inPlanes: number, planes: number, stride: number, downsample: Sequential | null, f: FactoryOptions = {}) {
    super();
    this.conv1 = conv3x3(inPlanes, planes, stride, f);
    this.bn1 = new BatchNorm2d(planes, f);
    this.relu = new ReLU();
    this.conv2 = conv3x3(planes, planes, 1, f);
    this.bn2 = new BatchNorm2d(planes, f);
    this.downsample = downsample;
  }

  override forward(x: Tensor): Tensor {
    A.tensorArg(x, `${this.constructor.name}.forward`);
    let out = this.relu.forward(this.bn1.forward(this.conv1.forward(x)));
    out = this.bn2.forward(this.conv2.forward(out));
    const identity = this.downsample === null ? x : this.downsample.forward(x);
    return this.relu.forward(out.add(identity));
  }
}

export interface ResNetOptions extends FactoryOptions {
  readonly numClasses?: number;
  /** Start each block's last batch norm at zero (torchvision's zero_init_residual). */
  readonly zeroInitResidual?: boolean;
}

export class ResNet extends Module {
  conv1: Conv2d;
  bn1: BatchNorm2d;
  relu: ReLU;
  maxpool: MaxPool2d;
  layer1: Sequential;
  layer2: Sequential;
  layer3: Sequential;
  layer4: Sequential;
  avgpool: AdaptiveAvgPool2d;
  fc: Linear;
  private _inPlanes = 64;

  constructor(layers: readonly [number, number, number, number], options: ResNetOptions = {}) {
    super();
    if (!Array.isArray(layers) || layers.length !== 4) {
      throw new EinjitError(`layers must list the block count of each of the 4 stages, got ${A.describe(layers)}`, { op: 'ResNet', hint: 'e.g. [2, 2, 2, 2] (resnet18)' });
    }
    layers.forEach((n, i) => A.intArg(n, 'ResNet', `layers[${i}]`, 0, 64));
    A.optionsArg(options, 'ResNet');
    const f: FactoryOptions = {
      ...(options.dtype !== undefined ? { dtype: options.dtype } : {}),
      ...(options.device !== undefined ? { device: options.device } : {}),
    };
    this.conv1 = new Conv2d(3, 64, 7, { stride: 2, padding: 3, bias: false, ...f });
    this.bn1 = new BatchNorm2d(64, f);
    this.relu = new ReLU();
    this.maxpool = new MaxPool2d(3, { stride: 2, padding: 1 });
    this.layer1 = this.makeLayer(64, layers[0], 1, f);
    this.layer2 = this.makeLayer(128, layers[1], 2, f);
    this.layer3 = this.makeLayer(256, layers[2], 2, f);
    this.layer4 = this.makeLayer(512, layers[3], 2, f);
    this.avgpool = new AdaptiveAvgPool2d(1);
    this.fc = new Linear(512 * BasicBlock.expansion, options.numClasses ?? 1000, f);

    for (const m of this.modules()) {
      if (m instanceof Conv2d) init.kaimingNormal_(m.weight, { mode: 'fan_out', nonlinearity: 'relu' });
      else if (m instanceof BatchNorm2d && m.weight !== null && m.bias !== null) {
        init.ones_(m.weight);
        init.zeros_(m.bias);
      }
    }
    if (options.zeroInitResidual === true) {
      for (const m of this.modules()) if (m instanceof BasicBlock && m.bn2.weight !== null) init.zeros_(m.bn2.weight);
    }
  }

  private makeLayer(planes: number, blocks: number, stride: number, f: FactoryOptions): Sequential {
    let downsample: Sequential | null = null;
    if (stride !== 1 || this._inPlanes !== planes * BasicBlock.expansion) {
      downsample = new Sequential(conv1x1(this._inPlanes, planes, stride, f), new BatchNorm2d(planes, f));
    }
    const layer = new Sequential(new BasicBlock(this._inPlanes, planes, stride, downsample, f));
    this._inPlanes = planes * BasicBlock.expansion;
    for (let i = 1; i < blocks; i++) layer.append(new BasicBlock(this._inPlanes, planes, 1, null, f));
    return layer;
  }

  /** [N, 3, H, W] images → [N, numClasses] logits. */
  override forward(x: Tensor): Tensor {
    A.tensorArg(x, `${this.constructor.name}.forward`);
    let y = this.maxpool.forward(this.relu.forward(this.bn1.forward(this.conv1.forward(x))));
    y = this.layer4.forward(this.layer3.forward(this.layer2.forward(this.layer1.forward(y))));
    y = this.avgpool.forward(y).flatten(1);
    return this.fc.forward(y);
  }
}

/** torchvision.models.resnet34: BasicBlock stages [3, 4, 6, 3], 21,797,672 parameters with 1000 classes. */
export function resnet34(options: ResNetOptions = {}): ResNet {
  return new ResNet([3, 4, 6, 3], options);
}

/** torchvision.models.resnet18: BasicBlock stages [2, 2, 2, 2]. */
export function resnet18(options: ResNetOptions = {}): ResNet {
  return new ResNet([2, 2, 2, 2], options);
}
