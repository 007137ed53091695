/**
 * CMYK → RGB the way the reference script's decoder (OpenCV) does it: a plain ink formula, no colour profile.
 * Input samples are ink amounts (0 = no ink), as libvips hands them back (it undoes Adobe's inverted storage).
 */

/** Which of OpenCV's two code paths a CMYK image goes through. */
export type CmykRule = 'jpeg' | 'tiff';

/**
 * Interleaved CMYK (4 bytes per pixel) to interleaved RGB.
 * - 'jpeg': OpenCV's icvCvt_CMYK2BGR on Adobe-inverted samples s = 255 − ink: s_k − (((255 − s_c) · s_k) >> 8).
 * - 'tiff': libtiff's RGBA reader, which OpenCV uses for CMYK TIFF: ((255 − K) · (255 − C)) / 255, truncated.
 */
export function cmykToRgb(cmyk: Uint8Array, pixels: number, rule: CmykRule): Uint8Array {
  const out = new Uint8Array(pixels * 3);
  if (rule === 'jpeg') {
    for (let i = 0, p = 0, o = 0; i < pixels; i++, p += 4, o += 3) {
      const sk = 255 - cmyk[p + 3];
      out[o] = sk - ((cmyk[p] * sk) >> 8);
      out[o + 1] = sk - ((cmyk[p + 1] * sk) >> 8);
      out[o + 2] = sk - ((cmyk[p + 2] * sk) >> 8);
    }
  } else {
    for (let i = 0, p = 0, o = 0; i < pixels; i++, p += 4, o += 3) {
      const k = 255 - cmyk[p + 3];
      out[o] = ((k * (255 - cmyk[p])) / 255) | 0;
      out[o + 1] = ((k * (255 - cmyk[p + 1])) / 255) | 0;
      out[o + 2] = ((k * (255 - cmyk[p + 2])) / 255) | 0;
    }
  }
  return out;
}
