/**
 * One image on the screen: the photo (an element the page makes), a canvas with the masks drawn by the rasteriser
 * (src/draw) and a canvas for the highlight, stacked in a frame sized to the image; and the hit map that says which
 * mask is under the pointer. The AMG page shows one, the report one per output.
 */
import type { DrawMask, DrawStyle } from '../../src/draw/rasterise.js';
import { drawMasks, lineWidth } from '../../src/draw/rasterise.js';
import type { Rle } from '../../src/rle/rle.js';
import { el } from './dom.js';
import { drawHighlight } from './highlight.js';
import { HitMap } from './hits.js';
import { fitFrame, planFrame, type FramePlan } from './sizing.js';

/** The frame of one image. */
export class MaskFrame {
  readonly root: HTMLDivElement;
  readonly masks: HTMLCanvasElement;
  readonly hl: HTMLCanvasElement;
  private plan: FramePlan = planFrame(0, 0);
  private readonly hits = new HitMap();

  /**
   * `photo` goes under the masks; `reservePx` is the height of the page's bars above the frame; `ids` gives the
   * elements the ids frame, masks and hl (for a page that shows one frame).
   */
  constructor(
    photo: HTMLElement,
    private readonly reservePx: number,
    ids = false,
  ) {
    this.masks = el('canvas', { class: 'masks', id: ids ? 'masks' : undefined });
    this.hl = el('canvas', { class: 'hl', id: ids ? 'hl' : undefined });
    this.root = el('div', { class: 'frame', id: ids ? 'frame' : undefined }, photo, this.masks, this.hl);
  }

  /** The canvases' geometry: the image's size and the scale the masks are drawn at. */
  get geometry(): FramePlan {
    return this.plan;
  }

  /** Sizes the frame and its canvases for a W×H image (clearing them) and empties the hit map. */
  setImage(imageWidth: number, imageHeight: number): void {
    this.plan = planFrame(imageWidth, imageHeight);
    for (const c of [this.masks, this.hl]) {
      c.width = this.plan.width;
      c.height = this.plan.height;
    }
    fitFrame(this.root, imageWidth, imageHeight, this.reservePx);
    this.hits.reset(this.plan);
  }

  /** Lines about one screen pixel wide at the size the frame is shown. */
  lineWidth(): number {
    return lineWidth(this.plan.width, this.plan.height, this.root.clientWidth);
  }

  /**
   * Draws `masks` in `order` (the visible ones, in draw order) with `style`, replacing what the canvas showed, and
   * makes them the ones the pointer finds.
   */
  draw(masks: readonly DrawMask[], order: readonly number[], style: DrawStyle): void {
    const { width, height } = this.plan;
    this.hits.clear();
    for (const i of order) this.hits.mark(masks[i].rle, i);
    if (width === 0 || height === 0) return;
    const image = new ImageData(width, height);
    drawMasks({ ...this.plan, data: image.data }, masks, { ...style, lineWidth: style.lineWidth ?? this.lineWidth() }, order);
    context(this.masks).putImageData(image, 0, 0);
  }

  /** The index of the top mask under the pointer, -1 for none. */
  maskAt(e: MouseEvent): number {
    return this.hits.at(e.clientX, e.clientY, this.hl.getBoundingClientRect());
  }

  /** Highlights these masks (none: clears the highlight). */
  highlight(rles: readonly Rle[]): void {
    const ctx = context(this.hl);
    ctx.clearRect(0, 0, this.plan.width, this.plan.height);
    const lw = this.lineWidth();
    for (const rle of rles) drawHighlight(ctx, this.plan, rle, lw);
  }
}

function context(c: HTMLCanvasElement): CanvasRenderingContext2D {
  const ctx = c.getContext('2d');
  if (ctx === null) throw new Error('no 2D canvas');
  return ctx;
}
