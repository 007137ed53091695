/**
 * Tie-aware record order agreement between two outputs of one image.
 *
 * The reference orders records by predicted IoU within a crop (box NMS) and by crop area across crops (cross-crop
 * NMS), and its sort is not stable: records whose keys are equal — or equal up to float noise between runtimes — come
 * out in an arbitrary order. So only pairs whose expected keys really differ are counted: predicted IoU by more than
 * `iouTol` for two records of the same crop box, crop area for records of different crop boxes. A counted pair is
 * inverted when the actual output puts the two records in the other relative order than the expected output does.
 *
 * Cost: O(n log² n) for n matched records (no pair loop), so 10k-record images stay cheap.
 */

/** One matched record: its positions in both outputs and its expected sort keys. */
export interface OrderedRecord {
  /** Position in the expected output. */
  expectedIndex: number;
  /** Position in the actual output. */
  actualIndex: number;
  /** Expected predicted IoU. */
  predictedIou: number;
  /** Expected crop box (x, y, w, h). */
  cropBox: readonly [number, number, number, number];
}

/** Pairs whose expected keys differ by more than the tolerance, and how many of them the actual output inverts. */
export interface OrderAgreement {
  pairs: number;
  inverted: number;
  /** 1 − inverted / pairs; 1 when no pair is counted. */
  agreement: number;
}

/** The tolerance on predicted IoU under which two records of one crop box are a tie. */
export const DEFAULT_IOU_TIE_TOL = 1e-4;

/** Order agreement of matched records (see the module comment). Positions must be distinct on each side. */
export function orderAgreement(records: readonly OrderedRecord[], iouTol = DEFAULT_IOU_TIE_TOL): OrderAgreement {
  let pairs = 0;
  let inverted = 0;
  // Same crop box: keyed by predicted IoU.
  const byCrop = new Map<string, OrderedRecord[]>();
  for (const r of records) {
    const k = r.cropBox.join(',');
    const list = byCrop.get(k);
    if (list) list.push(r);
    else byCrop.set(k, [r]);
  }
  for (const list of byCrop.values()) {
    const c = countKeyedInversions(list.map((r) => [r.expectedIndex, r.actualIndex, r.predictedIou]), iouTol);
    pairs += c.pairs;
    inverted += c.inverted;
  }
  // Different crop boxes: keyed by crop area. Records of one crop box share its area, so every pair with different
  // areas is a pair of different crop boxes; different boxes of equal area are ties.
  const c = countKeyedInversions(records.map((r) => [r.expectedIndex, r.actualIndex, r.cropBox[2] * r.cropBox[3]]), 0);
  pairs += c.pairs;
  inverted += c.inverted;
  return { pairs, inverted, agreement: pairs === 0 ? 1 : 1 - inverted / pairs };
}

/**
 * Over the pairs of items whose keys differ by more than `tol`: how many there are, and in how many the two
 * positions disagree (first before second in one order, after it in the other).
 * @param items [position in order A, position in order B, key]
 */
export function countKeyedInversions(items: readonly (readonly [number, number, number])[], tol: number): { pairs: number; inverted: number } {
  const n = items.length;
  if (n < 2) return { pairs: 0, inverted: 0 };
  // Items in order A; B positions and key ranks alongside.
  const sorted = [...items].sort((p, q) => p[0] - q[0]);
  const keys = Float64Array.from(sorted, (it) => it[2]).sort();
  const b = Float64Array.from(sorted, (it) => it[1]);
  const key = Float64Array.from(sorted, (it) => it[2]);
  // Pairs with |Δkey| > tol: for each key, the keys above key + tol.
  // One test decides a tie everywhere (keys[j] − keys[i] grows with j, so binary searches on it are exact).
  const above = (v: number, ref: number): boolean => v - ref > tol;
  let pairs = 0;
  for (let i = 0, j = 0; i < n; i++) {
    while (j < n && !above(keys[j], keys[i])) j++;
    pairs += n - j;
  }
  // Per item: its key's rank in `keys` (first index of equal keys) for the Fenwick tree, and the window [lo, hi)
  // of ranks that tie with it.
  const rank = new Int32Array(n);
  const lo = new Int32Array(n);
  const hi = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const k = key[i];
    rank[i] = firstIndex(keys, (v) => v >= k);
    lo[i] = firstIndex(keys, (v) => !above(k, v));
    hi[i] = firstIndex(keys, (v) => above(v, k));
  }
  const tree = new Int32Array(n + 1);
  const idx = Int32Array.from({ length: n }, (_, i) => i);
  const tmp = new Int32Array(n);
  let inverted = 0;
  // Divide and conquer on order A: every pair (a in the left half, b in the right half) has a before b in A; it is
  // inverted when B puts a after b. Halves come back sorted by B position (merge sort).
  const solve = (from: number, to: number): void => {
    if (to - from < 2) return;
    const mid = (from + to) >> 1;
    solve(from, mid);
    solve(mid, to);
    // Walk the right half by descending B position, adding the left items with a larger B position to the tree.
    let l = mid - 1;
    let added = 0;
    for (let r = to - 1; r >= mid; r--) {
      const br = b[idx[r]];
      while (l >= from && b[idx[l]] > br) {
        add(tree, rank[idx[l]], 1);
        added++;
        l--;
      }
      if (added > 0) inverted += added - (prefix(tree, hi[idx[r]]) - prefix(tree, lo[idx[r]]));
    }
    for (let k = mid - 1; k > l; k--) add(tree, rank[idx[k]], -1);
    // Merge by B position.
    let i = from;
    let j = mid;
    let o = from;
    while (i < mid || j < to) {
      if (j >= to || (i < mid && b[idx[i]] <= b[idx[j]])) tmp[o++] = idx[i++];
      else tmp[o++] = idx[j++];
    }
    for (let k = from; k < to; k++) idx[k] = tmp[k];
  };
  solve(0, n);
  return { pairs, inverted };
}

function add(tree: Int32Array, pos: number, v: number): void {
  for (let i = pos + 1; i < tree.length; i += i & -i) tree[i] += v;
}

/** Number of added items with rank < end. */
function prefix(tree: Int32Array, end: number): number {
  let s = 0;
  for (let i = end; i > 0; i -= i & -i) s += tree[i];
  return s;
}

/** First index of sorted `a` where `pred` holds (`pred` false then true along `a`); a.length when none. */
function firstIndex(a: Float64Array, pred: (v: number) => boolean): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const m = (lo + hi) >> 1;
    if (pred(a[m])) hi = m;
    else lo = m + 1;
  }
  return lo;
}
