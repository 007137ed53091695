/**
 * The box of a candidate's mask v > threshold without the mask: columns are scanned from both ends, and from the
 * top and the bottom only as far as the box can still grow, deciding whole tiles and blocks from their codes and
 * computing pixels only in blocks the threshold crosses. The same box as a full pass, for a fraction of its work:
 * a tile or block whose code is decided against the threshold has every pixel on one side of it (block-bounds.ts),
 * and the pixels of the others are computed with the plain path's float32 steps.
 */
import { EXACT, TILE, type BlockBounds } from './block-bounds.js';
import type { FrameSource } from './frame-source.js';
import type { UpscalePlan } from './upscale.js';
import type { BoxXYXY } from '../base/types.js';

const f32 = Math.fround;

export class BoxScan {
  /** The last stage's horizontal step for the current column, per frame row. */
  private readonly colVec: Float32Array;

  constructor(
    private readonly plan: UpscalePlan,
    private readonly bounds: BlockBounds,
    private readonly source: FrameSource,
  ) {
    this.colVec = new Float32Array(plan.midH);
  }

  /** The box (crop frame, max inclusive) of the loaded candidate's mask v > t, or null when the mask is empty. */
  box(t: number): BoxXYXY | null {
    const { outW, outH } = this.plan;
    this.bounds.useMaskThreshold(t);
    let minX = -1;
    let minY = outH;
    let maxY = -1;
    for (let x = 0; x < outW && minX < 0; x++) {
      const f = this.firstMaskRow(x, t, outH);
      if (f >= 0) {
        minX = x;
        minY = f;
        maxY = Math.max(f, this.lastMaskRow(x, t, f));
      }
    }
    if (minX < 0) return null;
    let maxX = minX;
    for (let x = outW - 1; x > minX; x--) {
      const f = this.firstMaskRow(x, t, outH);
      if (f >= 0) {
        maxX = x;
        if (f < minY) minY = f;
        maxY = Math.max(maxY, f, this.lastMaskRow(x, t, maxY));
        break;
      }
    }
    for (let x = minX + 1; x < maxX; x++) {
      if (minY > 0) {
        const f = this.firstMaskRow(x, t, minY);
        if (f >= 0) minY = f;
      }
      if (maxY < outH - 1) {
        const l = this.lastMaskRow(x, t, maxY);
        if (l >= 0) maxY = l;
      }
    }
    return [minX, minY, maxX, maxY];
  }

  /** First row y < yEnd of output column x with v > t, or −1. */
  private firstMaskRow(x: number, t: number, yEnd: number): number {
    const { bounds } = this;
    const { rowStart } = this.plan;
    const nGy = this.plan.rowGroups;
    const gx = this.plan.colGroupOf[x];
    const tx = (gx / TILE) | 0;
    for (let ty = 0; ty < bounds.nTy && rowStart[ty * TILE] < yEnd; ty++) {
      const tm = bounds.maskTileMode(tx, ty);
      if (tm === 0) continue;
      if (tm !== EXACT) return rowStart[ty * TILE];
      const gy1 = Math.min(ty * TILE + TILE, nGy);
      for (let gy = ty * TILE; gy < gy1 && rowStart[gy] < yEnd; gy++) {
        const md = bounds.maskBlockMode(gx, gy);
        if (md === 0) continue;
        if (md !== EXACT) return rowStart[gy];
        this.columnVector(x, gy);
        const end = Math.min(rowStart[gy + 1], yEnd);
        for (let y = rowStart[gy]; y < end; y++) if (this.value(y) > t) return y;
      }
    }
    return -1;
  }

  /** Last row y > yStart of output column x with v > t, or −1. */
  private lastMaskRow(x: number, t: number, yStart: number): number {
    const { bounds } = this;
    const { rowStart } = this.plan;
    const nGy = this.plan.rowGroups;
    const gx = this.plan.colGroupOf[x];
    const tx = (gx / TILE) | 0;
    for (let ty = bounds.nTy - 1; ty >= 0; ty--) {
      const gy0 = ty * TILE;
      const gy1 = Math.min(gy0 + TILE, nGy);
      if (rowStart[gy1] - 1 <= yStart) break;
      const tm = bounds.maskTileMode(tx, ty);
      if (tm === 0) continue;
      if (tm !== EXACT) return rowStart[gy1] - 1;
      for (let gy = gy1 - 1; gy >= gy0 && rowStart[gy + 1] - 1 > yStart; gy--) {
        const md = bounds.maskBlockMode(gx, gy);
        if (md === 0) continue;
        if (md !== EXACT) return rowStart[gy + 1] - 1;
        this.columnVector(x, gy);
        const start = Math.max(rowStart[gy], yStart + 1);
        for (let y = rowStart[gy + 1] - 1; y >= start; y--) if (this.value(y) > t) return y;
      }
    }
    return -1;
  }

  /** colVec on the frame rows block row gy reads, for output column x. */
  private columnVector(x: number, gy: number): void {
    this.source.prepareBlock(x, gy);
    this.source.selectColumn(x);
    this.source.columnRows(this.plan.rowFrameLo[gy], this.plan.rowFrameHi[gy], this.colVec);
  }

  /** Output row y of the column whose vector columnVector() filled. */
  private value(y: number): number {
    const { i0, i1, w0, w1 } = this.plan.sy2;
    return f32(f32(this.colVec[i0[y]] * w0[y]) + f32(this.colVec[i1[y]] * w1[y]));
  }
}
