// Data movement: strided gather-copy (permute, slice), strided scatter-copy (concat, slice backward)
// and fill. Data are moved as u32 bit patterns, so f32 and i32 tensors copy exactly. Shapes and strides arrive in uniforms (up to 8 axes), so one pipeline serves every shape.

override WG: u32 = 256;

struct Strided {
  n: u32,                        // elements to move
  rank: u32,
  offset: u32,                   // element offset into the strided side
  value: u32,                    // fill value, as bits
  dims: array<vec4<u32>, 2>,     // shape of the contiguous side, up to 8 axes
  strides: array<vec4<u32>, 2>,  // element strides of the strided side
}

@group(0) @binding(0) var<uniform> p: Strided;
@group(0) @binding(1) var<storage, read> src: array<u32>;
@group(0) @binding(2) var<storage, read_write> dst: array<u32>;

fn strided_index(i: u32) -> u32 {
  var rem = i;
  var off = p.offset;
  for (var k = i32(p.rank) - 1; k >= 0; k--) {
    let d = p.dims[k / 4][k % 4];
    off += (rem % d) * p.strides[k / 4][k % 4];
    rem = rem / d;
  }
  return off;
}

// dst (contiguous, dims) <- src read through strides: permute, slice.
@compute @workgroup_size(WG)
fn gather_copy(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.n) { return; }
  dst[i] = src[strided_index(i)];
}

// dst read through strides <- src (contiguous, dims): concat parts, slice backward.
@compute @workgroup_size(WG)
fn scatter_copy(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.n) { return; }
  dst[strided_index(i)] = src[i];
}

@group(0) @binding(0) var<uniform> f: Strided;
@group(0) @binding(1) var<storage, read_write> out: array<u32>;

@compute @workgroup_size(WG)
fn fill(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= f.n) { return; }
  out[i] = f.value;
}
