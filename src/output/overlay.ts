/**
 * Overlays (`--overlay DIR`): one PNG per image showing its masks over the photo, the way SAM's notebooks show
 * automatic masks — every mask filled with its own colour at partial opacity, largest first so that small masks
 * stay visible on top — with optional outlines, bounding boxes, prompt points and id labels (`--overlay-style`).
 *
 * The drawing is the mask rasteriser's (src/draw), the one the HTML report and the AMG page draw with.
 *
 * Deterministic: a mask's colour depends only on its position in the record list, blending is integer
 * arithmetic, labels use a built-in bitmap font, and sharp's PNG encoder is given fixed settings, so the same
 * result gives the same bytes.
 */
import sharp from 'sharp';
import type { RgbImage } from '../base/types.js';
import { rgbaToRgb, rgbToRgba } from '../draw/frame.js';
import { drawMasks, labelScale, lineWidth, MAX_LINE_WIDTH, type DrawMask } from '../draw/rasterise.js';
import { MASK_FILL_ALPHA, maskColour } from './mask-colour.js';
import { isPromptedRecord, type OutputRecord } from './records.js';
import { sa1bPathFor } from './sa1b.js';

export { maskColour } from './mask-colour.js';

/** What an overlay draws. */
export interface OverlayStyle {
  fill: boolean;
  outline: boolean;
  box: boolean;
  points: boolean;
  /** Opacity of the fill, 0..1. */
  alpha: number;
  /** Each mask's id at its prompt point (default off). */
  labels?: boolean;
  /** Line width in pixels of outlines, boxes and points, and the label font's pixel size (default: from the image size). */
  width?: number;
}

/** `fill,outline` at 45 % opacity. */
export const DEFAULT_OVERLAY_STYLE: Readonly<OverlayStyle> = { fill: true, outline: true, box: false, points: false, alpha: MASK_FILL_ALPHA };

const STYLE_WORDS = ['fill', 'outline', 'box', 'points', 'labels'] as const;

/** The largest `width=N`. */
const MAX_WIDTH = MAX_LINE_WIDTH;

/**
 * Parses `--overlay-style`: a comma-separated list of `fill`, `outline`, `box`, `points`, `labels`, `alpha=X`
 * (0 < X ≤ 1) and `width=N` (integer pixels, 1..64). The words given replace the default set; `alpha=` and
 * `width=` alone keep it. Throws with the offending token.
 */
export function parseOverlayStyle(text: string): OverlayStyle {
  const tokens = text.split(',').map((t) => t.trim()).filter((t) => t !== '');
  if (tokens.length === 0) throw new Error('--overlay-style: empty; use e.g. fill,outline,box,points,labels,alpha=0.5,width=2');
  let alpha = DEFAULT_OVERLAY_STYLE.alpha;
  let width: number | undefined;
  const words = new Set<string>();
  for (const t of tokens) {
    const m = /^alpha=(.+)$/u.exec(t);
    const w = /^width=(.+)$/u.exec(t);
    if (m) {
      const a = Number(m[1]);
      if (!(a > 0 && a <= 1)) throw new Error(`--overlay-style: alpha must be in (0, 1], got '${m[1]}'`);
      alpha = a;
    } else if (w) {
      const n = Number(w[1]);
      if (!(Number.isInteger(n) && n >= 1 && n <= MAX_WIDTH)) throw new Error(`--overlay-style: width must be an integer in 1..${MAX_WIDTH}, got '${w[1]}'`);
      width = n;
    } else if ((STYLE_WORDS as readonly string[]).includes(t)) {
      words.add(t);
    } else {
      throw new Error(`--overlay-style: unknown item '${t}' (expected ${STYLE_WORDS.join(', ')}, alpha=X or width=N)`);
    }
  }
  const style: OverlayStyle =
    words.size === 0
      ? { ...DEFAULT_OVERLAY_STYLE, alpha }
      : { fill: words.has('fill'), outline: words.has('outline'), box: words.has('box'), points: words.has('points'), alpha };
  // Optional keys only when asked for, so that styles compare equal to the plain ones otherwise.
  if (words.has('labels')) style.labels = true;
  if (width !== undefined) style.width = width;
  return style;
}

/** `DIR/<relPath without its extension>.png`; refuses names that would leave DIR, as sa1bPathFor does. */
export function overlayPathFor(dir: string, relPath: string): string {
  return `${sa1bPathFor(dir, relPath).slice(0, -'.json'.length)}.png`;
}

/**
 * Draws the overlay into a copy of the image's RGB bytes and returns it (row-major, 3 bytes per pixel).
 * Labels show `firstId + i` for record `i` (1: the ids of sa1b and jsonl files; 0: the `<i>.png` names of
 * amg-png). A box-prompted record's point (where `points` and `labels` go) is its prompt box's centre. Throws when a
 * mask's size is not the image's.
 */
export function renderOverlay(image: RgbImage, records: readonly OutputRecord[], style: OverlayStyle = DEFAULT_OVERLAY_STYLE, firstId = 1): Uint8Array {
  const { width: W, height: H } = image;
  const masks: DrawMask[] = records.map((r, i) => {
    if (r.segmentation.h !== H || r.segmentation.w !== W) {
      throw new Error(`overlay: mask ${i} is ${r.segmentation.w}x${r.segmentation.h} but the image is ${W}x${H}`);
    }
    const point = isPromptedRecord(r) ? [r.promptBox[0] + r.promptBox[2] / 2, r.promptBox[1] + r.promptBox[3] / 2] : r.pointCoords;
    return { rle: r.segmentation, area: r.area, bbox: r.bbox, colour: maskColour(i), point, label: String(firstId + i) };
  });
  const frame = { data: rgbToRgba(image.data, W, H), width: W, height: H };
  drawMasks(frame, masks, {
    fill: style.fill,
    outline: style.outline,
    box: style.box,
    points: style.points,
    labels: style.labels === true,
    alpha: style.alpha,
    // width=N sets the lines and the labels' font pixel alike.
    lineWidth: style.width ?? lineWidth(W, H),
    labelScale: style.width ?? labelScale(W, H),
  });
  return rgbaToRgb(frame.data, W, H);
}

/** The overlay as PNG bytes (see {@link renderOverlay} for `firstId`). */
export async function overlayPng(image: RgbImage, records: readonly OutputRecord[], style: OverlayStyle = DEFAULT_OVERLAY_STYLE, firstId = 1): Promise<Buffer> {
  const rgb = renderOverlay(image, records, style, firstId);
  return sharp(Buffer.from(rgb.buffer, rgb.byteOffset, rgb.byteLength), {
    raw: { width: image.width, height: image.height, channels: 3 },
  })
    .png({ compressionLevel: 6, adaptiveFiltering: false, palette: false })
    .toBuffer();
}
