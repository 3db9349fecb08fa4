// Embedding lookup: out[n, :] = table[indices[n], :], and its backward, a scatter-add into d_table.
//
// Out-of-range indices (negative or >= V) cannot be reported without a readback, so they are skipped:
// they read a zero row and contribute no gradient.
//
// The backward must be bit-reproducible (resumed training has to equal uninterrupted training) and
// WGSL has no float atomics, so gradients are summed in a fixed order: a stable LSD radix sort orders
// the positions n by index (ties keep ascending n), then one thread per (v, d) sums d_y over the run
// of positions holding v. Work is O(N * passes + V * D + N * D), for any V:
//   sort_histogram  per chunk of WG positions: digit counts, written bucket-major (digit, chunk);
//   sort_scan       one workgroup: exclusive prefix sum of those counts = first slot of each
//                   (digit, chunk) in the output, in stable order;
//   sort_scatter    per chunk: slot = prefix + rank among earlier equal digits of the chunk;
//   gather_backward per (v, d): binary-search v's run in the sorted keys, sum in sorted order.
// Keys are sanitized on every read: an invalid index becomes V, which sorts last and is never summed.
// Sanitizing is idempotent, so the first pass reads the raw indices and later passes sorted keys.

override WG: u32 = 256;

const MAX_BUCKETS: u32 = 256u;  // digits of at most 8 bits per pass

struct Gather {
  n: u32,      // forward: N * D outputs; backward: V * D gradient entries
  d: u32,      // D
  v: u32,      // V
  count: u32,  // N positions
}

struct Sort {
  count: u32,    // N positions
  chunks: u32,   // ceil(N / WG)
  shift: u32,    // bit offset of this pass's digit
  buckets: u32,  // 2^(digit bits), <= MAX_BUCKETS
  v: u32,        // V
  first: u32,    // 1 on the first pass: positions are implicit (n itself)
}

fn sanitize(idx: i32, v: u32) -> u32 {
  return select(v, u32(idx), idx >= 0 && u32(idx) < v);
}

fn digit(key: u32, s: Sort) -> u32 {
  return (key >> s.shift) & (s.buckets - 1u);
}

// ---- forward ---------------------------------------------------------------------------------------

@group(0) @binding(0) var<uniform> fw: Gather;
@group(0) @binding(1) var<storage, read> table: array<f32>;       // (V, D)
@group(0) @binding(2) var<storage, read> indices: array<i32>;     // (N) the flattened [...] index tensor
@group(0) @binding(3) var<storage, read_write> out: array<f32>;   // (N, D)

@compute @workgroup_size(WG)
fn gather_forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= fw.n) { return; }
  let row = sanitize(indices[i / fw.d], fw.v);
  var value = 0.0;
  if (row < fw.v) {
    value = table[row * fw.d + i % fw.d];
  }
  out[i] = value;
}

// ---- backward: stable radix sort of positions by index -----------------------------------------------

@group(0) @binding(0) var<uniform> hs: Sort;
@group(0) @binding(1) var<storage, read> h_keys: array<i32>;       // (N) raw indices or sorted keys
@group(0) @binding(2) var<storage, read_write> h_counts: array<u32>; // (buckets, chunks)

// Workgroup memory is zero-initialised by WGSL, so every workgroup starts from an empty histogram.
var<workgroup> hist: array<atomic<u32>, MAX_BUCKETS>;

@compute @workgroup_size(WG)
fn sort_histogram(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                  @builtin(local_invocation_index) lid: u32) {
  let chunk = wid.x + wid.y * nwg.x;  // uniform across the workgroup
  let i = chunk * WG + lid;
  if (chunk < hs.chunks && i < hs.count) {
    atomicAdd(&hist[digit(sanitize(h_keys[i], hs.v), hs)], 1u);
  }
  workgroupBarrier();
  if (chunk >= hs.chunks) { return; }
  for (var b = lid; b < hs.buckets; b += WG) {
    h_counts[b * hs.chunks + chunk] = atomicLoad(&hist[b]);
  }
}

@group(0) @binding(0) var<uniform> ss: Sort;
@group(0) @binding(1) var<storage, read_write> s_counts: array<u32>;  // (buckets, chunks), scanned in place

var<workgroup> block_sums: array<u32, WG>;

// Single workgroup: thread k owns a contiguous block of the counts, sums it, the block sums are
// scanned in workgroup memory (Hillis-Steele), then each thread rewrites its block as prefixes.
@compute @workgroup_size(WG)
fn sort_scan(@builtin(local_invocation_index) lid: u32) {
  let total = ss.buckets * ss.chunks;
  let per = (total + WG - 1u) / WG;
  let lo = min(lid * per, total);
  let hi = min(lo + per, total);
  var acc = 0u;
  for (var k = lo; k < hi; k++) {
    acc += s_counts[k];
  }
  block_sums[lid] = acc;
  workgroupBarrier();
  for (var off = 1u; off < WG; off *= 2u) {
    var prev = 0u;
    if (lid >= off) { prev = block_sums[lid - off]; }
    workgroupBarrier();
    block_sums[lid] += prev;
    workgroupBarrier();
  }
  var run = block_sums[lid] - acc;  // exclusive prefix of this block
  for (var k = lo; k < hi; k++) {
    let c = s_counts[k];
    s_counts[k] = run;
    run += c;
  }
}

@group(0) @binding(0) var<uniform> cs: Sort;
@group(0) @binding(1) var<storage, read> c_keys_in: array<i32>;        // (N) raw indices or keys of the previous pass
@group(0) @binding(2) var<storage, read> c_pos_in: array<u32>;         // (N) positions of the previous pass (unused on the first)
@group(0) @binding(3) var<storage, read> c_offsets: array<u32>;        // (buckets, chunks) scanned counts
@group(0) @binding(4) var<storage, read_write> c_keys_out: array<i32>; // (N) sanitized keys, sorted by the digits so far
@group(0) @binding(5) var<storage, read_write> c_pos_out: array<u32>;  // (N) positions n in the same order

var<workgroup> tile: array<u32, WG>;  // this chunk's digits

@compute @workgroup_size(WG)
fn sort_scatter(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                @builtin(local_invocation_index) lid: u32) {
  let chunk = wid.x + wid.y * nwg.x;
  let i = chunk * WG + lid;
  let live = chunk < cs.chunks && i < cs.count;
  var key = 0u;
  var dig = MAX_BUCKETS;  // matches no live digit
  if (live) {
    key = sanitize(c_keys_in[i], cs.v);
    dig = digit(key, cs);
  }
  tile[lid] = dig;
  workgroupBarrier();
  if (!live) { return; }
  // Rank among earlier equal digits of the chunk: this ordering is what makes the sort stable.
  var rank = 0u;
  for (var j = 0u; j < lid; j++) {
    rank += select(0u, 1u, tile[j] == dig);
  }
  let slot = c_offsets[dig * cs.chunks + chunk] + rank;
  c_keys_out[slot] = i32(key);
  c_pos_out[slot] = select(c_pos_in[i], i, cs.first == 1u);
}

// ---- backward: ordered sums -------------------------------------------------------------------------

@group(0) @binding(0) var<uniform> bw: Gather;
@group(0) @binding(1) var<storage, read> b_keys: array<i32>;          // (N) sorted sanitized keys
@group(0) @binding(2) var<storage, read> b_pos: array<u32>;           // (N) positions n, sorted by key
@group(0) @binding(3) var<storage, read> d_y: array<f32>;             // (N, D)
@group(0) @binding(4) var<storage, read_write> d_table: array<f32>;   // (V, D)

// First slot whose key is >= v.
fn lower_bound(v: u32) -> u32 {
  var lo = 0u;
  var hi = bw.count;
  while (lo < hi) {
    let mid = (lo + hi) / 2u;
    if (u32(b_keys[mid]) < v) { lo = mid + 1u; } else { hi = mid; }
  }
  return lo;
}

@compute @workgroup_size(WG)
fn gather_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = gid.x + gid.y * nwg.x * WG;
  if (t >= bw.n) { return; }
  let v = t / bw.d;
  let col = t % bw.d;
  let end = lower_bound(v + 1u);
  var acc = 0.0;
  for (var k = lower_bound(v); k < end; k++) {
    acc += d_y[b_pos[k] * bw.d + col];
  }
  d_table[t] = acc;
}
