/**
 * The pictures of a report: a display copy of each photo and a thumbnail with its masks, both JPEG, both made from
 * the image exactly as the run decoded it (EXIF orientation applied), so they line up with the masks.
 */
import sharp, { type Sharp } from 'sharp';
import type { MaskRecord, RgbImage } from '../base/types.js';
import { renderOverlay } from '../output/overlay.js';

/** The display copy's longest side at most (the page stretches it back over the full-resolution mask grid). */
export const DISPLAY_MAX_SIDE = 2048;
/** The thumbnail's longest side at most. */
export const THUMB_MAX_SIDE = 256;
/** What a thumbnail shows where there is no photo. */
const BLANK = 40;

/** The display copy: the photo downscaled to fit DISPLAY_MAX_SIDE (never enlarged). */
export async function displayJpeg(image: RgbImage, maxSide = DISPLAY_MAX_SIDE): Promise<{ data: Buffer; width: number; height: number }> {
  const out = await fromRgb(image)
    .resize({ width: maxSide, height: maxSide, fit: 'inside', withoutEnlargement: true })
    .jpeg({ quality: 85, chromaSubsampling: '4:2:0' })
    .toBuffer({ resolveWithObject: true });
  return { data: out.data, width: out.info.width, height: out.info.height };
}

/** The thumbnail: masks filled as `--overlay` fills them (same colours) over the photo, or over grey without one. */
export async function thumbnailJpeg(image: RgbImage | null, width: number, height: number, records: MaskRecord[]): Promise<Buffer> {
  const base = image ?? { width, height, data: new Uint8Array(width * height * 3).fill(BLANK) };
  const rgb = renderOverlay(base, records, { fill: true, outline: false, box: false, points: false, alpha: 0.5 });
  return fromRgb({ width, height, data: rgb })
    .resize({ width: THUMB_MAX_SIDE, height: THUMB_MAX_SIDE, fit: 'inside', withoutEnlargement: true })
    .jpeg({ quality: 80, chromaSubsampling: '4:2:0' })
    .toBuffer();
}

function fromRgb(image: RgbImage): Sharp {
  const { data, width, height } = image;
  return sharp(Buffer.from(data.buffer, data.byteOffset, data.byteLength), { raw: { width, height, channels: 3 } });
}
