// Inverted dropout: out = x * keep * scale, with keep drawn from a counter-based hash of
// (seed, flat element index) and scale = 1 / (1 - p).
//
// Nothing is stored between forward and backward: the backward pass runs this same entry point on
// the upstream gradient with the same seed, so it applies the same mask. The hash is plain u32
// arithmetic (wrapping multiply, shifts, xor) and is mirrored bit for bit by engine/ref/dropout.ts;
// the keep test is an integer comparison against a host-computed threshold, so no float rounding can
// make the two disagree.

override WG: u32 = 256;

struct Dropout {
  n: u32,          // elements
  seed: u32,
  threshold: u32,  // keep iff hash >= threshold; round(p * 2^32), 0 when p = 0
  scale: f32,      // 1 / (1 - p)
}

// PCG hash (the RXS-M-XS output of one LCG step; Jarzynski & Olano, JCGT 2020). A bijection on u32.
fn pcg_hash(v: u32) -> u32 {
  let state = v * 747796405u + 2891336453u;
  let word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u;
  return (word >> 22u) ^ word;
}

// The seed enters between two rounds, so the masks of two seeds are not related by a simple shift
// or xor of element indices (as they would be with pcg_hash(i ^ seed)).
fn dropout_hash(seed: u32, i: u32) -> u32 {
  return pcg_hash(pcg_hash(i) ^ pcg_hash(seed));
}

@group(0) @binding(0) var<uniform> u: Dropout;
@group(0) @binding(1) var<storage, read> x: array<f32>;          // (n) any shape, e.g. (B, L, D); d_y in backward
@group(0) @binding(2) var<storage, read_write> out: array<f32>;  // (n) same shape; d_x in backward

@compute @workgroup_size(WG)
fn dropout_apply(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= u.n) { return; }
  let keep = dropout_hash(u.seed, i) >= u.threshold;
  out[i] = select(0.0, x[i] * u.scale, keep);
}
