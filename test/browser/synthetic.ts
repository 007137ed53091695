/**
 * Synthetic outputs for the report tests: masks of known shape and known scores, written through the project's
 * own COCO / SA-1B / JSONL writers, with matching photos, so a test knows which mask is under which pixel.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { rgbPng } from '../helpers/png.js';
import type { MaskRecord } from '../../src/base/types.js';
import { cocoChunks, cocoDocument, type ImageResult } from '../../src/output/coco.js';
import { jsonlLine } from '../../src/output/jsonl.js';
import { sa1bDocument, sa1bPathFor, serializeSa1b } from '../../src/output/sa1b.js';
import { encodeRowMajor, rleArea, rleBoxXYXY } from '../../src/rle/rle.js';

/** A mask shape in pixel coordinates: a rectangle [x0, x1) × [y0, y1) or an ellipse. */
export type Shape = { rect: [number, number, number, number] } | { ellipse: [number, number, number, number] };

/** One synthetic mask. */
export interface SynthMask {
  shape: Shape;
  iou: number;
  stability: number;
}

/** One synthetic image. */
export interface SynthImage {
  name: string;
  width: number;
  height: number;
  masks: SynthMask[];
}

/** Whether pixel (x, y) is inside the shape. */
export function inside(shape: Shape, x: number, y: number): boolean {
  if ('rect' in shape) {
    const [x0, y0, x1, y1] = shape.rect;
    return x >= x0 && x < x1 && y >= y0 && y < y1;
  }
  const [cx, cy, rx, ry] = shape.ellipse;
  const dx = (x + 0.5 - cx) / rx;
  const dy = (y + 0.5 - cy) / ry;
  return dx * dx + dy * dy <= 1;
}

/** The image's result as the generator would produce it (area and box from the mask, point at the shape's centre). */
export function synthResult(im: SynthImage): ImageResult {
  const records: MaskRecord[] = im.masks.map((m) => {
    const bits = new Uint8Array(im.width * im.height);
    for (let y = 0; y < im.height; y++) for (let x = 0; x < im.width; x++) if (inside(m.shape, x, y)) bits[y * im.width + x] = 1;
    const rle = encodeRowMajor(bits, im.height, im.width);
    const [x0, y0, x1, y1] = rleBoxXYXY(rle);
    const centre: [number, number] = 'rect' in m.shape ? [(m.shape.rect[0] + m.shape.rect[2]) / 2, (m.shape.rect[1] + m.shape.rect[3]) / 2] : [m.shape.ellipse[0], m.shape.ellipse[1]];
    return {
      segmentation: rle,
      area: rleArea(rle),
      bbox: [x0, y0, x1 - x0, y1 - y0],
      predictedIou: m.iou,
      stabilityScore: m.stability,
      pointCoords: centre,
      cropBox: [0, 0, im.width, im.height],
    };
  });
  return { relPath: im.name, width: im.width, height: im.height, records };
}

const INFO = { version: '0.1.0', date: null, model: 'synthetic', modelSha256: '0'.repeat(64), options: {} };

/** Writes the images' output as COCO (file), SA-1B (folder) or JSONL (file); returns its path. */
export async function writeOutput(images: SynthImage[], format: 'coco' | 'sa1b' | 'jsonl', out: string): Promise<string> {
  const results = images.map(synthResult);
  if (format === 'coco') {
    await fsp.writeFile(out, [...cocoChunks(cocoDocument(results, INFO))].join(''));
  } else if (format === 'jsonl') {
    await fsp.writeFile(out, results.map(jsonlLine).join(''));
  } else {
    for (const [i, r] of results.entries()) {
      const file = sa1bPathFor(out, r.relPath);
      await fsp.mkdir(path.dirname(file), { recursive: true });
      await fsp.writeFile(file, serializeSa1b(sa1bDocument(r, i + 1)));
    }
  }
  return out;
}

/** A solid-colour PNG with a lighter square in the middle (8-bit RGB, written with zlib: fast for thousands). */
export function photoPng(w: number, h: number, seed: number): Buffer {
  const bg = [60 + ((seed * 53) % 120), 70 + ((seed * 29) % 100), 90 + ((seed * 17) % 110)];
  const rows = Buffer.alloc(h * (1 + 3 * w));
  for (let y = 0; y < h; y++) {
    const o = y * (1 + 3 * w);
    for (let x = 0; x < w; x++) {
      const light = x > w / 4 && x < (3 * w) / 4 && y > h / 4 && y < (3 * h) / 4 ? 60 : 0;
      rows[o + 1 + 3 * x] = Math.min(255, bg[0] + light);
      rows[o + 2 + 3 * x] = Math.min(255, bg[1] + light);
      rows[o + 3 + 3 * x] = Math.min(255, bg[2] + light);
    }
  }
  return rgbPng(w, h, rows);
}

/** Writes a photo for every image under `root` (folders as in the names). */
export async function writePhotos(images: SynthImage[], root: string): Promise<void> {
  for (const [i, im] of images.entries()) {
    const file = path.join(root, im.name);
    await fsp.mkdir(path.dirname(file), { recursive: true });
    await fsp.writeFile(file, photoPng(im.width, im.height, i));
  }
}

/**
 * Three images with masks chosen for the browser tests. In `scene-a.png` (160×120):
 *   id 1  rect 40..150 × 10..110  IoU 0.95  stability 0.97   the large one
 *   id 2  rect 10..50 × 20..50    IoU 0.80  stability 0.99   low IoU; (20, 30) is inside it only
 *   id 3  ellipse (100, 60) 25×20 IoU 0.92  stability 0.90   low stability
 *   id 4  rect 60..80 × 85..105   IoU 0.99  stability 0.98   small
 */
export const SCENES: SynthImage[] = [
  {
    name: 'scene-a.png',
    width: 160,
    height: 120,
    masks: [
      { shape: { rect: [40, 10, 150, 110] }, iou: 0.95, stability: 0.97 },
      { shape: { rect: [10, 20, 50, 50] }, iou: 0.8, stability: 0.99 },
      { shape: { ellipse: [100, 60, 25, 20] }, iou: 0.92, stability: 0.9 },
      { shape: { rect: [60, 85, 80, 105] }, iou: 0.99, stability: 0.98 },
    ],
  },
  {
    name: 'scene-b.png',
    width: 120,
    height: 90,
    masks: [
      { shape: { rect: [5, 5, 60, 45] }, iou: 0.9, stability: 0.96 },
      { shape: { ellipse: [80, 60, 20, 15] }, iou: 0.97, stability: 0.99 },
    ],
  },
  {
    name: 'sub/scene-c.png',
    width: 100,
    height: 100,
    masks: [{ shape: { ellipse: [50, 50, 30, 30] }, iou: 0.93, stability: 0.95 }],
  },
];

/** SCENES as another run would see them: scene-a loses its mask 2 (missed) and gains one (extra). */
export function scenesB(): SynthImage[] {
  const [a, ...rest] = SCENES;
  return [
    { ...a, masks: [a.masks[0], a.masks[2], a.masks[3], { shape: { rect: [120, 112, 156, 119] }, iou: 0.91, stability: 0.96 }] },
    ...rest,
  ];
}

/** `n` small images named img-00000.png… with three masks each (the 10,000-image test). */
export function manyImages(n: number, w = 32, h = 24): SynthImage[] {
  return Array.from({ length: n }, (_, i) => ({
    name: `img-${String(i).padStart(5, '0')}.png`,
    width: w,
    height: h,
    masks: [
      { shape: { rect: [0, 0, w, h] } as Shape, iou: 0.88 + (i % 10) / 100, stability: 0.95 },
      { shape: { rect: [2 + (i % 5), 2, 14 + (i % 5), 12] } as Shape, iou: 0.9, stability: 0.97 },
      { shape: { ellipse: [22, 16, 6, 5] } as Shape, iou: 0.93, stability: 0.98 },
    ],
  }));
}
