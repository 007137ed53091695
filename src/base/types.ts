/**
 * The ground floor: data shared by every room of the pipeline (images, boxes, masks as RLE, records, logit
 * geometry). Everything may import from here; this file imports nothing. Masks are always RLE outside one
 * post-processing pass.
 */

/**
 * In-memory COCO RLE: column-major run lengths, starting with a run of zeros (may be 0). The codec and the run
 * arithmetic are src/rle/rle.ts, which re-exports this type.
 */
export interface Rle {
  h: number;
  w: number;
  counts: Uint32Array;
}

/** An image as decoded: 8-bit RGB, row-major, 3 bytes per pixel, EXIF orientation applied. */
export interface RgbImage {
  data: Uint8Array;
  width: number;
  height: number;
}

/** [x0, y0, x1, y1]; for crop boxes x1/y1 are exclusive, for mask boxes max-inclusive (the reference's convention). */
export type BoxXYXY = [number, number, number, number];
/** [x, y, w, h] as written in records. */
export type BoxXYWH = [number, number, number, number];

/** One output mask, in the image frame, in the reference's record layout. */
export interface MaskRecord {
  segmentation: Rle;
  area: number;
  /** XYWH with w = max x − min x (no +1), as the reference writes it. */
  bbox: BoxXYWH;
  predictedIou: number;
  /** The prompt that produced the mask, in image pixels. */
  pointCoords: [number, number];
  stabilityScore: number;
  cropBox: BoxXYWH;
}

/** How the decoder's low-resolution logits map onto the crop. */
export interface LogitGeometry {
  /** Side of the square low-resolution logits (256). */
  lowRes: number;
  /** Side of the padded square frame the logits cover (1024), or null when they map straight onto the crop. */
  frame: number | null;
  /** Valid (unpadded) part of the frame; equal to `frame` for unpadded models. */
  validW: number;
  validH: number;
}

/**
 * Where a georeferenced image (a GeoTIFF) lies on the map, as the output keeps it per image (`geo`): the map
 * coordinates of pixel corner (col, row) of the displayed image are x = a·col + b·row + c, y = d·col + e·row + f
 * with transform [a, b, c, d, e, f] (the order of Python's `affine` / rasterio; GDAL's GeoTransform is
 * [c, a, b, f, d, e]). (0, 0) is the top-left corner of the top-left pixel.
 */
export interface GeoReference {
  /** "EPSG:<code>", or null when the file names no EPSG code (a user-defined CRS). */
  crs: string | null;
  transform: [number, number, number, number, number, number];
}
