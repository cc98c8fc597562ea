// einjit loop kernel transpose_fe4738eb: ij -> ji
// Tiled transpose: 2 loops, loop 0 contiguous in the input (a), loop 1 contiguous in the output (b); float32 -> float32.
// 32x32 tiles through workgroup memory (rows padded by one), 32x8 invocations per workgroup;
// tiles and the other loops are folded into one linear workgroup id over (x, y).

@group(0) @binding(0) var<storage, read> in0: array<f32>; // input 0, float32
@group(0) @binding(1) var<storage, read_write> out: array<f32>; // output, float32
struct Params {
  size0: i32,       // loop a (input contiguous)
  size1: i32,       // loop b (output contiguous)
  in0_offset: i32,
  in0_stride0: i32,
  in0_stride1: i32,
  out_offset: i32,
  out_stride0: i32,
  out_stride1: i32,
  tiles_a: i32,     // tiles along loop a (size0 / 32, rounded up)
  tiles_b: i32,     // tiles along loop b (size1 / 32, rounded up)
  tile_count: i32,  // tiles_a * tiles_b * the other loops
}
@group(0) @binding(2) var<uniform> params: Params;

const TILE = 32;
var<workgroup> tile_mem: array<f32, 1056>;

@compute @workgroup_size(32, 8)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  // The tiles this workgroup moves: its linear id, then every (grid size)-th tile after it (the grid may be
  // folded, or smaller than the tile count; the loop bound is workgroup-uniform, so the barriers are valid).
  let grid = i32(nwg.x * nwg.y);
  for (var tile = i32(wid.y * nwg.x + wid.x); tile < params.tile_count; tile += grid) {
  let a0 = (tile % params.tiles_a) * TILE;
  var rest = tile / params.tiles_a;
  let b0 = (rest % params.tiles_b) * TILE;
  rest = rest / params.tiles_b;
  let in_base = params.in0_offset;
  let out_base = params.out_offset;
  let tx = i32(lid.x);
  let ty = i32(lid.y);

  // Read: neighbouring invocations walk loop a, where the input is contiguous.
  let pa = a0 + tx;
  for (var j = 0; j < TILE; j += 8) {
    let pb = b0 + ty + j;
    if (pa < params.size0 && pb < params.size1) {
      let in0_at = in_base + pa * params.in0_stride0 + pb * params.in0_stride1;
      let v0 = in0[in0_at];
      tile_mem[(ty + j) * (TILE + 1) + tx] = v0;
    }
  }
  workgroupBarrier();

  // Write: neighbouring invocations walk loop b, where the output is contiguous.
  let qb = b0 + tx;
  for (var j = 0; j < TILE; j += 8) {
    let qa = a0 + ty + j;
    if (qa < params.size0 && qb < params.size1) {
      out[out_base + qa * params.out_stride0 + qb * params.out_stride1] = tile_mem[tx * (TILE + 1) + ty + j];
    }
  }
  workgroupBarrier(); // the next tile overwrites tile_mem
  }
}
