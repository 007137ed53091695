/**
 * The colour of each mask, shared by the PNG overlays and the HTML report (which runs in a browser, so this
 * module imports nothing).
 */

/** How opaque a mask's fill is over the photo, the same in overlays, the report and the AMG page. */
export const MASK_FILL_ALPHA = 0.45;

/**
 * The colour of mask `i` (its position in the record list): hues spaced by the golden angle (neighbouring
 * indices never look alike), fully saturated and bright, as 8-bit RGB.
 */
export function maskColour(i: number): [number, number, number] {
  const h = (((i * 0.6180339887498949 + 0.12) % 1) + 1) % 1;
  return hsvToRgb(h, 0.85, 1);
}

function hsvToRgb(h: number, s: number, v: number): [number, number, number] {
  const i = Math.floor(h * 6);
  const f = h * 6 - i;
  const p = v * (1 - s);
  const q = v * (1 - f * s);
  const t = v * (1 - (1 - f) * s);
  const [r, g, b] = [
    [v, t, p],
    [q, v, p],
    [p, v, t],
    [p, q, v],
    [t, p, v],
    [v, p, q],
  ][i % 6];
  return [Math.round(r * 255), Math.round(g * 255), Math.round(b * 255)];
}
