// The jax-js peer of the CPU benchmark, run in its own node process because jax-js's einsum parser uses iterator
// helpers, which Node 20 has only behind --harmony-iterator-helpers (on by default from Node 22).
//
// stdin: { dir, measure: { warmup, minTimeMs, maxReps, minReps }, jobs: [{ id, pattern, shapes, calls? }] }; operand k of
// job j is the raw float32 file `${dir}/${j}-${k}.f32`. stdout: { info, results: [{ id, samples_ms | error }] }; each
// job's result is written raw to `${dir}/${j}-out.f32` for the parent's cross-check.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

const request = JSON.parse(readFileSync(0, 'utf8'));
const jax = await import('@jax-js/jax');
const devices = await jax.init('wasm');
jax.defaultDevice('wasm');
const np = jax.numpy;
const entry = createRequire(import.meta.url).resolve('@jax-js/jax');
const version = JSON.parse(readFileSync(path.join(path.dirname(entry), '..', 'package.json'), 'utf8')).version;

function measure(fn, { warmup, minTimeMs, maxReps, minReps }) {
  for (let i = 0, spent = 0; i < warmup && (i === 0 || spent < minTimeMs); i++) {
    const t0 = performance.now();
    fn();
    spent += performance.now() - t0;
  }
  const samples = [];
  for (let spent = 0; samples.length < maxReps && (samples.length < minReps || spent < minTimeMs);) {
    const t0 = performance.now();
    fn();
    const dt = performance.now() - t0;
    samples.push(dt);
    spent += dt;
  }
  return samples;
}

const results = [];
request.jobs.forEach((job, j) => {
  try {
    const xs = job.shapes.map((shape, k) => {
      const bytes = readFileSync(path.join(request.dir, `${j}-${k}.f32`));
      const data = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
      return np.array(data, { shape, dtype: np.float32 });
    });
    // jax-js computes lazily: reading the result back is what makes it run.
    const once = () => np.einsum(job.pattern, ...xs.map((x) => x.ref)).dataSync();
    writeFileSync(path.join(request.dir, `${j}-out.f32`), Float32Array.from(once()));
    // A job with `calls` times that many calls per sample and reports the time per call.
    const calls = job.calls ?? 1;
    const samples = measure(() => { for (let c = 0; c < calls; c++) once(); }, request.measure);
    results.push({ id: job.id, samples_ms: samples.map((t) => t / calls) });
    for (const x of xs) x.dispose();
  } catch (e) {
    results.push({ id: job.id, error: e instanceof Error ? e.message : String(e) });
  }
});
process.stdout.write(JSON.stringify({ info: { version, devices }, results }));
