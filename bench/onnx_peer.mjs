// The onnxruntime-node peer of the CPU benchmark: ONNX Runtime's native CPU kernels (MLAS), the ceiling the Wasm
// kernels are measured against. Run in its own node process so that its thread pools never share a process with
// einjit's workers or tfjs's.
//
// Each job becomes a one-node ONNX model, written here with a minimal protobuf encoder (onnx.proto is small and
// stable; the npm registry has no maintained ONNX model builder): an Einsum node (opset 17) with the job's
// equation, or a Transpose node when the job gives a permutation. The model runs with intraOpNumThreads 1 and 2.
//
// stdin: { dir, measure: { warmup, minTimeMs, maxReps, minReps }, threads: [1, 2],
//          jobs: [{ id, pattern, shapes, perm?, calls? }] }; operand k of job j is the raw float32 file `${dir}/${j}-${k}.f32`.
// stdout: { info, results: [{ id, threads, samples_ms | error }] }; the first thread count's result of job j is
// written raw to `${dir}/${j}-out.f32` for the parent's cross-check.
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const request = JSON.parse(readFileSync(0, 'utf8'));
const ort = await import('onnxruntime-node');
const entry = createRequire(import.meta.url).resolve('onnxruntime-node');
const version = JSON.parse(readFileSync(path.join(path.dirname(entry), '..', 'package.json'), 'utf8')).version;

// --- protobuf, just what onnx.proto needs: varints and length-delimited fields -------------------------------------

function varint(n) {
  const out = [];
  let v = BigInt(n);
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v !== 0n) byte |= 0x80;
    out.push(byte);
  } while (v !== 0n);
  return out;
}
const intField = (field, n) => [...varint((field << 3) | 0), ...varint(n)];
const bytesField = (field, bytes) => [...varint((field << 3) | 2), ...varint(bytes.length), ...bytes];
const stringField = (field, s) => bytesField(field, [...new TextEncoder().encode(s)]);

const FLOAT = 1; // TensorProto.DataType.FLOAT
const ATTR_STRING = 3;
const ATTR_INTS = 7;

function valueInfo(name, shape) {
  const dims = shape.flatMap((d) => bytesField(1, intField(1, d))); // TensorShapeProto.dim { dim_value }
  const tensorType = [...intField(1, FLOAT), ...bytesField(2, dims)]; // TypeProto.Tensor { elem_type, shape }
  return [...stringField(1, name), ...bytesField(2, bytesField(1, tensorType))]; // ValueInfoProto { name, type }
}

function attribute(name, value) {
  if (typeof value === 'string') return [...stringField(1, name), ...bytesField(4, [...new TextEncoder().encode(value)]), ...intField(20, ATTR_STRING)];
  return [...stringField(1, name), ...value.flatMap((v) => intField(8, v)), ...intField(20, ATTR_INTS)];
}

/** A ModelProto with one node of `opType` over inputs x0…xn-1 and output y. */
function model(opType, attrs, inputShapes, outputShape) {
  const inputs = inputShapes.map((_, k) => `x${k}`);
  const node = [
    ...inputs.flatMap((n) => stringField(1, n)),
    ...stringField(2, 'y'),
    ...stringField(3, 'op'),
    ...stringField(4, opType),
    ...Object.entries(attrs).flatMap(([k, v]) => bytesField(5, attribute(k, v))),
  ];
  const graph = [
    ...bytesField(1, node),
    ...stringField(2, 'bench'),
    ...inputShapes.flatMap((s, k) => bytesField(11, valueInfo(inputs[k], s))),
    ...bytesField(12, valueInfo('y', outputShape)),
  ];
  const opset = [...stringField(1, ''), ...intField(2, 17)];
  return Uint8Array.from([...intField(1, 8), ...stringField(2, 'einjit-bench'), ...bytesField(7, graph), ...bytesField(8, opset)]);
}

/** The output shape of a numpy-style letter equation with an explicit '->'. */
function einsumOutputShape(pattern, shapes) {
  const [lhs, rhs] = pattern.split('->');
  const size = new Map();
  lhs.split(',').forEach((term, k) => [...term].forEach((c, i) => size.set(c, shapes[k][i])));
  return [...rhs].map((c) => size.get(c));
}

// --- timing --------------------------------------------------------------------------------------------------------

async function measure(fn, { warmup, minTimeMs, maxReps, minReps }) {
  for (let i = 0, spent = 0; i < warmup && (i === 0 || spent < minTimeMs); i++) {
    const t0 = performance.now();
    await fn();
    spent += performance.now() - t0;
  }
  const samples = [];
  for (let spent = 0; samples.length < maxReps && (samples.length < minReps || spent < minTimeMs);) {
    const t0 = performance.now();
    await fn();
    const dt = performance.now() - t0;
    samples.push(dt);
    spent += dt;
  }
  return samples;
}

const results = [];
for (const [j, job] of request.jobs.entries()) {
  const feeds = {};
  job.shapes.forEach((shape, k) => {
    const bytes = readFileSync(path.join(request.dir, `${j}-${k}.f32`));
    feeds[`x${k}`] = new ort.Tensor('float32', new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4), shape);
  });
  const bytes = job.perm !== undefined
    ? model('Transpose', { perm: job.perm }, job.shapes, job.perm.map((p) => job.shapes[0][p]))
    : model('Einsum', { equation: job.pattern }, job.shapes, einsumOutputShape(job.pattern, job.shapes));
  for (const [t, threads] of request.threads.entries()) {
    try {
      const session = await ort.InferenceSession.create(bytes, {
        intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all',
      });
      const once = () => session.run(feeds);
      const first = await once();
      if (t === 0) writeFileSync(path.join(request.dir, `${j}-out.f32`), Float32Array.from(first.y.data));
      // A job with `calls` times that many calls per sample and reports the time per call.
      const calls = job.calls ?? 1;
      const samples = await measure(async () => { for (let c = 0; c < calls; c++) await once(); }, request.measure);
      results.push({ id: job.id, threads, samples_ms: samples.map((ms) => ms / calls) });
      await session.release();
    } catch (e) {
      results.push({ id: job.id, threads, error: e instanceof Error ? e.message.split('\n')[0] : String(e) });
    }
  }
}
process.stdout.write(JSON.stringify({ info: { version }, results }));
