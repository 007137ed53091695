/**
 * Greedy box non-maximum suppression with torchvision's arithmetic (float32 areas and IoU, strict `>`).
 */

/**
 * Indices of the boxes that survive, in descending score order (ties: lower index first).
 * @param boxes xyxy per box, interleaved (4 numbers per box)
 * @param scores one score per box (float32 values)
 * @param iouThreshold a box is dropped when its IoU with a kept box is strictly greater than this
 */
export function boxNms(boxes: ArrayLike<number>, scores: ArrayLike<number>, iouThreshold: number): number[] {
  const n = scores.length;
  const order = sortByScoreDesc(scores);
  const areas = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    areas[i] = Math.fround((boxes[4 * i + 2] - boxes[4 * i]) * (boxes[4 * i + 3] - boxes[4 * i + 1]));
  }
  const suppressed = new Uint8Array(n);
  const keep: number[] = [];
  for (let a = 0; a < n; a++) {
    const i = order[a];
    if (suppressed[i]) continue;
    keep.push(i);
    const ix1 = boxes[4 * i];
    const iy1 = boxes[4 * i + 1];
    const ix2 = boxes[4 * i + 2];
    const iy2 = boxes[4 * i + 3];
    const iarea = areas[i];
    for (let b = a + 1; b < n; b++) {
      const j = order[b];
      if (suppressed[j]) continue;
      const w = Math.max(0, Math.min(ix2, boxes[4 * j + 2]) - Math.max(ix1, boxes[4 * j]));
      const h = Math.max(0, Math.min(iy2, boxes[4 * j + 3]) - Math.max(iy1, boxes[4 * j + 1]));
      const inter = Math.fround(w * h);
      const iou = Math.fround(inter / Math.fround(Math.fround(iarea + areas[j]) - inter));
      if (iou > iouThreshold) suppressed[j] = 1;
    }
  }
  return keep;
}

/** Stable descending sort of indices by score. */
export function sortByScoreDesc(scores: ArrayLike<number>): Int32Array {
  const order = new Int32Array(scores.length);
  for (let i = 0; i < order.length; i++) order[i] = i;
  // Array.prototype.sort on typed arrays is stable in V8 (TimSort), which gives the documented tie order.
  return order.sort((a, b) => scores[b] - scores[a] || a - b);
}
