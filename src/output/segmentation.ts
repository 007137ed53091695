/**
 * How a record's mask is written: the one per-record step between a MaskRecord and its `segmentation` (COCO RLE, the
 * default, or COCO polygon lists), and the traced, simplified polygons that the YOLO and GeoJSON writers draw from.
 * It looks at the mask only, never at the record's other fields, so records with extra fields (box prompts) are
 * encoded the same way. What simplification removed is tallied, each mask once per writer (known by its RLE
 * object), so that the run can say what it wrote (docs/polygons.md). Browser-safe.
 */
import type { MaskRecord, Rle } from '../base/types.js';
import { cocoPolygonLists, hasHoles, maskToPolygons, simplifyPolygons, type SimplifiedPolygons } from '../polygon/index.js';
import { toCoco, type CocoRle } from '../rle/rle.js';
import { count, plural } from './text.js';

/** A record's `segmentation` as written: compressed RLE, or COCO polygon lists (one flat [x1, y1, …] per polygon). */
export type Segmentation = CocoRle | number[][];

/** `--polygon-holes`: COCO polygons cannot hold holes; `fill` writes the outer rings, `rle` keeps RLE for masks with holes. */
export type PolygonHoles = 'fill' | 'rle';

/** The polygon options of a run. */
export interface PolygonOptions {
  /** Douglas–Peucker tolerance in pixels (finite, ≥ 0). */
  tolerance: number;
  holes: PolygonHoles;
}

/** The default tolerance: the largest measured one whose round trip is exact on the shared photos (docs/polygons.md). */
export const DEFAULT_POLYGON_TOLERANCE = 0.5;

/**
 * What the output says about its polygons (COCO `info.segmentation`, the YOLO dataset's info.json, the journal's
 * fingerprint). `holes`: what happens to holes — filled, kept as RLE, or kept as interior rings (GeoJSON).
 */
export interface SegmentationInfo {
  type: 'polygon';
  tolerance: number;
  holes: PolygonHoles | 'rings';
}

/**
 * What simplification removed from one mask (docs/polygons.md, "Simplification"), written with the record as
 * `polygon_loss` when anything was dropped, so that `area` and `bbox` (always the mask's) can be told apart from the
 * polygons. Counts over all rings of the mask, holes included.
 */
export interface PolygonLoss {
  /** Polygons dropped: collapsed, or inside a collapsed polygon or a filled hole. */
  dropped_polygons: number;
  /** Holes filled because their ring collapsed. */
  dropped_holes: number;
  /** 8-connected parts of the mask with no polygon left. */
  vanished_parts: number;
  /** Mask pixels no polygon covers any more. */
  lost_pixels: number;
  /** Background pixels now covered (filled holes). */
  added_pixels: number;
}

/** A record's segmentation and, for polygons that lost something, the loss. */
export interface EncodedSegmentation {
  segmentation: Segmentation;
  polygon_loss?: PolygonLoss;
}

/** The per-record step of the COCO, SA-1B and JSONL writers. */
export interface SegmentationEncoder {
  /** What the output's info block says; undefined for RLE (the format's default, nothing to say). */
  readonly info?: SegmentationInfo;
  /** Only the mask is read, so records of either kind (automatic or box-prompted) go through the same encoder. */
  encode(record: Pick<MaskRecord, 'segmentation'>): EncodedSegmentation;
  /** What the masks encoded so far add up to, for the run's closing lines (none for RLE). */
  notes?(): PolygonNote[];
}

/** The default: compressed RLE, exact. */
export const RLE_SEGMENTATION: SegmentationEncoder = {
  encode: (record) => ({ segmentation: toCoco(record.segmentation) }),
};

/** A mask traced and simplified once. */
export interface TracedMask {
  polygons: SimplifiedPolygons;
  /** The traced (unsimplified) mask has holes. */
  holes: boolean;
  /** Set when simplification dropped a polygon or a hole. */
  loss?: PolygonLoss;
}

/** What the masks a writer traced add up to: for the run's closing lines. */
export interface PolygonTally {
  /** Masks traced. */
  masks: number;
  /** Of them, masks with holes. */
  withHoles: number;
  /** Masks with holes written with their holes filled (COCO and YOLO polygons). */
  filled: number;
  /** Masks with holes written as RLE (`--polygon-holes rle`). */
  keptRle: number;
  /** Masks that lost something to simplification, and the sums of their losses. */
  lossy: number;
  droppedPolygons: number;
  droppedHoles: number;
  vanishedParts: number;
  lostPixels: number;
  addedPixels: number;
  /** Masks whose every polygon collapsed: written exactly as traced. */
  keptExact: number;
}

/**
 * Traces and simplifies masks at one tolerance, tallying each mask once (known by its RLE object). Polygons are not
 * kept: a run holds every record until its output is complete, and traced rings of 100,000 masks would not fit.
 */
export class MaskTracer {
  readonly tally: PolygonTally = {
    masks: 0,
    withHoles: 0,
    filled: 0,
    keptRle: 0,
    lossy: 0,
    droppedPolygons: 0,
    droppedHoles: 0,
    vanishedParts: 0,
    lostPixels: 0,
    addedPixels: 0,
    keptExact: 0,
  };
  private readonly counted = new WeakSet<Rle>();

  /** @throws RangeError for a negative or non-finite tolerance (the CLI checks its flag before). */
  constructor(readonly tolerance: number) {
    simplifyPolygons({ h: 1, w: 1, polygons: [], parts: 0 }, tolerance);
  }

  /** The mask's simplified polygons; counted in the tally the first time this mask is traced. */
  trace(rle: Rle): TracedMask {
    const traced = maskToPolygons(rle);
    const polygons = simplifyPolygons(traced, this.tolerance);
    const r = polygons.report;
    const dropped = r.droppedPolygons.length > 0 || r.droppedHoles.length > 0;
    const entry: TracedMask = {
      polygons,
      holes: hasHoles(traced),
      ...(dropped
        ? {
            loss: {
              dropped_polygons: r.droppedPolygons.length,
              dropped_holes: r.droppedHoles.length,
              vanished_parts: r.vanishedParts.length,
              lost_pixels: r.lostPixels,
              added_pixels: r.addedPixels,
            },
          }
        : {}),
    };
    if (this.counted.has(rle)) return entry;
    this.counted.add(rle);
    const t = this.tally;
    t.masks++;
    if (entry.holes) t.withHoles++;
    if (r.keptExact) t.keptExact++;
    if (entry.loss) {
      t.lossy++;
      t.droppedPolygons += entry.loss.dropped_polygons;
      t.droppedHoles += entry.loss.dropped_holes;
      t.vanishedParts += entry.loss.vanished_parts;
      t.lostPixels += entry.loss.lost_pixels;
      t.addedPixels += entry.loss.added_pixels;
    }
    return entry;
  }
}

/**
 * `--segmentation polygon`: COCO polygon lists of the depth-0 outer rings (holes filled), or the mask's RLE for a
 * mask with holes under `--polygon-holes rle`. An empty mask is an empty list.
 */
export class CocoPolygonEncoder implements SegmentationEncoder {
  readonly info: SegmentationInfo;
  readonly tracer: MaskTracer;
  private readonly seen = new WeakSet<Rle>();

  constructor(readonly options: PolygonOptions) {
    this.tracer = new MaskTracer(options.tolerance);
    this.info = { type: 'polygon', tolerance: options.tolerance, holes: options.holes };
  }

  encode(record: Pick<MaskRecord, 'segmentation'>): EncodedSegmentation {
    const rle = record.segmentation;
    const first = !this.seen.has(rle);
    this.seen.add(rle);
    const t = this.tracer.trace(rle);
    if (t.holes && this.options.holes === 'rle') {
      if (first) this.tracer.tally.keptRle++;
      return { segmentation: toCoco(rle) };
    }
    if (t.holes && first) this.tracer.tally.filled++;
    return { segmentation: cocoPolygonLists(t.polygons), ...(t.loss ? { polygon_loss: t.loss } : {}) };
  }

  notes(): PolygonNote[] {
    return polygonNotes(this.tracer.tally, { tolerance: this.options.tolerance, holes: this.options.holes, format: 'coco', where: 'polygon_loss' });
  }
}

/** One closing line of a run that wrote polygons. */
export interface PolygonNote {
  level: 'info' | 'warn';
  text: string;
}

/**
 * What a run that wrote polygons tells its user, from the tally: holes filled (or kept as RLE), what simplification
 * dropped and where that is recorded, masks kept unsimplified. `where` names where each lossy record says so (null
 * when the format has no place for it, as YOLO lines).
 */
export function polygonNotes(t: PolygonTally, o: { tolerance: number; holes: PolygonHoles | 'rings'; format: string; where: string | null }): PolygonNote[] {
  const notes: PolygonNote[] = [];
  const of = `of ${plural(t.masks, 'mask')} written`;
  // YOLO fills every mask's holes; COCO lists count the masks they filled (not those kept as RLE).
  const filled = o.format === 'yolo' ? t.withHoles : t.filled;
  if (o.holes === 'fill' && filled > 0) {
    const why = o.format === 'yolo' ? 'YOLO segments cannot hold holes' : 'COCO polygons cannot hold holes; --polygon-holes rle keeps such masks as RLE';
    notes.push({ level: 'info', text: `polygons: ${count(filled)} ${of} have holes, written filled (${why})` });
  }
  if (o.holes === 'rle' && t.keptRle > 0) {
    notes.push({ level: 'info', text: `polygons: ${count(t.keptRle)} ${of} have holes and keep their RLE segmentation (--polygon-holes rle)` });
  }
  if (t.lossy > 0) {
    const parts = [`${plural(t.droppedPolygons, 'polygon')} (${plural(t.lostPixels, 'pixel')})`];
    if (t.droppedHoles > 0) parts.push(`${plural(t.droppedHoles, 'hole')} (${plural(t.addedPixels, 'pixel')} now covered)`);
    const vanished = t.vanishedParts > 0 ? `; ${plural(t.vanishedParts, 'part')} of masks vanished entirely` : '';
    const where =
      o.where === null
        ? '; YOLO lines cannot say which (--format geojson or coco --segmentation polygon record it per mask as polygon_loss)'
        : `; each such record says so in ${o.where}`;
    notes.push({
      level: 'warn',
      text: `polygons at --polygon-tolerance ${o.tolerance}: ${count(t.lossy)} ${of} lost ${parts.join(' and ')} to simplification${vanished}${where}`,
    });
  }
  if (t.keptExact > 0) {
    notes.push({
      level: 'info',
      text: `polygons: ${count(t.keptExact)} ${of} would have vanished at --polygon-tolerance ${o.tolerance} and are written unsimplified (their largest polygon, exactly)`,
    });
  }
  return notes;
}
