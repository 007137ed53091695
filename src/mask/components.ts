/**
 * 8-connected component labelling in linear time (one raster pass with union-find, one relabelling pass).
 * Shared by the SAM 1 full-resolution clean-up and the SAM 2 low-resolution one.
 */

/** Labels of one binary image: labels[i] = 0 for unset pixels, 1..count in raster order of first pixel. */
export interface Components {
  count: number;
  /** sizes[k] = pixel count of label k + 1. */
  sizes: Int32Array;
  labels: Int32Array;
}

/**
 * Labels the 8-connected components of the pixels where `bits[i] === value`.
 * @param labels optional scratch of length w·h to reuse between calls
 */
export function labelComponents(bits: Uint8Array, w: number, h: number, value: number, labels?: Int32Array): Components {
  const n = w * h;
  const lab = labels && labels.length >= n ? labels : new Int32Array(n);
  // parent[] holds provisional labels; at most one new label per pixel, usually far fewer.
  let parent = new Int32Array(Math.max(16, n >> 4));
  let next = 1;
  for (let y = 0; y < h; y++) {
    const row = y * w;
    for (let x = 0; x < w; x++) {
      const i = row + x;
      if (bits[i] !== value) {
        lab[i] = 0;
        continue;
      }
      let l = 0;
      if (x > 0 && lab[i - 1] !== 0) l = lab[i - 1];
      if (y > 0) {
        const up = i - w;
        if (x > 0 && lab[up - 1] !== 0) l = l === 0 ? lab[up - 1] : union(parent, l, lab[up - 1]);
        if (lab[up] !== 0) l = l === 0 ? lab[up] : union(parent, l, lab[up]);
        if (x + 1 < w && lab[up + 1] !== 0) l = l === 0 ? lab[up + 1] : union(parent, l, lab[up + 1]);
      }
      if (l === 0) {
        if (next >= parent.length) {
          const grown = new Int32Array(parent.length * 2);
          grown.set(parent);
          parent = grown;
        }
        parent[next] = next;
        l = next++;
      }
      lab[i] = l;
    }
  }
  // Final labels follow the raster order of each component's first pixel.
  const final = new Int32Array(next);
  const sizesTmp = new Int32Array(next);
  let count = 0;
  for (let i = 0; i < n; i++) {
    const l = lab[i];
    if (l === 0) continue;
    const root = find(parent, l);
    let f = final[root];
    if (f === 0) {
      f = ++count;
      final[root] = f;
    }
    lab[i] = f;
    sizesTmp[f - 1]++;
  }
  return { count, sizes: sizesTmp.slice(0, count), labels: lab };
}

function find(parent: Int32Array, a: number): number {
  let r = a;
  while (parent[r] !== r) r = parent[r];
  while (parent[a] !== r) {
    const nx = parent[a];
    parent[a] = r;
    a = nx;
  }
  return r;
}

function union(parent: Int32Array, a: number, b: number): number {
  const ra = find(parent, a);
  const rb = find(parent, b);
  if (ra === rb) return ra;
  // Keep the smaller provisional label as root so a component's root is its earliest label.
  if (ra < rb) {
    parent[rb] = ra;
    return ra;
  }
  parent[ra] = rb;
  return rb;
}
