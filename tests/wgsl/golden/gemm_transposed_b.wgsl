// einjit GEMM kernel gemm_b2_64x64x16_4x4_ak4_bk4: bhqd,bhkd->bhqk (transposed B)
// C[b, m, n] = sum_k A[b, m, k] * B[b, k, n], float32, 2 batch dims, all operands strided.
// Tile: 64x64 of C per workgroup, k in steps of 16; 16x16 invocations, each 4x4 elements of C
// in registers, interleaved (rows ty + 16i, columns tx + 16j) so neighbouring invocations read neighbouring
// workgroup-memory banks and write neighbouring addresses. A: vec4 loads along k; B: vec4 loads along k.

@group(0) @binding(0) var<storage, read> a: array<vec4<f32>>; // A
@group(0) @binding(1) var<storage, read> b: array<vec4<f32>>; // B
@group(0) @binding(2) var<storage, read_write> c: array<f32>; // C
struct Params {
  m: i32,
  n: i32,
  k: i32,
  batch0: i32,          // batch dim 0
  batch1: i32,          // batch dim 1
  a_offset: i32,
  a_batch_stride0: i32,
  a_batch_stride1: i32,
  a_row_stride: i32,    // along m
  a_col_stride: i32,    // along k
  b_offset: i32,
  b_batch_stride0: i32,
  b_batch_stride1: i32,
  b_row_stride: i32,    // along k
  b_col_stride: i32,    // along n
  c_offset: i32,
  c_batch_stride0: i32,
  c_batch_stride1: i32,
  c_row_stride: i32,    // along m
  c_col_stride: i32,    // along n
  tiles_n: i32,         // ceil(n / 64)
  tiles_m: i32,         // ceil(m / 64)
  tile_count: i32,      // tiles_n * tiles_m * batch size
}
@group(0) @binding(3) var<uniform> params: Params;

const BM = 64;
const BN = 64;
const BK = 16;
const TM = 4;
const TN = 4;

// Tiles stored k-major: a_tile[kk * BM + (m - row0)], b_tile[kk * BN + (n - col0)].
var<workgroup> a_tile: array<f32, 1024>;
var<workgroup> b_tile: array<f32, 1024>;

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  // Which tile of which batch this workgroup computes (the grid may be folded).
  let tile = i32((wid.z * nwg.y + wid.y) * nwg.x + wid.x);
  if (tile >= params.tile_count) { return; }
  let col0 = (tile % params.tiles_n) * BN;
  let row0 = ((tile / params.tiles_n) % params.tiles_m) * BM;
  var batch = tile / (params.tiles_n * params.tiles_m);
  var a_base = params.a_offset;
  var b_base = params.b_offset;
  var c_base = params.c_offset;
  let b1 = batch % params.batch1; batch = batch / params.batch1;
  a_base += b1 * params.a_batch_stride1; b_base += b1 * params.b_batch_stride1; c_base += b1 * params.c_batch_stride1;
  let b0 = batch;
  a_base += b0 * params.a_batch_stride0; b_base += b0 * params.b_batch_stride0; c_base += b0 * params.c_batch_stride0;
  let tx = i32(lid.x); // owns columns n = col0 + tx + 16 * j
  let ty = i32(lid.y); // owns rows    m = row0 + ty + 16 * i
  let t = ty * 16 + tx;
  var acc: array<array<f32, TN>, TM>;

  for (var k0 = 0; k0 < params.k; k0 += BK) {
    // A tile: 64x16, 1 vec4 load per invocation, neighbours along k.
    {
      let e = t;
      let ff = e / 4;
      let kk = (e % 4) * 4;
      let m = row0 + ff;
      let k = k0 + kk;
      var v = vec4<f32>();
      if (m < params.m && k < params.k) { v = a[(a_base + m * params.a_row_stride + k * params.a_col_stride) / 4]; }
      for (var lane = 0; lane < 4; lane++) { a_tile[(kk + lane) * BM + ff] = v[lane]; }
    }
    // B tile: 64x16, 1 vec4 load per invocation, neighbours along k.
    {
      let e = t;
      let ff = e / 4;
      let kk = (e % 4) * 4;
      let n = col0 + ff;
      let k = k0 + kk;
      var v = vec4<f32>();
      if (n < params.n && k < params.k) { v = b[(b_base + n * params.b_col_stride + k * params.b_row_stride) / 4]; }
      for (var lane = 0; lane < 4; lane++) { b_tile[(kk + lane) * BN + ff] = v[lane]; }
    }
    workgroupBarrier();
    for (var kk = 0; kk < BK; kk++) {
      var a_reg: array<f32, TM>;
      var b_reg: array<f32, TN>;
      for (var i = 0; i < TM; i++) { a_reg[i] = a_tile[kk * BM + ty + 16 * i]; }
      for (var j = 0; j < TN; j++) { b_reg[j] = b_tile[kk * BN + tx + 16 * j]; }
      for (var i = 0; i < TM; i++) {
        for (var j = 0; j < TN; j++) { acc[i][j] = fma(a_reg[i], b_reg[j], acc[i][j]); }
      }
    }
    workgroupBarrier();
  }

  // Write the block, skipping rows and columns past the ragged edges.
  for (var i = 0; i < TM; i++) {
    let m = row0 + ty + 16 * i;
    if (m >= params.m) { break; }
    for (var j = 0; j < TN; j++) {
      let n = col0 + tx + 16 * j;
      if (n >= params.n) { break; }
      c[c_base + m * params.c_row_stride + n * params.c_col_stride] = acc[i][j];
    }
  }
}
