/**
 * The layout of the reference `scripts/amg.py` (`--format amg-png --out DIR`): per image a folder named after the
 * image (its relative path without the extension, as sa1b names its files), holding one PNG per mask and a
 * metadata.csv, exactly as the script's `write_masks_to_folder` writes them:
 *
 *   - `<i>.png` for record i (0-based, record order): single-channel 8-bit, 0 outside the mask and 255 inside
 *     (the script's `cv2.imwrite(path, mask * 255)`);
 *   - `metadata.csv`: the header below, then one row per record, `str()` of each value joined by commas — ints for
 *     the id, area, bbox and crop box, Python floats for the point and the two scores (`28.0`, `0.9599999785423279`,
 *     `1e-05`) — rows joined with "\n" and no newline after the last one.
 *
 * A box-prompted run (`sam-amg segment`) writes the same folder with {@link PROMPTED_PNG_HEADER}'s columns: the
 * detection's category, prompt box (Python floats), id and score (empty when the detection has none) in place of the
 * prompt point and crop box.
 *
 * Writing a folder: every mask PNG atomically, then metadata.csv atomically, last, so a folder with a metadata.csv
 * is complete; PNGs numbered beyond the record count (left by an earlier run of the same output) are removed
 * after that. A crash halfway leaves an image that is not journaled yet, and a resumed run rewrites its folder.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import type { MaskRecord } from '../base/types.js';
import type { PromptedRecord } from '../prompt/box-segmenter.js';
import { decodeToRowMajor, type Rle } from '../rle/rle.js';
import { writeFileAtomic } from '../fs/atomic.js';
import { checkMaskSize, type ImageResult } from './coco.js';
import { describeFsError } from '../fs/errno.js';
import { pythonFloatRepr, pythonIntStr } from './python-number.js';
import { finite, isPromptedRecord } from './records.js';
import { sa1bPathFor } from './sa1b.js';

/** The reference's metadata.csv header. */
export const AMG_PNG_HEADER =
  'id,area,bbox_x0,bbox_y0,bbox_w,bbox_h,point_input_x,point_input_y,predicted_iou,stability_score,crop_box_x0,crop_box_y0,crop_box_w,crop_box_h';

/** The metadata.csv header of a box-prompted run's folders. */
export const PROMPTED_PNG_HEADER =
  'id,area,bbox_x0,bbox_y0,bbox_w,bbox_h,predicted_iou,stability_score,category_id,prompt_box_x0,prompt_box_y0,prompt_box_w,prompt_box_h,detection_id,score';

/** The file in each image folder that is written last: its presence means the folder is complete. */
export const AMG_PNG_METADATA = 'metadata.csv';

/** Python's `str` of an int and of a float for a row's fields; errors name `where` and the field. */
function csvNumbers(where: string): { int: (n: number, field: string) => string; float: (n: number, field: string) => string } {
  return {
    int: (n, field) => pythonIntStr(n, `${where}.${field}`),
    float: (n, field) => pythonFloatRepr(finite(n, `${where}.${field}`)),
  };
}

/** One metadata.csv row for record `i`, as the reference's `",".join(str(x) for …)` writes it. */
export function amgPngRow(record: MaskRecord, i: number, where = `record ${i}`): string {
  const { int, float } = csvNumbers(where);
  return [
    int(i, 'id'),
    int(record.area, 'area'),
    ...record.bbox.map((v) => int(v, 'bbox')),
    float(record.pointCoords[0], 'point_coords'),
    float(record.pointCoords[1], 'point_coords'),
    float(record.predictedIou, 'predicted_iou'),
    float(record.stabilityScore, 'stability_score'),
    ...record.cropBox.map((v) => int(v, 'crop_box')),
  ].join(',');
}

/** One metadata.csv row of a box-prompted record `i`, in the same Python forms (the score empty when there is none). */
export function promptedPngRow(record: PromptedRecord, i: number, where = `record ${i}`): string {
  const { int, float } = csvNumbers(where);
  return [
    int(i, 'id'),
    int(record.area, 'area'),
    ...record.bbox.map((v) => int(v, 'bbox')),
    float(record.predictedIou, 'predicted_iou'),
    float(record.stabilityScore, 'stability_score'),
    int(record.categoryId, 'category_id'),
    ...record.promptBox.map((v) => float(v, 'prompt_box')),
    int(record.detectionId, 'detection_id'),
    record.score === undefined ? '' : float(record.score, 'score'),
  ].join(',');
}

/**
 * The whole metadata.csv of one image: header and rows joined by "\n", no final newline (as the reference). The
 * image of a box-prompted run (its result has an `imageId`) gets the prompted columns, even without records.
 */
export function amgPngCsv(result: ImageResult): string {
  const prompted = result.imageId !== undefined;
  const rows = result.records.map((r, i) => {
    const where = `${result.relPath}: record ${i}`;
    if (isPromptedRecord(r) !== prompted) throw new Error(`${where}: ${prompted ? 'an automatic' : 'a box-prompted'} record in ${prompted ? 'a box-prompted' : 'an automatic'} image`);
    return isPromptedRecord(r) ? promptedPngRow(r, i, where) : amgPngRow(r, i, where);
  });
  return [prompted ? PROMPTED_PNG_HEADER : AMG_PNG_HEADER, ...rows].join('\n');
}

/**
 * A mask as a single-channel 8-bit PNG, 0 outside and 255 inside; fixed encoder settings, so fixed bytes. The grey
 * pixels are written into `scratch` (its first h*w bytes) when given, so a folder of masks uses one buffer.
 */
export async function maskPng(rle: Rle, scratch?: Uint8Array): Promise<Buffer> {
  // decodeToRowMajor checks the size and that the runs cover h*w; its 0/1 bytes become 0/255 in place (no second
  // buffer per mask; the caller awaits each PNG before reusing scratch).
  const n = rle.h * rle.w;
  const grey = decodeToRowMajor(rle, scratch).subarray(0, n);
  for (let i = 0; i < n; i++) grey[i] *= 255;
  return sharp(grey, { raw: { width: rle.w, height: rle.h, channels: 1 } })
    .toColourspace('b-w')
    .png({ compressionLevel: 6, adaptiveFiltering: false, palette: false })
    .toBuffer();
}

/**
 * `outDir/<relPath without its extension>/`; refuses names that would leave outDir, as sa1bPathFor does.
 */
export function amgPngFolderFor(outDir: string, relPath: string): string {
  return sa1bPathFor(outDir, relPath).slice(0, -'.json'.length);
}

/** Writes one image's folder (see the module comment). Throws an Error naming the file and the reason. */
export async function writeAmgPngFolder(folder: string, result: ImageResult): Promise<void> {
  result.records.forEach((r, i) => checkMaskSize(r, result, `${result.relPath}: record ${i}`));
  const csv = amgPngCsv(result);
  try {
    await fsp.mkdir(folder, { recursive: true });
  } catch (err) {
    throw new Error(`cannot create ${folder}: ${describeFsError(err)}`, { cause: err });
  }
  const scratch = new Uint8Array(result.width * result.height);
  for (const [i, r] of result.records.entries()) {
    await writeFileAtomic(path.join(folder, `${i}.png`), await maskPng(r.segmentation, scratch));
  }
  await writeFileAtomic(path.join(folder, AMG_PNG_METADATA), csv);
  await removeStaleMasks(folder, result.records.length);
}

/** Removes `<k>.png` files with k ≥ count (an earlier run of this output found more masks); nothing else. */
async function removeStaleMasks(folder: string, count: number): Promise<void> {
  let names: string[];
  try {
    names = await fsp.readdir(folder);
  } catch (err) {
    throw new Error(`cannot list ${folder}: ${describeFsError(err)}`, { cause: err });
  }
  for (const name of names) {
    const m = /^(0|[1-9]\d*)\.png$/u.exec(name);
    if (m === null || Number(m[1]) < count) continue;
    const file = path.join(folder, name);
    try {
      if ((await fsp.lstat(file)).isFile()) await fsp.rm(file);
    } catch (err) {
      throw new Error(`cannot remove the stale mask ${file}: ${describeFsError(err)}`, { cause: err });
    }
  }
}
