// einjit loop kernel map_ef51f97c: b c h w -> b h w c
// 4 loops (4 parallel); inputs float32 -> float32; computed in f32.
// One invocation per output element, 256 per workgroup; the grid is folded into (x, y).

@group(0) @binding(0) var<storage, read> in0: array<f32>; // input 0, float32
@group(0) @binding(1) var<storage, read_write> out: array<f32>; // output, float32
struct Params {
  size0: i32,       // parallel loop
  size1: i32,       // parallel loop
  size2: i32,       // parallel loop
  size3: i32,       // parallel loop
  in0_offset: i32,
  in0_stride0: i32,
  in0_stride1: i32,
  in0_stride2: i32,
  in0_stride3: i32,
  out_offset: i32,
  out_stride0: i32,
  out_stride1: i32,
  out_stride2: i32,
  out_stride3: i32,
  out_count: i32,   // output elements
}
@group(0) @binding(2) var<uniform> params: Params;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let index = i32((wid.y * nwg.x + wid.x) * 256u + lid);
  if (index >= params.out_count) { return; }
  // output coordinates
  var rest = index;
  let p3 = rest % params.size3; rest = rest / params.size3;
  let p2 = rest % params.size2; rest = rest / params.size2;
  let p1 = rest % params.size1; rest = rest / params.size1;
  let p0 = rest;
  let in0_at = params.in0_offset + p0 * params.in0_stride0 + p1 * params.in0_stride1 + p2 * params.in0_stride2 + p3 * params.in0_stride3;
  let v0 = in0[in0_at];
  out[params.out_offset + p0 * params.out_stride0 + p1 * params.out_stride1 + p2 * params.out_stride2 + p3 * params.out_stride3] = v0;
}
