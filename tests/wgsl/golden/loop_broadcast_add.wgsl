// einjit loop kernel map_f1c49910: ij,j->ij (broadcast add)
// 2 loops (2 parallel); inputs float32, float32 -> float32; computed in f32.
// One invocation per output element, 256 per workgroup; the grid is folded into (x, y).

@group(0) @binding(0) var<storage, read> in0: array<f32>; // input 0, float32
@group(0) @binding(1) var<storage, read> in1: array<f32>; // input 1, float32
@group(0) @binding(2) var<storage, read_write> out: array<f32>; // output, float32
struct Params {
  size0: i32,       // parallel loop
  size1: i32,       // parallel loop
  in0_offset: i32,
  in0_stride0: i32,
  in0_stride1: i32,
  in1_offset: i32,
  in1_stride0: i32,
  in1_stride1: i32,
  out_offset: i32,
  out_stride0: i32,
  out_stride1: i32,
  out_count: i32,   // output elements
}
@group(0) @binding(3) var<uniform> params: Params;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let index = i32((wid.y * nwg.x + wid.x) * 256u + lid);
  if (index >= params.out_count) { return; }
  // output coordinates
  var rest = index;
  let p1 = rest % params.size1; rest = rest / params.size1;
  let p0 = rest;
  let in0_at = params.in0_offset + p0 * params.in0_stride0 + p1 * params.in0_stride1;
  let in1_at = params.in1_offset + p0 * params.in1_stride0 + p1 * params.in1_stride1;
  let v0 = in0[in0_at];
  let v1 = in1[in1_at];
  let v2 = v0 + v1;
  out[params.out_offset + p0 * params.out_stride0 + p1 * params.out_stride1] = v2;
}
