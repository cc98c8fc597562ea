// einjit GEMM kernel gemm_b0_p64x64x16_4x4_ak4_bn4_cs: kj,ik->ji (K split, C transposed)
// C[b, m, n] = sum_k A[b, m, k] * B[b, k, n], float32, 0 batch dims, all operands strided.
// Tile: 64x64 of C per workgroup, k in slabs of 16, two workgroup tiles used in turn (the next slab is
// loaded into registers while this one is multiplied); 16x16 invocations, each 4x4 elements of C as
// 1x1 blocks of 4x4, 64 rows and 64 columns apart. A: vec4 loads along k; B: vec4 loads along n;
// C: scalar stores. K may be split over several workgroups (k_chunk, c_split_stride).

@group(0) @binding(0) var<storage, read> a: array<vec4<f32>>; // A
@group(0) @binding(1) var<storage, read> b: array<vec4<f32>>; // B
@group(0) @binding(2) var<storage, read_write> c: array<f32>; // C
struct Params {
  m: i32,
  n: i32,
  k: i32,
  a_offset: i32,
  a_row_stride: i32,    // along m
  a_col_stride: i32,    // along k
  b_offset: i32,
  b_row_stride: i32,    // along k
  b_col_stride: i32,    // along n
  c_offset: i32,
  c_row_stride: i32,    // along m
  c_col_stride: i32,    // along n
  tiles_n: i32,         // ceil(n / 64)
  tiles_m: i32,         // ceil(m / 64)
  tiles_per_split: i32, // tiles_n * tiles_m * batch size
  tile_count: i32,      // tiles_per_split * splits
  k_chunk: i32,         // K per split, a multiple of 16
  c_split_stride: i32,  // elements between the partial sums of two splits (0: no split)
}
@group(0) @binding(3) var<uniform> params: Params;

const BM = 64;
const BN = 64;
const BK = 16;

// Two tiles each, k-major, vec4s along the free dim: a_tile[buf * BK * BM/4 + kk * BM/4 + (m - row0) / 4].
var<workgroup> a_tile: array<vec4<f32>, 512>;
var<workgroup> b_tile: array<vec4<f32>, 512>;

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  // Which split of which tile of which batch this workgroup computes (the grid may be folded).
  let tile_id = i32((wid.z * nwg.y + wid.y) * nwg.x + wid.x);
  if (tile_id >= params.tile_count) { return; }
  let split = tile_id / params.tiles_per_split;
  let tile = tile_id % params.tiles_per_split;
  let col0 = (tile % params.tiles_n) * BN;
  let row0 = ((tile / params.tiles_n) % params.tiles_m) * BM;
  var a_base = params.a_offset;
  var b_base = params.b_offset;
  var c_base = params.c_offset + split * params.c_split_stride;
  let k_begin = split * params.k_chunk;
  let k_end = min(params.k, k_begin + params.k_chunk);
  let tx = i32(lid.x); // owns columns n = col0 + 64 * j + 4 * tx + (0..3)
  let ty = i32(lid.y); // owns rows    m = row0 + 64 * i + 4 * ty + (0..3)
  let t = ty * 16 + tx;
  var acc: array<array<vec4<f32>, 1>, 4>;
  var a_stage: array<vec4<f32>, 1>;
  var b_stage: array<vec4<f32>, 1>;

  // The first slab: load, store into tile 0, wait.
  var k0 = k_begin;
  {
    let ff = t / 4;
    let kk = (t % 4) * 4;
    let m = row0 + ff;
    let k = k0 + kk;
    a_stage[0] = vec4<f32>();
    if (m < params.m && k < k_end) { a_stage[0] = a[(a_base + m * params.a_row_stride + k * params.a_col_stride) / 4]; }
  }
  {
    let ff = (t % 16) * 4;
    let kk = t / 16;
    let n = col0 + ff;
    let k = k0 + kk;
    b_stage[0] = vec4<f32>();
    if (n < params.n && k < k_end) { b_stage[0] = b[(b_base + n * params.b_col_stride + k * params.b_row_stride) / 4]; }
  }
  {
    let ff = t / 4;
    let kk = (t % 4) * 4;
    let buf_at = 0 * 256;
    for (var lane = 0; lane < 4; lane++) { a_tile[buf_at + (kk + lane) * 16 + ff / 4][ff % 4] = a_stage[0][lane]; }
  }
  {
    let ff = (t % 16) * 4;
    let kk = t / 16;
    let buf_at = 0 * 256;
    b_tile[buf_at + kk * 16 + ff / 4] = b_stage[0];
  }
  workgroupBarrier();
  var buf = 0;
  for (; k0 < k_end; k0 += BK) {
    // Load the next slab into registers (uniform condition: every invocation takes the same branch).
    let more = k0 + BK < k_end;
    if (more) {
      let k_next = k0 + BK;
    {
      let ff = t / 4;
      let kk = (t % 4) * 4;
      let m = row0 + ff;
      let k = k_next + kk;
      a_stage[0] = vec4<f32>();
      if (m < params.m && k < k_end) { a_stage[0] = a[(a_base + m * params.a_row_stride + k * params.a_col_stride) / 4]; }
    }
    {
      let ff = (t % 16) * 4;
      let kk = t / 16;
      let n = col0 + ff;
      let k = k_next + kk;
      b_stage[0] = vec4<f32>();
      if (n < params.n && k < k_end) { b_stage[0] = b[(b_base + n * params.b_col_stride + k * params.b_row_stride) / 4]; }
    }
    }
    let a_at = buf * 256;
    let b_at = buf * 256;
    for (var kk = 0; kk < BK; kk++) {
      let a0 = a_tile[a_at + kk * 16 + 0 + ty];
      let b0 = b_tile[b_at + kk * 16 + 0 + tx];
      acc[0][0] = fma(vec4<f32>(a0[0]), b0, acc[0][0]);
      acc[1][0] = fma(vec4<f32>(a0[1]), b0, acc[1][0]);
      acc[2][0] = fma(vec4<f32>(a0[2]), b0, acc[2][0]);
      acc[3][0] = fma(vec4<f32>(a0[3]), b0, acc[3][0]);
    }
    // Store the next slab into the other tile (last read before the previous barrier), then wait.
    if (more) {
      let nb = 1 - buf;
    {
      let ff = t / 4;
      let kk = (t % 4) * 4;
      let buf_at = nb * 256;
      for (var lane = 0; lane < 4; lane++) { a_tile[buf_at + (kk + lane) * 16 + ff / 4][ff % 4] = a_stage[0][lane]; }
    }
    {
      let ff = (t % 16) * 4;
      let kk = t / 16;
      let buf_at = nb * 256;
      b_tile[buf_at + kk * 16 + ff / 4] = b_stage[0];
    }
    }
    workgroupBarrier();
    buf = 1 - buf;
  }

  // Write the blocks, skipping rows and columns past the ragged edges.
  for (var i = 0; i < 4; i++) {
    let m = row0 + 64 * (i / 4) + 4 * ty + i % 4;
    if (m >= params.m) { continue; }
    for (var j = 0; j < 1; j++) {
      let n = col0 + 64 * j + 4 * tx;
      for (var lane = 0; lane < 4; lane++) {
        if (n + lane < params.n) { c[c_base + m * params.c_row_stride + (n + lane) * params.c_col_stride] = acc[i][j][lane]; }
      }
    }
  }
}
