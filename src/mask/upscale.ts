/**
 * Geometry of the bilinear upscaling from low-resolution logits to a crop, with torch's arithmetic
 * (F.interpolate, mode "bilinear", align_corners=False, float32 throughout).
 *
 * SAM 1: 256×256 → 1024×1024, keep the top-left validH×validW, → cropH×cropW (two stages).
 * SAM 2 square models: 256×256 → cropH×cropW (one stage).
 * Nothing here allocates per candidate; the plan is built once per crop geometry and shared by all candidates.
 */

import type { LogitGeometry } from '../base/types.js';

const f32 = Math.fround;

/** Per output index along one axis: the two source indices and their float32 weights. */
export interface AxisTable {
  i0: Int32Array;
  i1: Int32Array;
  w0: Float32Array;
  w1: Float32Array;
}

/** torch's source-index rule for bilinear resampling without corner alignment, in float32. */
export function bilinearAxis(inSize: number, outSize: number): AxisTable {
  const i0 = new Int32Array(outSize);
  const i1 = new Int32Array(outSize);
  const w0 = new Float32Array(outSize);
  const w1 = new Float32Array(outSize);
  const scale = f32(inSize / outSize);
  for (let i = 0; i < outSize; i++) {
    let src = f32(f32(scale * (i + 0.5)) - 0.5);
    if (src < 0) src = 0;
    const lo = Math.min(Math.floor(src), inSize - 1);
    const lambda = f32(Math.min(Math.max(src - lo, 0), 1));
    i0[i] = lo;
    i1[i] = lo < inSize - 1 ? lo + 1 : lo;
    w1[i] = lambda;
    w0[i] = f32(1 - lambda);
  }
  return { i0, i1, w0, w1 };
}

/** fround(fround(a·w0) + fround(b·w1)): one linear interpolation step as torch's float32 kernel computes it. */
export function lerp2(a: number, b: number, w0: number, w1: number): number {
  return f32(f32(a * w0) + f32(b * w1));
}

/**
 * A precomputed upscaling from low-res logits to an outW×outH crop. Output pixels are grouped into blocks whose
 * values depend only on a 3×3 window of low-res cells anchored at (anchorX, anchorY); that lets callers decide whole
 * blocks from the window's min/max and evaluate pixels only where a threshold falls inside the window.
 */
export class UpscalePlan {
  readonly lowRes: number;
  readonly outW: number;
  readonly outH: number;
  readonly twoStage: boolean;
  /** Stage 1 (low-res → frame), restricted to the valid region; null when single-stage. */
  readonly sy1: AxisTable | null;
  readonly sx1: AxisTable | null;
  /** Last stage (frame or low-res → output). */
  readonly sy2: AxisTable;
  readonly sx2: AxisTable;
  /** Size of the intermediate frame the last stage reads (valid region, or the low-res grid). */
  readonly midW: number;
  readonly midH: number;
  /** Row groups: output rows [rowStart[g], rowStart[g+1]) share the window anchored at low-res row rowAnchor[g]. */
  readonly rowStart: Int32Array;
  readonly rowAnchor: Int32Array;
  readonly colStart: Int32Array;
  readonly colAnchor: Int32Array;
  /**
   * The last low-res row (column) any output row (column) of a group reads: a group's window is rows
   * rowAnchor[g]…rowWindowEnd[g] (1 to 3 cells; 2 for SAM 2's upscaling), columns likewise.
   */
  readonly rowWindowEnd: Int32Array;
  readonly colWindowEnd: Int32Array;
  /** Intermediate-frame rows [rowFrameLo[g], rowFrameHi[g]] that row group g reads; likewise columns per column group. */
  readonly rowFrameLo: Int32Array;
  readonly rowFrameHi: Int32Array;
  readonly colFrameLo: Int32Array;
  readonly colFrameHi: Int32Array;
  /**
   * Per output row y: the end (exclusive) of the run of rows that read the same two intermediate rows as y. Along a
   * column, the rows of one run are a float32 lerp between the same two values.
   */
  readonly rowRunEnd: Int32Array;
  /** Column group of each output column. */
  readonly colGroupOf: Int32Array;

  constructor(geom: LogitGeometry, outW: number, outH: number) {
    this.lowRes = geom.lowRes;
    this.outW = outW;
    this.outH = outH;
    this.twoStage = geom.frame !== null;
    if (geom.frame !== null) {
      // Only the first validH rows / validW columns of the frame are ever read, so the stage-1 tables stop there.
      this.sy1 = truncateAxis(bilinearAxis(geom.lowRes, geom.frame), geom.validH);
      this.sx1 = truncateAxis(bilinearAxis(geom.lowRes, geom.frame), geom.validW);
      this.sy2 = bilinearAxis(geom.validH, outH);
      this.sx2 = bilinearAxis(geom.validW, outW);
    } else {
      this.sy1 = null;
      this.sx1 = null;
      this.sy2 = bilinearAxis(geom.lowRes, outH);
      this.sx2 = bilinearAxis(geom.lowRes, outW);
    }
    this.midW = geom.frame !== null ? geom.validW : geom.lowRes;
    this.midH = geom.frame !== null ? geom.validH : geom.lowRes;
    [this.rowStart, this.rowAnchor, this.rowWindowEnd] = groupByAnchor(this.sy1, this.sy2, outH);
    [this.colStart, this.colAnchor, this.colWindowEnd] = groupByAnchor(this.sx1, this.sx2, outW);
    [this.rowFrameLo, this.rowFrameHi] = frameRanges(this.rowStart, this.sy2);
    [this.colFrameLo, this.colFrameHi] = frameRanges(this.colStart, this.sx2);
    this.colGroupOf = new Int32Array(outW);
    for (let g = 0; g + 1 < this.colStart.length; g++) this.colGroupOf.fill(g, this.colStart[g], this.colStart[g + 1]);
    this.rowRunEnd = new Int32Array(outH);
    for (let y = outH - 1; y >= 0; y--) {
      this.rowRunEnd[y] = y + 1 < outH && this.sy2.i0[y + 1] === this.sy2.i0[y] ? this.rowRunEnd[y + 1] : y + 1;
    }
  }

  /** Number of row / column groups. */
  get rowGroups(): number {
    return this.rowAnchor.length;
  }
  get colGroups(): number {
    return this.colAnchor.length;
  }

  /**
   * Fills column X of the intermediate frame (all midH rows) into `out` at `at`, with torch's arithmetic
   * (horizontal step first, then vertical). Two-stage plans only.
   */
  frameColumn(logits: Float32Array, offset: number, X: number, out: Float32Array, at: number, scratch: Float32Array): void {
    this.frameColumnRows(logits, offset, X, 0, this.midH - 1, out, at, scratch);
  }

  /**
   * Like frameColumn, for the intermediate rows [Y0, Y1] only: the values are the same (each depends only on its own
   * two low-res rows), so a column may be filled piecewise. Two-stage plans only.
   */
  frameColumnRows(
    logits: Float32Array,
    offset: number,
    X: number,
    Y0: number,
    Y1: number,
    out: Float32Array,
    at: number,
    scratch: Float32Array,
  ): void {
    const sy = this.sy1 as AxisTable;
    const sx = this.sx1 as AxisTable;
    const n = this.lowRes;
    const c0 = sx.i0[X];
    const c1 = sx.i1[X];
    const wx0 = sx.w0[X];
    const wx1 = sx.w1[X];
    const { i0, i1, w0, w1 } = sy;
    const rEnd = i1[Y1];
    for (let r = i0[Y0]; r <= rEnd; r++) {
      const row = offset + r * n;
      scratch[r] = lerp2(logits[row + c0], logits[row + c1], wx0, wx1);
    }
    for (let Y = Y0; Y <= Y1; Y++) out[at + Y] = lerp2(scratch[i0[Y]], scratch[i1[Y]], w0[Y], w1[Y]);
  }
}

/** The last stage's source range [lo, hi] per group of output indices. */
function frameRanges(start: Int32Array, s2: AxisTable): [Int32Array, Int32Array] {
  const groups = start.length - 1;
  const lo = new Int32Array(groups);
  const hi = new Int32Array(groups);
  for (let g = 0; g < groups; g++) {
    lo[g] = s2.i0[start[g]];
    hi[g] = s2.i1[start[g + 1] - 1];
  }
  return [lo, hi];
}

function truncateAxis(t: AxisTable, n: number): AxisTable {
  return { i0: t.i0.subarray(0, n), i1: t.i1.subarray(0, n), w0: t.w0.subarray(0, n), w1: t.w1.subarray(0, n) };
}

/**
 * Groups consecutive output indices by the first low-res index they read, and checks that every index reads at
 * most three consecutive low-res cells from there (true for bilinear with 2 taps per stage and a ×4 first stage).
 * Returns the groups' starts (and outSize last), their first low-res index and the last one any of them reads.
 */
function groupByAnchor(s1: AxisTable | null, s2: AxisTable, outSize: number): [Int32Array, Int32Array, Int32Array] {
  const starts: number[] = [];
  const anchors: number[] = [];
  const ends: number[] = [];
  let prev = -1;
  for (let i = 0; i < outSize; i++) {
    const lo = s1 ? s1.i0[s2.i0[i]] : s2.i0[i];
    const hi = s1 ? Math.max(s1.i1[s2.i1[i]], s1.i1[s2.i0[i]]) : s2.i1[i];
    if (hi - lo > 2 || lo < prev) throw new Error(`internal: upscale window [${lo}, ${hi}] at ${i} is not 3 cells wide`);
    if (lo !== prev) {
      starts.push(i);
      anchors.push(lo);
      ends.push(hi);
      prev = lo;
    } else if (hi > ends[ends.length - 1]) {
      ends[ends.length - 1] = hi;
    }
  }
  starts.push(outSize);
  return [Int32Array.from(starts), Int32Array.from(anchors), Int32Array.from(ends)];
}
