/**
 * Test-side helpers for the synthetic scenes: a simple (nearest-neighbour) model preprocessing, ground truth
 * at the 256×256 low-resolution grid, interior points and IoU.
 */
import type { RenderedScene, ShapeSpec } from '../../fixtures/scenes.js';

const MEAN = [0.485, 0.456, 0.406];
const STD = [0.229, 0.224, 0.225];

/** Where the image lies in the 1024×1024 model frame. */
export interface ModelFrame {
  /** Resized size (the rest of the frame is padding). */
  newW: number;
  newH: number;
  /** Normalised pixels [3, 1024, 1024]. */
  pixels: Float32Array;
}

/**
 * Nearest-neighbour resize (`longest`: longest edge 1024 + zero padding, as SAM 1; `square`: stretch, as SAM 2),
 * rescale and ImageNet normalisation. Enough for fixture smoke tests, not the exact production resize.
 */
export function preprocessNearest(scene: RenderedScene, mode: 'longest' | 'square'): ModelFrame {
  const { width: w, height: h, rgb } = scene;
  const s = 1024 / Math.max(w, h);
  const [newW, newH] = mode === 'square' ? [1024, 1024] : [Math.trunc(w * s + 0.5), Math.trunc(h * s + 0.5)];
  const pixels = new Float32Array(3 * 1024 * 1024);
  for (let y = 0; y < newH; y++) {
    const sy = Math.min(h - 1, Math.floor(((y + 0.5) * h) / newH));
    for (let x = 0; x < newW; x++) {
      const sx = Math.min(w - 1, Math.floor(((x + 0.5) * w) / newW));
      for (let c = 0; c < 3; c++) {
        pixels[c * 1024 * 1024 + y * 1024 + x] = (rgb[(sy * w + sx) * 3 + c] / 255 - MEAN[c]) / STD[c];
      }
    }
  }
  return { newW, newH, pixels };
}

/** A shape's truth sampled at the centres of the 256×256 cells of the 1024 frame (0 in the padding). */
export function truthAt256(mask: Uint8Array, scene: RenderedScene, frame: ModelFrame): Uint8Array {
  const out = new Uint8Array(256 * 256);
  for (let i = 0; i < 256; i++) {
    for (let j = 0; j < 256; j++) {
      const [fx, fy] = [4 * j + 2, 4 * i + 2];
      if (fx >= frame.newW || fy >= frame.newH) continue;
      const x = Math.floor((fx * scene.width) / frame.newW);
      const y = Math.floor((fy * scene.height) / frame.newH);
      out[i * 256 + j] = mask[y * scene.width + x];
    }
  }
  return out;
}

/** A point well inside a (convex) shape: its centre, or a triangle's centroid. */
export function interiorPoint(shape: ShapeSpec): [number, number] {
  switch (shape.kind) {
    case 'rect':
      return [shape.x + shape.w / 2, shape.y + shape.h / 2];
    case 'ellipse':
      return [shape.cx, shape.cy];
    case 'triangle': {
      const [a, b, c] = shape.points;
      return [(a[0] + b[0] + c[0]) / 3, (a[1] + b[1] + c[1]) / 3];
    }
  }
}

/** IoU of two binary masks given as predicates over the same index range. */
export function iou(n: number, a: (i: number) => boolean, b: (i: number) => boolean): number {
  let inter = 0;
  let union = 0;
  for (let i = 0; i < n; i++) {
    const [x, y] = [a(i), b(i)];
    if (x && y) inter++;
    if (x || y) union++;
  }
  return union === 0 ? 0 : inter / union;
}
