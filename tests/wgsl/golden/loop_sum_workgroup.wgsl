// einjit loop kernel reduce_sum_86cc5815: sum over j of ij->i (long rows)
// 2 loops (1 parallel, 1 reduced by sum); inputs float32 -> float32; computed in f32.
// One workgroup of 256 per output element: strided partial sums, then a tree reduction.

@group(0) @binding(0) var<storage, read> in0: array<f32>; // input 0, float32
@group(0) @binding(1) var<storage, read_write> out: array<f32>; // output, float32
struct Params {
  size0: i32,        // parallel loop
  size1: i32,        // reduce loop
  in0_offset: i32,
  in0_stride0: i32,
  in0_stride1: i32,
  out_offset: i32,
  out_stride0: i32,
  out_count: i32,    // output elements
  reduce_count: i32, // points reduced into each output
}
@group(0) @binding(2) var<uniform> params: Params;

var<workgroup> partial: array<f32, 256>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let index = i32(wid.y * nwg.x + wid.x); // this workgroup's output element
  if (index >= params.out_count) { return; }
  // output coordinates
  let p0 = index;
  let in0_base = params.in0_offset + p0 * params.in0_stride0;
  var acc_mid = 0.0; // blocked sum: blocks of 32 points; acc_mid and acc_hi each add up to 32 terms
  var acc_hi = 0.0;
  var acc_top = 0.0;
  var blocks = 0u;
  for (var r_block = i32(lid); r_block < params.reduce_count; r_block += 8192) {
    let r_end = min(r_block + 8192, params.reduce_count);
    var acc = 0.0;
    for (var r = r_block; r < r_end; r += 256) {
      // reduce coordinates of the flat index r
      let r1 = r;
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
  partial[lid] = total;
  workgroupBarrier();
  for (var stride = 128u; stride > 0u; stride = stride / 2u) {
    if (lid < stride) {
      partial[lid] = partial[lid] + partial[lid + stride];
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    out[params.out_offset + p0 * params.out_stride0] = partial[0];
  }
}
