// The gradient-boosting trainer's two hot loops in AssemblyScript, compiled to WebAssembly by
// scripts/build-gb-kernel.ts (the bytes are embedded in ../gb-kernel-wasm.ts). Every pointer is a
// byte offset into the memory the JavaScript side owns (../gb-kernel.ts lays it out); the kernel
// allocates nothing. Results are bit-identical to the JavaScript loops in
// ../../hist-gradient-boosting.ts: the same additions in the same order.

/** Bytes of one feature's histogram: 256 slots × (gradient, hessian, count) as f64. */
const FEATURE_BYTES: usize = 256 * 3 * 8;
const MISSING_BIN: u32 = 255;

function add3(slot: usize, g: f64, h: f64): void {
  store<f64>(slot, load<f64>(slot) + g);
  store<f64>(slot, load<f64>(slot, 8) + h, 8);
  store<f64>(slot, load<f64>(slot, 16) + 1.0, 16);
}

/**
 * The histogram of rows[start:start+m) into `hist` (d × 256 × 3 f64, zeroed here). With `inOrder`
 * the rows are 0..m-1 and the gradients are read in place; otherwise they are first gathered into
 * `og`/`oh` in the node's row order, so each feature's pass reads them sequentially. Four features
 * share one pass over the rows. `constHess`: every hessian is 1 (`h` and `oh` unread).
 */
export function buildHist(
  bins: usize, n: i32, d: i32, rows: usize, start: i32, m: i32,
  g: usize, h: usize, og: usize, oh: usize, hist: usize, inOrder: i32, constHess: i32,
): void {
  memory.fill(hist, 0, <usize>d * FEATURE_BYTES);
  const idx: usize = rows + (<usize>start << 2);
  let gp = g;
  let hp = h;
  if (!inOrder) {
    for (let k: usize = 0; k < <usize>m; k++) store<f64>(og + (k << 3), load<f64>(g + (<usize>load<u32>(idx + (k << 2)) << 3)));
    if (!constHess) for (let k: usize = 0; k < <usize>m; k++) store<f64>(oh + (k << 3), load<f64>(h + (<usize>load<u32>(idx + (k << 2)) << 3)));
    gp = og;
    hp = oh;
  }
  const stride = <usize>n;
  let f: i32 = 0;
  for (; f + 4 <= d; f += 4) {
    const ca = bins + <usize>f * stride;
    const cb = ca + stride;
    const cc = cb + stride;
    const cd = cc + stride;
    const ha = hist + <usize>f * FEATURE_BYTES;
    const hb = ha + FEATURE_BYTES;
    const hc = hb + FEATURE_BYTES;
    const hd = hc + FEATURE_BYTES;
    for (let k: usize = 0; k < <usize>m; k++) {
      const r: usize = inOrder ? k : <usize>load<u32>(idx + (k << 2));
      const gk = load<f64>(gp + (k << 3));
      const hk = constHess ? 1.0 : load<f64>(hp + (k << 3));
      add3(ha + <usize>load<u8>(ca + r) * 24, gk, hk);
      add3(hb + <usize>load<u8>(cb + r) * 24, gk, hk);
      add3(hc + <usize>load<u8>(cc + r) * 24, gk, hk);
      add3(hd + <usize>load<u8>(cd + r) * 24, gk, hk);
    }
  }
  for (; f < d; f++) {
    const ca = bins + <usize>f * stride;
    const ha = hist + <usize>f * FEATURE_BYTES;
    for (let k: usize = 0; k < <usize>m; k++) {
      const r: usize = inOrder ? k : <usize>load<u32>(idx + (k << 2));
      add3(ha + <usize>load<u8>(ca + r) * 24, load<f64>(gp + (k << 3)), constHess ? 1.0 : load<f64>(hp + (k << 3)));
    }
  }
}

/**
 * Stable in-place partition of rows[start:end) by one feature's bins (`col`): rows whose bin is
 * ≤ thr (missing ones when missLeft) first. `tmp` holds the right side meanwhile. Returns the
 * split point.
 */
export function partition(col: usize, rows: usize, tmp: usize, start: i32, end: i32, thr: u32, missLeft: i32): i32 {
  let l: usize = <usize>start;
  let r: usize = 0;
  const missing: usize = missLeft ? 1 : 0;
  for (let k: usize = <usize>start; k < <usize>end; k++) {
    const row = load<u32>(rows + (k << 2));
    const b = <u32>load<u8>(col + <usize>row);
    // Branchless: both slots are written, one cursor moves (left/right is unpredictable).
    const left: usize = b == MISSING_BIN ? missing : b <= thr ? 1 : 0;
    store<u32>(rows + (l << 2), row);
    store<u32>(tmp + (r << 2), row);
    l += left;
    r += 1 - left;
  }
  memory.copy(rows + (l << 2), tmp, r << 2);
  return <i32>l;
}

/**
 * Bins of one feature: for each of the n values (f64 at `values`), the index of the first of the
 * nEdges ascending edges (f64 at `edges`) that is ≥ the value (nEdges when none), MISSING_BIN for
 * NaN; written as u8 at `out`. A branchless lower bound: the comparison picks the half by a select
 * rather than a jump, so unpredictable values cost no mispredicted branches.
 */
export function binColumn(values: usize, n: i32, edges: usize, nEdges: i32, out: usize): void {
  for (let i: usize = 0; i < <usize>n; i++) {
    const v = load<f64>(values + (i << 3));
    if (v != v) {
      store<u8>(out + i, <u8>MISSING_BIN);
      continue;
    }
    let first: i32 = 0;
    let len: i32 = nEdges;
    while (len > 0) {
      const half = len >> 1;
      const mid = first + half;
      const below = load<f64>(edges + (<usize>mid << 3)) < v;
      first = select<i32>(mid + 1, first, below);
      len = select<i32>(len - half - 1, half, below);
    }
    store<u8>(out + i, <u8>first);
  }
}
