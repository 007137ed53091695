/**
 * The colours both pages draw with: each mask's own colour and fill opacity (the ones `--overlay` uses, from
 * src/output/mask-colour.ts), and the highlight of the hovered or pinned mask.
 */
import type { Rgb } from '../../src/draw/frame.js';

export { MASK_FILL_ALPHA, maskColour } from '../../src/output/mask-colour.js';

/** The highlight: a white wash at this opacity over the mask, under a black-and-white border. */
export const HIGHLIGHT_WASH_ALPHA = 110 / 255;
export const WHITE: Rgb = [255, 255, 255];
export const BLACK: Rgb = [0, 0, 0];

/** A colour as CSS (legend swatches). */
export function cssColour(c: Rgb): string {
  return `rgb(${c.join(',')})`;
}
