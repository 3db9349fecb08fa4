// Reductions over one contiguous block of axes, seen as x (O, R, I) -> y (O, I), and their backward.
//
// OP: 0 sum, 1 mean (sum times `scale` = 1/R), 2 max. Non-contiguous axis sets are permuted to a
// contiguous block by the host first. Forward strategies:
//   reduce_rows (I == 1): one workgroup per output, strided partial sums, then a tree in workgroup memory;
//   reduce_cols (I > 1):  one thread per output (o, i), looping over r; adjacent threads read adjacent i.
//   reduce_cols4 (I a multiple of 4): the same, 4 adjacent outputs per thread with vec4 loads. lavapipe
//   loads lane by lane, each element bounds-checked; a vec4 shares the per-lane part among 4 elements.
//   reduce_cols4_chunks: stage 1 of reduce_cols4 split over row chunks, for GPUs, where one thread per
//   output of a bias gradient (80 threads for (2048, 320)) would leave the device idle while each
//   thread walks 2048 rows; stage 2 is reduce_cols4 over the (O, C, I) partial results.

override WG: u32 = 256;
override OP: u32 = 0;

struct Ori {
  o: u32,
  r: u32,
  i: u32,
  scale: f32,
}

const NEG_INF: f32 = -3.4028234663852886e38;

@group(0) @binding(0) var<uniform> p: Ori;
@group(0) @binding(1) var<storage, read> x: array<f32>;        // (O, R, I)
@group(0) @binding(2) var<storage, read_write> y: array<f32>;  // (O, I)

var<workgroup> partial: array<f32, WG>;

fn identity() -> f32 {
  return select(0.0, NEG_INF, OP == 2u);
}

fn combine(a: f32, b: f32) -> f32 {
  return select(a + b, max(a, b), OP == 2u);
}

fn finish(v: f32) -> f32 {
  return select(v, v * p.scale, OP == 1u);
}

@compute @workgroup_size(WG)
fn reduce_rows(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nwg.x;   // uniform across the workgroup
  var acc = identity();
  if (row < p.o) {
    let base = row * p.r;
    for (var r = lid; r < p.r; r += WG) {
      acc = combine(acc, x[base + r]);
    }
  }
  partial[lid] = acc;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s / 2u) {
    if (lid < s) {
      partial[lid] = combine(partial[lid], partial[lid + s]);
    }
    workgroupBarrier();
  }
  if (lid == 0u && row < p.o) {
    y[row] = finish(partial[0]);
  }
}

@compute @workgroup_size(WG)
fn reduce_cols(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = gid.x + gid.y * nwg.x * WG;
  if (t >= p.o * p.i) { return; }
  let o = t / p.i;
  let i = t % p.i;
  var acc = identity();
  for (var r = 0u; r < p.r; r++) {
    acc = combine(acc, x[(o * p.r + r) * p.i + i]);
  }
  y[t] = finish(acc);
}

@group(0) @binding(0) var<uniform> p4: Ori;
@group(0) @binding(1) var<storage, read> x4: array<vec4<f32>>;        // (O, R, I / 4)
@group(0) @binding(2) var<storage, read_write> y4: array<vec4<f32>>;  // (O, I / 4)

@compute @workgroup_size(WG)
fn reduce_cols4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = gid.x + gid.y * nwg.x * WG;
  let i4 = p4.i / 4u;
  if (t >= p4.o * i4) { return; }
  let o = t / i4;
  let i = t % i4;
  var acc = vec4<f32>(identity());
  for (var r = 0u; r < p4.r; r++) {
    let v = x4[(o * p4.r + r) * i4 + i];
    acc = select(acc + v, max(acc, v), OP == 2u);
  }
  y4[t] = select(acc, acc * p4.scale, OP == 1u);
}

// Stage 1 of a chunked column reduction: part (O, C, I) = op over rows [c S, min((c + 1) S, R)) of
// x (O, R, I), I a multiple of 4. For mean the host runs it with OP = sum and scales in stage 2.
struct Chunks {
  o: u32,
  r: u32,
  i: u32,
  // S: rows per chunk; C: chunks (C S >= R).
  s: u32,
  c: u32,
}

@group(0) @binding(0) var<uniform> pc: Chunks;
@group(0) @binding(1) var<storage, read> xc: array<vec4<f32>>;        // (O, R, I / 4)
@group(0) @binding(2) var<storage, read_write> yc: array<vec4<f32>>;  // (O, C, I / 4)

@compute @workgroup_size(WG)
fn reduce_cols4_chunks(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = gid.x + gid.y * nwg.x * WG;
  let i4 = pc.i / 4u;
  if (t >= pc.o * pc.c * i4) { return; }
  let i = t % i4;
  let oc = t / i4;
  let c = oc % pc.c;
  let o = oc / pc.c;
  var acc = vec4<f32>(identity());
  let end = min((c + 1u) * pc.s, pc.r);
  for (var r = c * pc.s; r < end; r++) {
    let v = xc[(o * pc.r + r) * i4 + i];
    acc = select(acc + v, max(acc, v), OP == 2u);
  }
  yc[t] = acc;
}

// Backward of sum and mean: d_x (O, R, I) = d_y (O, I) * scale.
@group(0) @binding(0) var<uniform> q: Ori;
@group(0) @binding(1) var<storage, read> d_y: array<f32>;        // (O, I)
@group(0) @binding(2) var<storage, read_write> d_x: array<f32>;  // (O, R, I)

@compute @workgroup_size(WG)
fn expand(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = gid.x + gid.y * nwg.x * WG;
  if (t >= q.o * q.r * q.i) { return; }
  let i = t % q.i;
  let o = t / (q.r * q.i);
  d_x[t] = d_y[o * q.i + i] * q.scale;
}

// Backward of max: the gradient is shared equally among the entries equal to the maximum.
@group(0) @binding(0) var<uniform> m: Ori;
@group(0) @binding(1) var<storage, read> mx: array<f32>;          // (O, R, I) forward input
@group(0) @binding(2) var<storage, read> my: array<f32>;          // (O, I) forward output
@group(0) @binding(3) var<storage, read> md_y: array<f32>;        // (O, I)
@group(0) @binding(4) var<storage, read_write> md_x: array<f32>;  // (O, R, I)

@compute @workgroup_size(WG)
fn max_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = gid.x + gid.y * nwg.x * WG;
  if (t >= m.o * m.i) { return; }
  let o = t / m.i;
  let i = t % m.i;
  let top = my[t];
  var count = 0.0;
  for (var r = 0u; r < m.r; r++) {
    count += select(0.0, 1.0, mx[(o * m.r + r) * m.i + i] == top);
  }
  let g = md_y[t] / max(count, 1.0);
  for (var r = 0u; r < m.r; r++) {
    let k = (o * m.r + r) * m.i + i;
    md_x[k] = select(0.0, g, mx[k] == top);
  }
}
