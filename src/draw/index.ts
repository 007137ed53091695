/** The mask rasteriser (browser-safe): frames, the drawing of masks into them, and the digit font for labels. */
export * from './frame.js';
export * from './rasterise.js';
export { drawText, GLYPH_H, GLYPH_W, textWidth } from './bitmap-font.js';
