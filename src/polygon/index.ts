/**
 * Masks as polygons: exact tracing from COCO RLE, topology-preserving simplification, the COCO API's polygon
 * rasteriser, and serialisers for COCO polygon lists, YOLO segmentation lines and GeoJSON geometries. Browser-safe:
 * no Node built-ins. Rules (pinch points, holes, winding, vanished parts): docs/polygons.md.
 */
export type { MaskPolygons, Polygon, Ring } from './types.js';
export { maskToPolygons } from './mask-polygons.js';
export {
  simplifyPolygons,
  type SimplifiedPolygons,
  type SimplifyReport,
  type DroppedPolygon,
  type DroppedHole,
} from './simplify.js';
export { rleFromPolygon, rleFromPolygons } from './coco-raster.js';
export { rleUnion, rleDifference } from './rle-union.js';
export { cocoPolygonLists, hasHoles } from './coco-polygons.js';
export { joinSegments } from './join-segments.js';
export { yoloSegmentLine, YOLO_DECIMALS } from './yolo.js';
export { parseYoloSegments, YoloLabelError, type YoloSegment } from './yolo-read.js';
export { geoJsonGeometry, type GeoJsonPolygon, type GeoJsonMultiPolygon, type GeoJsonOptions } from './geojson.js';
export { applyGeoTransform, checkGeoTransform, type GeoTransform } from './geo-transform.js';
export { signedArea, pointInRing, ringBounds, vertexCount } from './ring-geometry.js';
