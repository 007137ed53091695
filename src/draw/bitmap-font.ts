/**
 * A 5×7 pixel font for the digits, drawn into a frame: mask labels need no system fonts, so the same result gives
 * the same PNG on every machine (and the same pixels in a browser).
 */
import { fillRect, type Frame, type Rgb } from './frame.js';

/** Glyph rows, top to bottom, '1' = ink. */
const GLYPHS: Readonly<Record<string, readonly string[]>> = {
  '0': ['01110', '10001', '10011', '10101', '11001', '10001', '01110'],
  '1': ['00100', '01100', '00100', '00100', '00100', '00100', '01110'],
  '2': ['01110', '10001', '00001', '00010', '00100', '01000', '11111'],
  '3': ['11111', '00010', '00100', '00010', '00001', '10001', '01110'],
  '4': ['00010', '00110', '01010', '10010', '11111', '00010', '00010'],
  '5': ['11111', '10000', '11110', '00001', '00001', '10001', '01110'],
  '6': ['00110', '01000', '10000', '11110', '10001', '10001', '01110'],
  '7': ['11111', '00001', '00010', '00100', '01000', '01000', '01000'],
  '8': ['01110', '10001', '10001', '01110', '10001', '10001', '01110'],
  '9': ['01110', '10001', '10001', '01111', '00001', '00010', '01100'],
};

/** Glyph size in font pixels, and the gap between glyphs. */
export const GLYPH_W = 5;
export const GLYPH_H = 7;
const GAP = 1;

/** Width in frame pixels of `text` at `scale` frame pixels per font pixel. */
export function textWidth(text: string, scale: number): number {
  return text.length === 0 ? 0 : (text.length * (GLYPH_W + GAP) - GAP) * scale;
}

/**
 * Draws `text` (digits only; throws on anything else) with its top-left corner at frame pixel (x, y), each font
 * pixel an opaque `scale`×`scale` square of colour `c`, clipped to the frame.
 */
export function drawText(frame: Frame, x: number, y: number, text: string, scale: number, c: Rgb): void {
  for (let k = 0; k < text.length; k++) {
    const glyph = GLYPHS[text[k]];
    if (glyph === undefined) throw new Error(`bitmap font: no glyph for ${JSON.stringify(text[k])}`);
    const gx = x + k * (GLYPH_W + GAP) * scale;
    for (let row = 0; row < GLYPH_H; row++) {
      for (let col = 0; col < GLYPH_W; col++) {
        if (glyph[row][col] === '1') fillRect(frame, gx + col * scale, y + row * scale, scale, scale, c);
      }
    }
  }
}
