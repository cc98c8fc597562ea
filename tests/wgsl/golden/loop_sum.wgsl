// einjit loop kernel reduce_sum_93cdcdb7: sum over j of ij->i
// 2 loops (1 parallel, 1 reduced by sum); inputs float32 -> float32; computed in f32.
// One invocation per output element, 256 per workgroup; the grid is folded into (x, y).

@group(0) @binding(0) var<storage, read> in0: array<f32>; // input 0, float32
@group(0) @binding(1) var<storage, read_write> out: array<f32>; // output, float32
struct Params {
  size0: i32,       // parallel loop
  size1: i32,       // reduce loop
  in0_offset: i32,
  in0_stride0: i32,
  in0_stride1: i32,
  out_offset: i32,
  out_stride0: i32,
  out_count: i32,   // output elements
}
@group(0) @binding(2) var<uniform> params: Params;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let index = i32((wid.y * nwg.x + wid.x) * 256u + lid);
  if (index >= params.out_count) { return; }
  // output coordinates
  let p0 = index;
  let in0_base = params.in0_offset + p0 * params.in0_stride0;
  var acc_mid = 0.0; // blocked sum: blocks of 32 points; acc_mid and acc_hi each add up to 32 terms
  var acc_hi = 0.0;
  var acc_top = 0.0;
  var blocks = 0u;
  for (var r1_block = 0; r1_block < params.size1; r1_block += 32) {
    let r1_end = min(r1_block + 32, params.size1);
    var acc = 0.0;
    for (var r1 = r1_block; r1 < r1_end; r1++) {
      let in0_at = in0_base + r1 * params.in0_stride1;
      let v0 = in0[in0_at];
      acc = acc + v0;
    }
    acc_mid = acc_mid + acc;
    blocks = blocks + 1u;
    if ((blocks & 31u) == 0u) {
      acc_hi = acc_hi + acc_mid;
      acc_mid = 0.0;
      if ((blocks & 1023u) == 0u) {
        acc_top = acc_top + acc_hi;
        acc_hi = 0.0;
      }
    }
  }
  let total = (acc_mid + acc_hi) + acc_top;
  out[params.out_offset + p0 * params.out_stride0] = total;
}
