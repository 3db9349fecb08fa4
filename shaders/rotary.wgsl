// Rotary position embedding, non-interleaved ("rotate half"), as fair-esm's esm/rotary_embedding.py:
//   out = x * cos(emb) + rotate_half(x) * sin(emb),  rotate_half(x) = cat(-x2, x1),
// with x1 = x[..., :Dh/2], x2 = x[..., Dh/2:] and emb = cat(freqs, freqs). Per pair (x1[k], x2[k]):
//   out1 = x1 cos - x2 sin,  out2 = x2 cos + x1 sin.
//
// The cos/sin table comes from the host (float64, rounded to f32) because shader sin/cos are not
// accurate enough on every adapter (SwiftShader's sin is off by up to 2e-4).
// Backward is the inverse rotation, i.e. the same map with sin negated: sin_sign = -1.
// rotary_heads rotates (and scales) every head of a (B, L, H Dh) tensor in place of layout, for fused
// attention.

override WG: u32 = 256;

struct Rotary {
  n: u32,         // pairs: R * L * Dh/2, R = product of the leading axes (B * H)
  l: u32,         // L
  half: u32,      // Dh / 2
  sin_sign: f32,  // +1 forward, -1 backward
}

@group(0) @binding(0) var<uniform> u: Rotary;
@group(0) @binding(1) var<storage, read> x: array<f32>;          // (R, L, Dh); d_y in backward
@group(0) @binding(2) var<storage, read> cs: array<f32>;         // (L, Dh): cos in [:, :Dh/2], sin in [:, Dh/2:]
@group(0) @binding(3) var<storage, read_write> out: array<f32>;  // (R, L, Dh); d_x in backward

@compute @workgroup_size(WG)
fn rotary_apply(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= u.n) { return; }
  let k = i % u.half;
  let row = i / u.half;          // r * L + t
  let t = row % u.l;
  let base = row * 2u * u.half;  // start of x[r, t, :]
  let c = cs[t * 2u * u.half + k];
  let s = cs[t * 2u * u.half + u.half + k] * u.sin_sign;
  let x1 = x[base + k];
  let x2 = x[base + u.half + k];
  out[base + k] = x1 * c - x2 * s;
  out[base + u.half + k] = x2 * c + x1 * s;
}

struct Heads {
  n: u32,      // rotate-half chunk pairs: rows R = B L, times H, times Dh / 8
  l: u32,      // L
  h: u32,      // H
  half4: u32,  // Dh / 8: vec4 chunks in half a head row
  scale: f32,
}

@group(0) @binding(0) var<uniform> hp: Heads;
@group(0) @binding(1) var<storage, read> hx: array<vec4<f32>>;          // (R, D), D = H Dh
@group(0) @binding(2) var<storage, read> hcs: array<vec4<f32>>;         // (L, Dh) cos | sin, as cs
@group(0) @binding(3) var<storage, read_write> hout: array<vec4<f32>>;  // (R, D) rope(scale x)

// The same rotation (times scale) applied to every head of x in the projections' (B, L, H Dh) layout,
// 4 pairs per invocation (Dh a multiple of 8): what fused attention reads, with no head split copied.
@compute @workgroup_size(WG)
fn rotary_heads(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= hp.n) { return; }
  let c = i % hp.half4;
  let rest = i / hp.half4;
  let head = rest % hp.h;
  let row = rest / hp.h;        // b * L + t
  let t = row % hp.l;
  let chunks = 2u * hp.half4;   // vec4s per head row
  let base = (row * hp.h + head) * chunks + c;
  let co = hcs[t * chunks + c];
  let si = hcs[t * chunks + hp.half4 + c];
  let x1 = hx[base];
  let x2 = hx[base + hp.half4];
  hout[base] = (x1 * co - x2 * si) * hp.scale;
  hout[base + hp.half4] = (x2 * co + x1 * si) * hp.scale;
}
