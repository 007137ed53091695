/**
 * One-to-one matching of two mask sets by mask IoU, computed on RLE (no bitmaps): greedy by descending IoU, ties by
 * expected then actual index. Pairs are only scored where boxes overlap and the area ratio allows the IoU asked for,
 * so large sets stay cheap.
 */
import { rleIntersection, type Rle } from '../rle/rle.js';

/** A mask to match: its RLE, area and max-inclusive xyxy box. */
export interface MatchItem {
  rle: Rle;
  area: number;
  box: [number, number, number, number];
}

/** A matched pair. */
export interface MatchPair {
  expected: number;
  actual: number;
  iou: number;
}

/** Result of a matching: pairs (in expected order) and the unmatched indices of each side. */
export interface MatchResult {
  pairs: MatchPair[];
  missing: number[];
  extra: number[];
}

/** IoU of two masks from their RLEs, 0 when their boxes do not overlap. */
export function maskIou(a: MatchItem, b: MatchItem): number {
  if (!boxesOverlap(a.box, b.box)) return 0;
  const union = a.area + b.area;
  if (union === 0) return 0;
  const inter = rleIntersection(a.rle, b.rle);
  return inter / (union - inter);
}

/** Matches expected to actual masks one-to-one at IoU ≥ minIou (minIou > 0). */
export function matchMasks(expected: MatchItem[], actual: MatchItem[], minIou: number): MatchResult {
  const cands: MatchPair[] = [];
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i];
    for (let j = 0; j < actual.length; j++) {
      const a = actual[j];
      // IoU ≤ min(area) / max(area): skip pairs that cannot reach minIou.
      if (Math.min(e.area, a.area) < minIou * Math.max(e.area, a.area)) continue;
      const iou = maskIou(e, a);
      if (iou >= minIou) cands.push({ expected: i, actual: j, iou });
    }
  }
  cands.sort((p, q) => q.iou - p.iou || p.expected - q.expected || p.actual - q.actual);
  const usedE = new Uint8Array(expected.length);
  const usedA = new Uint8Array(actual.length);
  const pairs: MatchPair[] = [];
  for (const c of cands) {
    if (usedE[c.expected] || usedA[c.actual]) continue;
    usedE[c.expected] = 1;
    usedA[c.actual] = 1;
    pairs.push(c);
  }
  pairs.sort((p, q) => p.expected - q.expected);
  const missing: number[] = [];
  const extra: number[] = [];
  usedE.forEach((u, i) => u || missing.push(i));
  usedA.forEach((u, j) => u || extra.push(j));
  return { pairs, missing, extra };
}

/**
 * Pairs box-prompted records by detection instead of by mask: the n-th record of detection id d among `expected`
 * with the n-th of d among `actual` (a repeated id pairs in order of appearance, as the detection file lists it).
 * A pair matches at IoU ≥ minIou, and two empty masks match (IoU 1); a pair below is missing on one side and extra
 * on the other, and `partner` keeps it (with its IoU) for the message. Pairs come in expected order.
 */
export function matchByDetection(
  expectedIds: readonly number[],
  actualIds: readonly number[],
  expected: MatchItem[],
  actual: MatchItem[],
  minIou: number,
): MatchResult & { partner: Map<number, { index: number; iou: number }> } {
  const queue = new Map<number, number[]>();
  actualIds.forEach((id, j) => {
    const q = queue.get(id);
    if (q) q.push(j);
    else queue.set(id, [j]);
  });
  const pairs: MatchPair[] = [];
  const missing: number[] = [];
  const partner = new Map<number, { index: number; iou: number }>();
  expectedIds.forEach((id, i) => {
    const j = queue.get(id)?.shift();
    if (j === undefined) {
      missing.push(i);
      return;
    }
    const e = expected[i];
    const a = actual[j];
    const iou = e.area === 0 && a.area === 0 ? 1 : maskIou(e, a);
    if (iou >= minIou) {
      pairs.push({ expected: i, actual: j, iou });
    } else {
      missing.push(i);
      partner.set(i, { index: j, iou });
    }
  });
  // Every actual record not in a matching pair: without a partner, or paired below minIou.
  const paired = new Set(pairs.map((p) => p.actual));
  const extra: number[] = [];
  actual.forEach((_, j) => {
    if (!paired.has(j)) extra.push(j);
  });
  return { pairs, missing, extra, partner };
}

/** The actual mask with the highest IoU to `item` (for failure messages), or undefined when none overlaps. */
export function nearestMask(item: MatchItem, pool: MatchItem[]): { index: number; iou: number } | undefined {
  let best: { index: number; iou: number } | undefined;
  pool.forEach((p, index) => {
    const iou = maskIou(item, p);
    if (iou > 0 && (!best || iou > best.iou)) best = { index, iou };
  });
  return best;
}

function boxesOverlap(a: [number, number, number, number], b: [number, number, number, number]): boolean {
  return a[0] <= b[2] && b[0] <= a[2] && a[1] <= b[3] && b[1] <= a[3];
}
