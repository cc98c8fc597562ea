// einjit loop kernel map_328fc7b0: x * 0.5 - 3 (constants as params)
// 1 loop (1 parallel); inputs float32 -> float32; computed in f32.
// One invocation per output element, 256 per workgroup; the grid is folded into (x, y).

@group(0) @binding(0) var<storage, read> in0: array<f32>; // input 0, float32
@group(0) @binding(1) var<storage, read_write> out: array<f32>; // output, float32
struct Params {
  size0: i32,       // parallel loop
  in0_offset: i32,
  in0_stride0: i32,
  out_offset: i32,
  out_stride0: i32,
  out_count: i32,   // output elements
  c0: i32,          // constant 0 (f32 bits)
  c1: i32,          // constant 1 (f32 bits)
}
@group(0) @binding(2) var<uniform> params: Params;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let index = i32((wid.y * nwg.x + wid.x) * 256u + lid);
  if (index >= params.out_count) { return; }
  // output coordinates
  let p0 = index;
  let in0_at = params.in0_offset + p0 * params.in0_stride0;
  let v0 = in0[in0_at];
  let v1 = bitcast<f32>(params.c0);
  let v2 = v0 * v1;
  let v3 = bitcast<f32>(params.c1);
  let v4 = v2 - v3;
  out[params.out_offset + p0 * params.out_stride0] = v4;
}
