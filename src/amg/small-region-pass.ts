/**
 * The SAM 1 generator's post-pass over finished records when min_mask_region_area > 0 (amg-reference.md,
 * "Small-region clean-up"): holes then islands per mask, score 1 for unchanged and 0 for changed masks, NMS again,
 * new RLE and box for changed survivors.
 */
import { removeSmallRegions, type OpenSides } from '../mask/small-regions.js';
import { boxNms } from '../nms/nms.js';
import { encodeRowMajor, forEachColumnSegment, rleArea, rleBoxXYXY, uncropRle, type Rle } from '../rle/rle.js';
import type { MaskRecord } from '../base/types.js';

/** A mask after clean-up, as a window of the image (the mask is zero outside it). */
interface Cleaned {
  changed: boolean;
  rle: Rle;
  box: [number, number, number, number];
}

/** Cleans every record and returns the survivors of the follow-up NMS, in its order. */
export function removeSmallRegionsFromRecords(records: MaskRecord[], minArea: number, nmsThresh: number): MaskRecord[] {
  const cleaned = records.map((r) => cleanMask(r.segmentation, minArea));
  const boxes = cleaned.flatMap((c) => c.box);
  const scores = cleaned.map((c) => (c.changed ? 0 : 1));
  const keep = boxNms(boxes, scores, nmsThresh);
  return keep.map((k) => {
    const r = records[k];
    const c = cleaned[k];
    if (!c.changed) return r;
    const [x0, y0, x1, y1] = c.box;
    return { ...r, segmentation: c.rle, area: rleArea(c.rle), bbox: [x0, y0, x1 - x0, y1 - y0] };
  });
}

/**
 * Holes then islands of one mask. Works on the mask's box grown by one pixel: every component is inside it, except
 * background reaching the grown border, which continues outside. Outside the window everything is background, in
 * four strips (above and below: full width; left and right: the window's rows); background touching an open side
 * belongs to a component at least as large as the strips it reaches, so it is never a small hole as long as every
 * non-empty strip holds minArea pixels or more. A smaller strip is taken into the window (the window grows to that
 * image edge) until none is left: the result is exact, and the window stays within the box plus four strips of
 * fewer than minArea pixels each — never the whole of a huge image.
 */
export function cleanMask(rle: Rle, minArea: number): Cleaned {
  const { h: H, w: W } = rle;
  const [bx0, by0, bx1, by1] = rleBoxXYXY(rle);
  let wx0 = Math.max(bx0 - 1, 0);
  let wy0 = Math.max(by0 - 1, 0);
  let wx1 = Math.min(bx1 + 2, W);
  let wy1 = Math.min(by1 + 2, H);
  // Growing one side never shrinks another strip (taking rows in lengthens the left and right strips), so at most
  // four rounds.
  for (let round = 0; round < 4; round++) {
    const rows = wy1 - wy0;
    const small = (area: number): boolean => area > 0 && area < minArea;
    let grew = false;
    if (small(wy0 * W)) [wy0, grew] = [0, true];
    if (small((H - wy1) * W)) [wy1, grew] = [H, true];
    if (small(wx0 * rows)) [wx0, grew] = [0, true];
    if (small((W - wx1) * rows)) [wx1, grew] = [W, true];
    if (!grew) break;
  }
  const ww = wx1 - wx0;
  const wh = wy1 - wy0;
  const open: OpenSides = { top: wy0 > 0, bottom: wy1 < H, left: wx0 > 0, right: wx1 < W };
  const window = decodeWindow(rle, wx0, wy0, ww, wh);
  const scratch = new Int32Array(ww * wh);
  const holes = removeSmallRegions(window, ww, wh, minArea, 'holes', scratch, open);
  const islands = removeSmallRegions(window, ww, wh, minArea, 'islands', scratch);
  if (!holes && !islands) return { changed: false, rle, box: [bx0, by0, bx1, by1] };
  const out = uncropRle(encodeRowMajor(window, wh, ww), wx0, wy0, H, W);
  return { changed: true, rle: out, box: rleBoxXYXY(out) };
}

/** Row-major 0/1 bitmap of the window [x0, x0+w) × [y0, y0+h) of a column-major RLE. */
function decodeWindow(rle: Rle, x0: number, y0: number, w: number, h: number): Uint8Array {
  const out = new Uint8Array(w * h);
  forEachColumnSegment(rle, (col, r0, r1) => {
    const x = col - x0;
    if (x < 0 || x >= w) return;
    for (let y = Math.max(r0, y0); y < Math.min(r1, y0 + h); y++) out[(y - y0) * w + x] = 1;
  });
  return out;
}
