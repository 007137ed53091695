/**
 * The hovered or pinned mask's highlight on its own canvas: a white wash over the mask and a black-and-white border
 * (a wide black line under a thin white one), drawn by the rasteriser into the mask's box only.
 */
import { placement, type Placement } from '../../src/draw/frame.js';
import { fillMask, outlineMask } from '../../src/draw/rasterise.js';
import { rleArea, rleBoxXYXY, type Rle } from '../../src/rle/rle.js';
import { BLACK, HIGHLIGHT_WASH_ALPHA, WHITE } from './colours.js';

/**
 * Draws the highlight of `rle` onto `ctx`, a canvas of geometry `frame` (the whole image at its scale); `lw` is the
 * white line's width in canvas pixels.
 */
export function drawHighlight(ctx: CanvasRenderingContext2D, frame: Placement, rle: Rle, lw: number): void {
  const { width: W, height: H, scale: s } = placement(frame);
  if (rleArea(rle) === 0) return;
  const [bx0, by0, bx1, by1] = rleBoxXYXY(rle);
  // The mask's box in canvas pixels, grown by the black line's reach outside it.
  const pad = 2 * lw;
  const fx0 = Math.max(0, Math.floor(bx0 / s) - pad);
  const fy0 = Math.max(0, Math.floor(by0 / s) - pad);
  const fx1 = Math.min(W, Math.floor(bx1 / s) + 1 + pad);
  const fy1 = Math.min(H, Math.floor(by1 / s) + 1 + pad);
  if (fx1 <= fx0 || fy1 <= fy0) return;
  const image = ctx.createImageData(fx1 - fx0, fy1 - fy0);
  const window = { data: image.data, width: image.width, height: image.height, x0: fx0 * s, y0: fy0 * s, scale: s };
  fillMask(window, rle, WHITE, HIGHLIGHT_WASH_ALPHA);
  outlineMask(window, rle, BLACK, 3 * lw);
  outlineMask(window, rle, WHITE, lw);
  ctx.putImageData(image, fx0, fy0);
}
