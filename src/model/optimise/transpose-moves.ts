/**
 * A layout change as a few cheap Transposes instead of one slow one. ONNX Runtime's CPU Transpose has fast paths
 * only for a permutation that moves one axis (after merging neighbours: two adjacent groups of axes swap places)
 * and whose contiguous inner block is 1, 2, 4 or 8 bytes: MLAS's matrix transpose, or one typed copy per element.
 * Any other permutation with a short inner block walks a multi-index element by element (or calls memcpy per
 * block of a few bytes). On the SAM decoders' last layout change (three masks, token-major → NCHW, 8 axes, the
 * innermost axis moving) that generic walk took 3.5 times as long as three single-axis moves over the same data.
 */

/** Swap of the adjacent position ranges [a, b) and [b, c) of an arrangement of axes. */
export interface Move {
  a: number;
  b: number;
  c: number;
}

/** Inner-block sizes in bytes that ONNX Runtime's single-axis Transpose copies with a typed loop or MLAS. */
const FAST_BLOCK_BYTES = new Set([1, 2, 4, 8]);

/**
 * The single-axis moves to use instead of one Transpose of axes of the given sizes (major to minor; undefined where
 * not a plain number) into the order `perm` (output axis i is input axis perm[i]), or undefined when one Transpose
 * is as good: when `perm` moves a single axis already (a fast path of its own), when its innermost contiguous run is
 * longer than 8 bytes (ONNX Runtime copies such runs as blocks), or when no sequence of at most three fast moves
 * exists (every move is a pass over the data).
 */
export function fastMoves(sizes: readonly (number | undefined)[], perm: readonly number[], elemBytes: number): Move[] | undefined {
  const n = perm.length;
  if (n < 3 || isSingleMove(perm)) return undefined;
  const run = perm[n - 1] === n - 1 ? sizes[n - 1] : 1;
  if (run === undefined || run * elemBytes > 8) return undefined;
  return planMoves(sizes, perm, elemBytes, 3);
}

/** Whether `perm` swaps two adjacent groups of axes (or none). */
function isSingleMove(perm: readonly number[]): boolean {
  let i = 0;
  while (i < perm.length && perm[i] === i) i++;
  if (i === perm.length) return true;
  // From position i on: the second group (perm[i]…), then the first (i…), then the rest in place.
  const b = perm[i];
  let k = i;
  while (k < perm.length && perm[k] === b + (k - i)) k++;
  const c = b + (k - i);
  for (let j = i; j < b; j++, k++) if (perm[k] !== j) return false;
  for (; k < perm.length; k++) if (perm[k] !== k || k < c) return false;
  return true;
}

/**
 * The shortest sequence of at most `maxMoves` fast single-axis moves that turns axes of the given sizes (major to
 * minor; undefined where not a plain number) into the order `perm` (output axis i is input axis perm[i]), or
 * undefined when there is none. A move is fast when the axes after it hold 1, 2, 4 or 8 bytes per element of
 * `elemBytes`. Iterative deepening, pruned by breakpoints (neighbours that are not neighbours in `perm`, ends
 * included): one move changes three neighbourhoods, so it removes at most three breakpoints.
 */
function planMoves(sizes: readonly (number | undefined)[], perm: readonly number[], elemBytes: number, maxMoves = 3): Move[] | undefined {
  const n = perm.length;
  const rank = new Array<number>(n);
  perm.forEach((axis, i) => (rank[axis] = i));
  const breakpoints = (arr: readonly number[]): number => {
    let count = 0;
    for (let i = 0; i <= n; i++) if ((i < n ? rank[arr[i]] : n) !== (i > 0 ? rank[arr[i - 1]] : -1) + 1) count++;
    return count;
  };
  const path: Move[] = [];
  const search = (arr: number[], left: number): boolean => {
    const bp = breakpoints(arr);
    if (bp === 0) return true;
    if (bp > 3 * left) return false;
    // The inner block is the product of the sizes after position c; only short blocks qualify.
    let inner = 1;
    for (let c = n; c >= 2; c--) {
      if (c < n) {
        const s = sizes[arr[c]];
        if (s === undefined) return false;
        inner *= s;
      }
      if (inner * elemBytes > 8) return false;
      if (!FAST_BLOCK_BYTES.has(inner * elemBytes)) continue;
      for (let b = 1; b < c; b++) {
        for (let a = 0; a < b; a++) {
          path.push({ a, b, c });
          if (search([...arr.slice(0, a), ...arr.slice(b, c), ...arr.slice(a, b), ...arr.slice(c)], left - 1)) return true;
          path.pop();
        }
      }
    }
    return false;
  };
  const start = sizes.map((_, i) => i);
  for (let depth = 0; depth <= maxMoves; depth++) if (search(start, depth)) return path;
  return undefined;
}
