/**
 * Decoder outputs shared between generators that run one model on one photo at the same time.
 *
 * Many conformance groups differ only in what happens after the decoder (thresholds, minimum region area, extra
 * crop layers): on a photo they have in common they ask the decoder for the same whole-image crop, the same 32×32
 * grid and the same batches. The decoder's answer to (model, crop pixels, prompt points, count, multimask) is
 * deterministic, so computing it once and handing the same batch to every such generator checks exactly what
 * separate runs check, for a fraction of the model runs.
 *
 * How: every generator runs through a {@link SharingAdapter} over its own loaded model. Before the generators of a
 * photo start, each registers as a {@link Consumer} with the decoder calls its generate() will make, in order
 * ({@link plannedDecodes}, from the pure crop-plan and grid functions the generator uses). A call that other live
 * consumers will also make is computed once and cached until each of them has taken it (or gone past it, or
 * finished); a call nobody else plans, a call with a mask prompt (use_m2m's refinement) and a call the plan did not
 * foresee go to the model as they are. The cache holds at most `capacity` batches (a batch of 64 SAM 1 prompts is
 * about 50 MB of logits): a generator that runs ahead waits for the others, and the one furthest behind always
 * finds its next batch cached, so they advance together; should every live generator wait at once (a plan that
 * does not match the calls), one goes ahead anyway. Every consumer but the last gets its own copy of a batch, so
 * nothing one generator does to its logits reaches another.
 */
import { createHash } from 'node:crypto';
import type { AmgOptions } from '../../src/amg/options.js';
import { buildLayerGrids } from '../../src/amg/point-grid.js';
import type { BoxXYXY, RgbImage } from '../../src/base/types.js';
import { generateCropBoxes } from '../../src/crop/crop-boxes.js';
import { generateTileBoxes } from '../../src/crop/tiles.js';
import { cropImage } from '../../src/image/preprocess.js';
import type { DecodedBatch, DecodeOptions, EncodedCrop, ModelAdapter, ModelFamily } from '../../src/model/adapter.js';

const digests = new WeakMap<RgbImage, string>();

/** A digest of an image's size and pixels: equal digests, equal encoder input (whole photos are hashed once). */
export function pixelDigest(image: RgbImage): string {
  let d = digests.get(image);
  if (d === undefined) {
    d = createHash('sha1').update(`${image.width}x${image.height}:`).update(image.data).digest('hex');
    digests.set(image, d);
  }
  return d;
}

/** The key of one decoder call: the crop's pixels, the prompts' bytes, their count and the output asked for. */
export function decodeKey(crop: string, points: Float64Array, count: number, multimask: boolean): string {
  const h = createHash('sha1').update(new Uint8Array(points.buffer, points.byteOffset, 2 * count * Float64Array.BYTES_PER_ELEMENT));
  return `${crop}:${count}:${multimask ? 'multi' : 'single'}:${h.digest('hex')}`;
}

/**
 * The decoder calls (keys) a generator with resolved options `o` makes for `image`, in order, computed as
 * MaskGenerator.generate does: the crop plan (or the tile grid), each crop's layer grid scaled to the crop's size
 * (then cast to float32 for SAM 2), in batches of points_per_batch. use_m2m's refinement calls carry a mask prompt
 * and are not listed. A plan that misses the generator's real calls costs only the sharing, never a record.
 */
export function plannedDecodes(o: AmgOptions, family: ModelFamily, image: RgbImage): string[] {
  const { width: W, height: H } = image;
  let boxes: BoxXYXY[];
  let layers: number[];
  if (o.tile !== null) {
    boxes = generateTileBoxes(W, H, o.tile, o.tileOverlap ?? 0);
    layers = boxes.map(() => 0);
  } else {
    ({ boxes, layers } = generateCropBoxes(W, H, o.cropNLayers, o.cropOverlapRatio));
  }
  const grids = o.pointGrids
    ? o.pointGrids.map((g) => Float64Array.from(g.flat()))
    : buildLayerGrids(o.pointsPerSide as number, o.cropNLayers, o.cropNPointsDownscaleFactor);
  const keys: string[] = [];
  boxes.forEach(([x0, y0, x1, y1], i) => {
    const crop = x0 === 0 && y0 === 0 && x1 === W && y1 === H ? image : cropImage(image, x0, y0, x1, y1);
    const digest = pixelDigest(crop);
    const grid = grids[layers[i]];
    const n = grid.length / 2;
    const points = new Float64Array(2 * n);
    for (let k = 0; k < 2 * n; k += 2) {
      points[k] = grid[k] * (x1 - x0);
      points[k + 1] = grid[k + 1] * (y1 - y0);
    }
    if (family === 'sam2') for (let k = 0; k < points.length; k++) points[k] = Math.fround(points[k]);
    for (let start = 0; start < n; start += o.pointsPerBatch) {
      const count = Math.min(o.pointsPerBatch, n - start);
      keys.push(decodeKey(digest, points.subarray(2 * start), count, o.multimaskOutput));
    }
  });
  return keys;
}

/** One generate() call taking part in the sharing: the decoder calls it will make, and how far it has got. */
export interface Consumer {
  readonly keys: readonly string[];
  /** Index in `keys` of the next call it can make. */
  cursor: number;
  live: boolean;
}

interface Entry {
  /** Consumers that will still take it. */
  waiting: Set<Consumer>;
  /** The cache's own copy. */
  batch: Promise<DecodedBatch>;
}

/** What the sharing did, for the tests that check it happened. */
export interface ShareCounts {
  /** Decoder calls computed (by the model) for consumers. */
  computed: number;
  /** Calls answered from the cache. */
  fromCache: number;
  /** Calls with a mask prompt: never shared. */
  maskPrompt: number;
  /** Calls no plan foresaw (or made out of the plan's order): computed, not shared. */
  unplanned: number;
  /** Times every live consumer waited for room at once and one went ahead over the capacity. */
  overCapacity: number;
  /** The most batches the cache held at once. */
  peak: number;
}

/** The cache of one model's decoder outputs, shared by the consumers registered with it. */
export class DecodeShare {
  readonly counts: ShareCounts = { computed: 0, fromCache: 0, maskPrompt: 0, unplanned: 0, overCapacity: 0, peak: 0 };
  private readonly entries = new Map<string, Entry>();
  private readonly live = new Set<Consumer>();
  private wakers: (() => void)[] = [];
  private waitingForRoom = 0;

  constructor(readonly capacity = 4) {}

  /** Registers a generate() call that will make the decoder calls `keys`, in this order. */
  consumer(keys: readonly string[]): Consumer {
    const c: Consumer = { keys, cursor: 0, live: true };
    this.live.add(c);
    return c;
  }

  /** The consumer's generate() has ended (records or an error): the calls it did not make are let go. */
  finish(c: Consumer): void {
    if (!c.live) return;
    for (let i = c.cursor; i < c.keys.length; i++) this.letGo(c, c.keys[i]);
    c.cursor = c.keys.length;
    c.live = false;
    this.live.delete(c);
    this.wake();
  }

  /**
   * One decoder call of consumer `c` (`key` null when its crop is unknown here): from the cache, computed and
   * cached for the other consumers that planned it, or computed as it is.
   */
  async decode(c: Consumer | null, key: string | null, maskPrompt: boolean, compute: () => Promise<DecodedBatch>): Promise<DecodedBatch> {
    if (maskPrompt) {
      this.counts.maskPrompt++;
      return compute();
    }
    const at = c === null || key === null || !c.live ? -1 : c.keys.indexOf(key, c.cursor);
    if (c === null || key === null || at < 0) {
      this.counts.unplanned++;
      this.counts.computed++;
      return compute();
    }
    // Calls the plan listed before this one will not come now (the plan was off): let them go.
    for (let i = c.cursor; i < at; i++) this.letGo(c, c.keys[i]);
    c.cursor = at;
    if (!this.entries.has(key) && this.othersPlanning(c, key)) await this.room(key);
    c.cursor = at + 1;
    const entry = this.entries.get(key);
    if (entry !== undefined) return this.take(entry, c, key);
    this.counts.computed++;
    const others = new Set([...this.live].filter((o) => o !== c && o.keys.indexOf(key, o.cursor) >= 0));
    const original = compute();
    if (others.size === 0) return original;
    const batch = original.then(copyBatch);
    // A failed call fails each consumer that takes it; nobody taking it is no unhandled rejection.
    batch.catch(() => undefined);
    this.entries.set(key, { waiting: others, batch });
    this.counts.peak = Math.max(this.counts.peak, this.entries.size);
    // A consumer waiting for room may have been waiting for this very call.
    this.wake();
    return original;
  }

  private othersPlanning(c: Consumer, key: string): boolean {
    for (const o of this.live) if (o !== c && o.keys.indexOf(key, o.cursor) >= 0) return true;
    return false;
  }

  private async take(entry: Entry, c: Consumer, key: string): Promise<DecodedBatch> {
    this.counts.fromCache++;
    entry.waiting.delete(c);
    if (entry.waiting.size > 0) return copyBatch(await entry.batch);
    this.entries.delete(key);
    this.wake();
    return entry.batch;
  }

  private letGo(c: Consumer, key: string): void {
    const entry = this.entries.get(key);
    if (entry === undefined || !entry.waiting.delete(c) || entry.waiting.size > 0) return;
    this.entries.delete(key);
    this.wake();
  }

  /**
   * Waits while the cache is full and `key` is not in it, unless every live consumer is waiting (then this one goes
   * ahead).
   */
  private async room(key: string): Promise<void> {
    this.waitingForRoom++;
    try {
      while (this.entries.size >= this.capacity && !this.entries.has(key)) {
        if (this.waitingForRoom >= this.live.size) {
          this.counts.overCapacity++;
          return;
        }
        await new Promise<void>((resolve) => this.wakers.push(resolve));
      }
    } finally {
      this.waitingForRoom--;
    }
  }

  private wake(): void {
    const wakers = this.wakers;
    this.wakers = [];
    for (const w of wakers) w();
  }
}

function copyBatch(b: DecodedBatch): DecodedBatch {
  return { count: b.count, masksPerPrompt: b.masksPerPrompt, iou: b.iou.slice(), logits: b.logits.slice() };
}

/**
 * A model adapter that sends its decoder calls through a {@link DecodeShare} on behalf of its current consumer
 * (set before each generate() call); everything else goes to the model's own adapter.
 */
export class SharingAdapter implements ModelAdapter {
  /** The generate() call now running through this adapter; null runs every call as it is. */
  consumer: Consumer | null = null;
  private readonly crops = new WeakMap<EncodedCrop, string>();

  constructor(
    private readonly inner: ModelAdapter,
    private readonly share: DecodeShare,
  ) {
    if (inner.decodeBoxes) this.decodeBoxes = inner.decodeBoxes.bind(inner);
  }

  get family(): ModelFamily {
    return this.inner.family;
  }
  get layout(): string {
    return this.inner.layout;
  }
  get supportsMaskInput(): boolean {
    return this.inner.supportsMaskInput;
  }
  get supportsSingleMask(): boolean {
    return this.inner.supportsSingleMask;
  }
  get supportsMultimask(): boolean | undefined {
    return this.inner.supportsMultimask;
  }
  get timings(): ModelAdapter['timings'] {
    return this.inner.timings;
  }

  decodeBoxes?: ModelAdapter['decodeBoxes'];

  async encode(image: RgbImage): Promise<EncodedCrop> {
    const encoded = await this.inner.encode(image);
    this.crops.set(encoded, pixelDigest(image));
    return encoded;
  }

  decode(crop: EncodedCrop, points: Float64Array, count: number, opts?: DecodeOptions): Promise<DecodedBatch> {
    const digest = this.crops.get(crop);
    const key = digest === undefined ? null : decodeKey(digest, points, count, opts?.multimask !== false);
    return this.share.decode(this.consumer, key, opts?.maskInput !== undefined, () => this.inner.decode(crop, points, count, opts));
  }

  release(): Promise<void> {
    return this.inner.release();
  }
}
