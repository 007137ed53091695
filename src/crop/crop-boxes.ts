/**
 * Crop pyramid geometry, exactly as the reference computes it (amg-reference.md, "Crop boxes").
 */
import type { BoxXYXY } from '../base/types.js';

/** The crop boxes of an image and the pyramid layer each belongs to (layer 0 is the whole image). */
export interface CropPlan {
  boxes: BoxXYXY[];
  layers: number[];
}

/**
 * Crop boxes for `nLayers` extra layers over a W×H image. Layer i has (2^(i+1))² crops that overlap by
 * `overlapRatio` of the short side; x0 is the outer loop and y0 the inner one, as in the reference.
 */
export function generateCropBoxes(width: number, height: number, nLayers: number, overlapRatio: number): CropPlan {
  const boxes: BoxXYXY[] = [[0, 0, width, height]];
  const layers = [0];
  const shortSide = Math.min(height, width);
  for (let i = 0; i < nLayers; i++) {
    const perSide = 2 ** (i + 1);
    const overlap = Math.trunc(overlapRatio * shortSide * (2 / perSide));
    const cropW = cropLength(width, perSide, overlap);
    const cropH = cropLength(height, perSide, overlap);
    for (let kx = 0; kx < perSide; kx++) {
      const x0 = Math.trunc((cropW - overlap) * kx);
      for (let ky = 0; ky < perSide; ky++) {
        const y0 = Math.trunc((cropH - overlap) * ky);
        boxes.push([x0, y0, Math.min(x0 + cropW, width), Math.min(y0 + cropH, height)]);
        layers.push(i + 1);
      }
    }
  }
  return { boxes, layers };
}

function cropLength(origLen: number, nCrops: number, overlap: number): number {
  return Math.ceil((overlap * (nCrops - 1) + origLen) / nCrops);
}

/** XYXY (exclusive max) to the XYWH written in records. */
export function cropBoxToXYWH(box: BoxXYXY): [number, number, number, number] {
  return [box[0], box[1], box[2] - box[0], box[3] - box[1]];
}

/**
 * True when a mask box (crop frame, max-inclusive) lies within `atol` px of a crop edge that is not also an image
 * edge. Mirrors the reference's is_box_near_crop_edge: each coordinate is compared with the matching crop-box and
 * image-box coordinate.
 */
export function isBoxNearCropEdge(
  box: BoxXYXY,
  cropBox: BoxXYXY,
  imageW: number,
  imageH: number,
  atol = 20,
): boolean {
  const imageBox = [0, 0, imageW, imageH];
  const shift = [cropBox[0], cropBox[1], cropBox[0], cropBox[1]];
  for (let k = 0; k < 4; k++) {
    const v = box[k] + shift[k];
    const nearCrop = Math.abs(v - cropBox[k]) <= atol;
    const nearImage = Math.abs(v - imageBox[k]) <= atol;
    if (nearCrop && !nearImage) return true;
  }
  return false;
}
