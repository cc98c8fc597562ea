/**
 * Corners of nn.Module that the layer tests pass through: registration checks, the order and naming of
 * parameters, buffers and children (shared ones once), loadStateDict's report of every difference, cast's rules,
 * toString's layout and ModuleList's indexing. Expected keys, orders and messages are written out by hand.
 */
import { describe, expect, it } from 'vitest';
import { tensor, type Tensor } from '../../src/index.js';
import { nn } from './nn.js';
import { thrown } from '../helpers/thrown.js';

const values = (t: Tensor): number[] => Array.from(t.dataSync() as ArrayLike<number>);
const param = (data: number[], requiresGrad = true): InstanceType<typeof nn.Parameter> =>
  new nn.Parameter(tensor(data, { dtype: 'float32' }), requiresGrad);

/** A leaf with a parameter, a frozen parameter, a persistent and a non-persistent buffer, and an int32 counter. */
class Leaf extends nn.Module {
  inWeight = param([1, 2]);
  frozen = param([3], false);
  constructor() {
    super();
    this.registerBuffer('runningTotal', tensor([5, 6], { dtype: 'float32' }));
    this.registerBuffer('scratch', tensor([7], { dtype: 'float32' }), false);
    this.registerBuffer('count', tensor([0], { dtype: 'int32' }));
  }
}

class Tree extends nn.Module {
  bias = param([9]);
  left = new Leaf();
  right: nn.Module;
  constructor() {
    super();
    this.right = this.left; // shared: one set of parameters under the first name
  }
}

describe('registration', () => {
  it('a Module without forward says so', () => {
    const err = thrown(() => (new nn.Module() as unknown as { forward(x: unknown): unknown }).forward(1));
    expect(err.reason).toBe('Module has no forward()');
    expect(err.op).toBe('Module.forward');
    expect(err.hint).toBe('define forward(x) in the subclass');
  });

  it('buffer names must be non-empty without dots, and may not shadow a parameter or module', () => {
    const m = new Tree();
    for (const name of ['', 'a.b']) {
      const err = thrown(() => m.registerBuffer(name, null));
      expect(err.reason).toBe(`buffer name ${JSON.stringify(name)} must be non-empty and contain no '.'`);
      expect(err.op).toBe('registerBuffer');
    }
    for (const name of ['bias', 'left']) {
      expect(thrown(() => m.registerBuffer(name, null)).reason).toBe(`attribute '${name}' already exists as a parameter or module`);
    }
    m.registerBuffer('empty', null);
    expect([...m.namedBuffers()].map(([k]) => k)).not.toContain('empty');
  });

  it('registerParameter and addModule refuse the wrong kind, and accept null', () => {
    const m = new nn.Module();
    const p = thrown(() => m.registerParameter('w', tensor([1]) as never));
    expect(p.reason).toMatch(/^param must be a Parameter or null, got /);
    expect(p.op).toBe('registerParameter');
    expect(p.hint).toBe('wrap a tensor with new nn.Parameter(t)');
    const a = thrown(() => m.addModule('child', 5 as never));
    expect(a.reason).toBe('module must be a Module or null, got 5');
    expect(a.op).toBe('addModule');
    m.registerParameter('w', null);
    m.addModule('child', null);
    expect(m.parameters()).toEqual([]);
    expect([...m.children()]).toEqual([]);
    m.registerParameter('w', param([1]));
    expect(m.parameters().length).toBe(1);
  });
});

describe('walking the tree', () => {
  it('modules and parameters are named by dotted paths, shared ones once, in declaration order', () => {
    const m = new Tree();
    expect([...m.namedModules()].map(([k, c]) => [k, c.constructor.name])).toEqual([['', 'Tree'], ['left', 'Leaf']]);
    expect([...m.namedModules('net')].map(([k]) => k)).toEqual(['net', 'net.left']);
    expect([...m.namedParameters()].map(([k]) => k)).toEqual(['bias', 'left.in_weight', 'left.frozen']);
    expect([...m.namedBuffers()].map(([k]) => k)).toEqual(['left.running_total', 'left.scratch', 'left.count']);
    expect(m.numParameters()).toBe(4);
    expect(m.numParameters(true)).toBe(3);
  });

  it('stateDict: own parameters, then persistent buffers, then children; non-persistent buffers left out', () => {
    const sd = new Tree().stateDict();
    expect(Object.keys(sd)).toEqual(['bias', 'left.in_weight', 'left.frozen', 'left.running_total', 'left.count', 'right.in_weight', 'right.frozen', 'right.running_total', 'right.count']);
    expect(values(sd['left.running_total']!)).toEqual([5, 6]);
  });

  it('train and eval reach every descendant; zeroGrad clears every gradient', () => {
    const m = new Tree();
    m.eval();
    expect([...m.modules()].every((c) => !c.training)).toBe(true);
    m.train();
    expect([...m.modules()].every((c) => c.training)).toBe(true);
    for (const p of m.parameters()) p.grad = tensor(new Array(p.size).fill(1), { dtype: 'float32' });
    m.zeroGrad();
    expect(m.parameters().every((p) => p.grad === null)).toBe(true);
  });
});

describe('loadStateDict', () => {
  it('lists missing and unexpected keys in strict mode, with the hint to relax it', () => {
    const m = new Leaf();
    const sd = m.stateDict();
    delete sd['frozen'];
    sd['extra'] = tensor([1]);
    const err = thrown(() => m.loadStateDict(sd));
    expect(err.reason).toBe('error(s) in loading the state dict for Leaf:\n    missing keys (1): "frozen"\n    unexpected keys (1): "extra"');
    expect(err.op).toBe('loadStateDict');
    expect(err.hint).toBe('pass strict = false to load a partial state dict');
    const r = m.loadStateDict(sd, false);
    expect(r).toEqual({ missingKeys: ['frozen'], unexpectedKeys: ['extra'] });
  });

  it('a shape mismatch or a non-tensor is refused even when not strict, naming the architecture', () => {
    const m = new Leaf();
    const sd = { ...m.stateDict(), in_weight: tensor([1, 2, 3]), frozen: 4 as unknown as Tensor };
    const err = thrown(() => m.loadStateDict(sd, false));
    expect(err.reason).toBe('error(s) in loading the state dict for Leaf:\n    size mismatches (2): "in_weight: checkpoint shape [3], model shape [2]", "frozen: expected a Tensor, got number"');
    expect(err.hint).toBe('check that the checkpoint matches this architecture');
    expect(thrown(() => m.loadStateDict({ ...m.stateDict(), in_weight: tensor([[1, 2]]) })).reason).toMatch(/checkpoint shape \[1, 2\], model shape \[2\]/);
    expect(values(m.inWeight)).toEqual([1, 2]);
  });

  it('loads values from a Map, casting each to the model dtype; more than 20 keys are abbreviated', () => {
    const m = new Leaf();
    const state = new Map<string, Tensor>([['in_weight', tensor([0.5, 0.25], { dtype: 'float64' })], ['count', tensor([3], { dtype: 'int32' })]]);
    expect(m.loadStateDict(state, false).missingKeys).toEqual(['frozen', 'running_total']);
    expect(m.inWeight.dtype).toBe('float32');
    expect(values(m.inWeight)).toEqual([0.5, 0.25]);
    expect(values((m as unknown as { count: Tensor }).count)).toEqual([3]);
    const many: Record<string, Tensor> = { ...m.stateDict() };
    for (let i = 0; i < 22; i++) many[`x${i}`] = tensor([i]);
    const reason = thrown(() => m.loadStateDict(many)).reason;
    expect(reason).toContain('unexpected keys (22): "x0", "x1"');
    expect(reason).toContain('"x19", ... (2 more)');
    expect(reason).not.toContain('"x20"');
  });
});

describe('cast', () => {
  it('casts floating parameters and buffers once each, keeps integer buffers, refuses an integer dtype', () => {
    const m = new Tree();
    const err = thrown(() => m.cast('int32'));
    expect(err.reason).toBe('modules can only be cast to a floating-point dtype, got int32');
    expect(err.op).toBe('Module.cast');
    m.double();
    expect(m.parameters().map((p) => p.dtype)).toEqual(['float64', 'float64', 'float64']);
    expect(m.parameters().map((p) => p.requiresGrad)).toEqual([true, true, false]);
    expect(m.parameters()[1]).toBeInstanceOf(nn.Parameter);
    expect((m.right as Leaf).inWeight).toBe((m.left as Leaf).inWeight);
    expect([...m.namedBuffers()].map(([k, b]) => `${k}:${b.dtype}`)).toEqual(['left.running_total:float64', 'left.scratch:float64', 'left.count:int32']);
    const before = m.parameters()[0];
    m.double();
    expect(m.parameters()[0]).toBe(before);
    m.float();
    expect(values(m.parameters()[1]!)).toEqual([1, 2]);
    expect(m.parameters()[1]!.dtype).toBe('float32');
  });
});

describe('toString and lists', () => {
  it('prints one line per module, children indented and named', () => {
    const seq = new nn.Sequential(new nn.Linear(2, 3), new nn.Sequential(new nn.ReLU()));
    expect(seq.toString()).toBe(
      'Sequential(\n  (0): Linear(in_features=2, out_features=3, bias=True)\n  (1): Sequential(\n    (0): ReLU()\n  )\n)',
    );
  });

  it('ModuleList refuses a non-array, indexes from either end and names an index out of range', () => {
    expect(thrown(() => new nn.ModuleList(5 as never)).reason).toBe('modules must be an array of Modules, got 5');
    expect(thrown(() => new nn.ModuleList(5 as never)).op).toBe('ModuleList');
    const a = new nn.ReLU();
    const b = new nn.Tanh();
    const list = new nn.ModuleList([a, b]);
    expect(list.at(0)).toBe(a);
    expect(list.at(-1)).toBe(b);
    expect(list.at(-2)).toBe(a);
    expect([...list]).toEqual([a, b]);
    for (const i of [2, -3]) {
      const err = thrown(() => list.at(i));
      expect(err.reason).toBe(`index ${i} is out of range for a ModuleList of length 2`);
      expect(err.op).toBe('ModuleList.at');
    }
    expect(thrown(() => new nn.Sequential(a).at(1)).op).toBe('Sequential.at');
  });

  it('Sequential chains forward in order', () => {
    const seq = new nn.Sequential(new nn.ReLU(), new nn.Flatten(0));
    expect(values(seq.forward(tensor([[-1, 2], [3, -4]], { dtype: 'float64' })))).toEqual([0, 2, 3, 0]);
  });
});
