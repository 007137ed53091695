/**
 * Which mask is under the pointer: a map with one entry per canvas pixel holding the index of the mask drawn on
 * top there (-1: none), filled by the rasteriser in draw order, and read at the pointer's canvas pixel.
 */
import { markHits } from '../../src/draw/rasterise.js';
import type { Placement } from '../../src/draw/frame.js';
import type { Rle } from '../../src/rle/rle.js';

/** Where an element is on the screen (a DOMRect has these). */
export interface ScreenRect {
  left: number;
  top: number;
  width: number;
  height: number;
}

/** The hit map of one canvas. */
export class HitMap {
  private hits = new Int32Array(0);
  private frame: Placement = { width: 0, height: 0, x0: 0, y0: 0, scale: 1 };

  /** Starts an empty map for a canvas of this geometry. */
  reset(frame: Placement): void {
    this.frame = frame;
    this.hits = new Int32Array(frame.width * frame.height).fill(-1);
  }

  /** Empties the map (before a redraw). */
  clear(): void {
    this.hits.fill(-1);
  }

  /** Marks the mask's canvas pixels with `index`; called in draw order, the last mask wins. */
  mark(rle: Rle, index: number): void {
    markHits(this.hits, this.frame, rle, index);
  }

  /** The index of the top mask at canvas pixel (x, y), -1 for none or outside. */
  atPixel(x: number, y: number): number {
    const { width, height } = this.frame;
    if (!(x >= 0 && y >= 0 && x < width && y < height)) return -1;
    return this.hits[y * width + x];
  }

  /** The index of the top mask under screen point (clientX, clientY) of a canvas shown at `rect`, -1 for none. */
  at(clientX: number, clientY: number, rect: ScreenRect): number {
    if (!(rect.width > 0 && rect.height > 0)) return -1;
    const x = Math.floor(((clientX - rect.left) * this.frame.width) / rect.width);
    const y = Math.floor(((clientY - rect.top) * this.frame.height) / rect.height);
    return this.atPixel(x, y);
  }
}
