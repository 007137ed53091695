/**
 * `sam-amg merge`: combines the outputs of shards (or of separate runs over disjoint images) into one output.
 *
 * Rules:
 * - Every input must come from the same sam-amg version, model (id and sha256) and options; otherwise refused.
 * - Shard outputs (info.shard) must all say the same shard count and input total, each index 0…N−1 must be there
 *   exactly once (a missing one is named), and their image counts must add up to the total. Shard and non-shard
 *   inputs are not mixed.
 * - No image (file_name) may be in two inputs.
 * - Images come out sorted by file_name (the order of a single run's listing), image ids 1…n in that order,
 *   annotation ids 1…m in image order then each image's own order. info.errors are concatenated in shard index
 *   order (for shards; the same order a single run writes them in), else in argument order. info.shard is dropped.
 *   date_created: `date` when given (null omits it), else the inputs' common date, else the latest one.
 * - Box-prompted outputs (`sam-amg segment`) merge the same way, but keep their image ids (the detection file's) and
 *   their categories (which must be the same in every COCO input); they do not mix with automatic-mask outputs.
 * With shards made by contiguous blocks of the sorted list, the merged COCO file is byte-identical to the single
 * run with the same options (and the same pinned date).
 */
import type { Rle } from '../base/types.js';
import type { CocoCategory, CocoInfo, ImageResult, RunError, RunInfo } from './coco.js';
import type { MaskSet, SetImage } from './read.js';
import { maskRecordOf } from './records.js';
import type { EncodedSegmentation, SegmentationEncoder } from './segmentation.js';

/** A refusal, with a message for the user. */
export class MergeError extends Error {}

/** Options of {@link mergeSets}. */
export interface MergeOptions {
  /** ISO date for info.date_created, null to omit it, undefined to take it from the inputs. */
  date?: string | null;
}

/** The merged output in the shape every writer can take. */
export interface MergedSet {
  /** Absent only when no input carried an info block (SA-1B folders and JSONL files without one). */
  info?: CocoInfo;
  images: SetImage[];
  /** The shard count when the inputs were shards. */
  shards?: number;
  /** Box-prompted outputs: image ids and categories are kept. */
  prompted: boolean;
  /** Box-prompted COCO inputs: their (common) categories. */
  categories?: CocoCategory[];
}

/** Merges `sets` (as given on the command line); throws MergeError with a clear message when they do not belong together. */
export function mergeSets(sets: MaskSet[], opts: MergeOptions = {}): MergedSet {
  if (sets.length === 0) throw new MergeError('merge: no inputs');
  for (const s of sets) {
    if (s.format === 'yolo') {
      throw new MergeError(`cannot merge ${s.path}: a YOLO dataset holds no scores; merge combines coco, sa1b and jsonl outputs (run the shards with --format coco --segmentation polygon, or copy the datasets' labels together)`);
    }
    if (s.format === 'geojson') {
      throw new MergeError(`cannot merge ${s.path}: a GeoJSON folder holds one file per image; copy the shards' files into one folder (merge combines coco, sa1b and jsonl outputs)`);
    }
  }
  const withInfo = sets.filter((s) => s.info);
  if (withInfo.length > 0 && withInfo.length < sets.length) {
    const without = sets.filter((s) => !s.info).map((s) => s.path);
    throw new MergeError(`cannot merge: ${without.join(', ')} carr${without.length === 1 ? 'ies' : 'y'} no info block (model, options) but ${withInfo[0].path} does`);
  }
  const first = withInfo[0];
  for (const s of withInfo.slice(1)) checkSameRun(first, s);
  const prompted = sets.filter((s) => s.prompted).map((s) => s.path);
  if (prompted.length > 0 && prompted.length < sets.length) {
    const automatic = sets.filter((s) => !s.prompted).map((s) => s.path);
    throw new MergeError(`cannot merge box-prompted outputs (${prompted.join(', ')}) with automatic-mask outputs (${automatic.join(', ')})`);
  }
  const categories = commonCategories(sets);

  let ordered = sets;
  let shards: number | undefined;
  const shardSets = withInfo.filter((s) => s.info?.shard);
  if (shardSets.length > 0) {
    if (shardSets.length < sets.length) {
      const plain = sets.filter((s) => !s.info?.shard).map((s) => s.path);
      throw new MergeError(`cannot merge shard outputs with whole-run outputs: ${plain.join(', ')} ${plain.length === 1 ? 'is not a shard' : 'are not shards'}`);
    }
    ordered = checkShards(shardSets);
    shards = shardSets[0].info?.shard?.count;
  }

  const owner = new Map<string, string>();
  const overlaps: string[] = [];
  for (const s of ordered) {
    for (const im of s.images) {
      const prev = owner.get(im.file_name);
      if (prev !== undefined) overlaps.push(`${im.file_name} (${prev} and ${s.path})`);
      else owner.set(im.file_name, s.path);
    }
  }
  if (overlaps.length > 0) {
    throw new MergeError(
      `cannot merge: ${overlaps.length} image${overlaps.length === 1 ? ' is' : 's are'} in more than one input: ${overlaps.slice(0, 10).join(', ')}${overlaps.length > 10 ? ', …' : ''}`,
    );
  }
  const images = ordered.flatMap((s) => s.images);
  images.sort((a, b) => (a.file_name < b.file_name ? -1 : a.file_name > b.file_name ? 1 : 0));
  const isPrompted = prompted.length > 0;
  if (isPrompted) checkImageIds(images);
  const kind = { prompted: isPrompted, ...(categories ? { categories } : {}) };

  if (!first?.info) return { images, ...(shards === undefined ? {} : { shards }), ...kind };
  const errors: RunError[] = ordered.flatMap((s) => s.info?.errors ?? []);
  const dates = withInfo.map((s) => s.info?.date_created);
  let date: string | undefined;
  if (opts.date !== undefined) date = opts.date ?? undefined;
  else if (dates.every((d) => d === dates[0])) date = dates[0];
  else date = dates.filter((d): d is string => d !== undefined).sort().at(-1);
  const base = first.info;
  const info: CocoInfo = {
    description: base.description,
    version: base.version,
    ...(date === undefined ? {} : { date_created: date }),
    model: base.model,
    model_sha256: base.model_sha256,
    options: base.options,
    ...(base.segmentation ? { segmentation: base.segmentation } : {}),
    ...(errors.length > 0 ? { errors } : {}),
  };
  return { info, images, ...(shards === undefined ? {} : { shards }), ...kind };
}

/** The categories of box-prompted COCO inputs, which must all be the same; undefined when no input has any. */
function commonCategories(sets: MaskSet[]): CocoCategory[] | undefined {
  const withCategories = sets.filter((s) => s.categories !== undefined);
  if (withCategories.length === 0) return undefined;
  const [a, ...rest] = withCategories;
  for (const b of rest) {
    if (canonical(a.categories) !== canonical(b.categories)) {
      throw new MergeError(`cannot merge: ${a.path} and ${b.path} have different categories (were they made from different detection files?)`);
    }
  }
  return a.categories;
}

/** Box-prompted images keep their ids: two images with one id cannot go into one output. */
function checkImageIds(images: SetImage[]): void {
  const seen = new Map<number, string>();
  for (const im of images) {
    if (im.image_id === undefined) continue;
    const other = seen.get(im.image_id);
    if (other !== undefined) throw new MergeError(`cannot merge: ${other} and ${im.file_name} both have image id ${im.image_id}`);
    seen.set(im.image_id, im.file_name);
  }
}

/** Refuses two inputs made by different versions, models or options, naming the difference. */
function checkSameRun(a: MaskSet, b: MaskSet): void {
  const ia = a.info as CocoInfo;
  const ib = b.info as CocoInfo;
  const differ = (what: string, x: unknown, y: unknown): never => {
    throw new MergeError(`cannot merge: ${a.path} and ${b.path} were made with different ${what}: ${JSON.stringify(x)} vs ${JSON.stringify(y)}`);
  };
  if (ia.model_sha256 !== ib.model_sha256 || ia.model !== ib.model) {
    differ('models', `${ia.model} (sha256 ${ia.model_sha256.slice(0, 12)})`, `${ib.model} (sha256 ${ib.model_sha256.slice(0, 12)})`);
  }
  const keys = [...new Set([...Object.keys(ia.options), ...Object.keys(ib.options)])].sort();
  for (const k of keys) {
    const x = canonical(ia.options[k]);
    const y = canonical(ib.options[k]);
    if (x !== y) differ(`options (${k})`, ia.options[k] ?? null, ib.options[k] ?? null);
  }
  if (canonical(ia.segmentation) !== canonical(ib.segmentation)) differ('segmentations', ia.segmentation ?? 'rle', ib.segmentation ?? 'rle');
  if (ia.version !== ib.version) differ('sam-amg versions', ia.version, ib.version);
  if (ia.description !== ib.description) differ('descriptions', ia.description, ib.description);
}

/** Checks a set of shard outputs for completeness; returns them in shard index order. */
function checkShards(sets: MaskSet[]): MaskSet[] {
  const s0 = sets[0];
  const sh0 = s0.info?.shard;
  if (!sh0) throw new MergeError('internal: not a shard');
  const byIndex = new Map<number, MaskSet>();
  for (const s of sets) {
    const sh = s.info?.shard;
    if (!sh) throw new MergeError(`${s.path} is not a shard output`);
    if (sh.count !== sh0.count) {
      throw new MergeError(`cannot merge: ${s0.path} is shard ${sh0.index} of ${sh0.count} but ${s.path} is shard ${sh.index} of ${sh.count}`);
    }
    if (sh.total !== sh0.total) {
      throw new MergeError(
        `cannot merge: the shards saw different inputs: ${s0.path} was cut from a list of ${sh0.total} images, ${s.path} from ${sh.total}`,
      );
    }
    const dup = byIndex.get(sh.index);
    if (dup) throw new MergeError(`cannot merge: shard ${sh.index} of ${sh.count} is given twice: ${dup.path} and ${s.path}`);
    if (s.images.length > sh.images) {
      throw new MergeError(`${s.path}: holds ${s.images.length} images but says its shard was given ${sh.images}`);
    }
    byIndex.set(sh.index, s);
  }
  // A shard is complete when every image it was given is either in images or in info.errors (listing errors,
  // stage 'input', are not among its images). An interrupted run (scancel, preemption, SIGTERM) writes what it
  // finished, which is fewer.
  const incomplete: string[] = [];
  for (const [k, s] of [...byIndex.entries()].sort((x, y) => x[0] - y[0])) {
    const sh = s.info?.shard as NonNullable<CocoInfo['shard']>;
    const failed = (s.info?.errors ?? []).filter((e) => e.stage !== 'input').length;
    const accounted = s.images.length + failed;
    if (accounted < sh.images) incomplete.push(`shard ${k} of ${sh.count} (${s.path} accounts for ${accounted} of its ${sh.images} images)`);
  }
  if (incomplete.length > 0) {
    const idx = incomplete.map((x) => x.split(' ')[1]);
    throw new MergeError(
      `cannot merge: incomplete ${incomplete.join('; ')}: an interrupted or cancelled run? ` +
        `Run it again (Slurm: sbatch --array=${idx.join(',')}; or sam-amg … --shard ${idx[0]}/${sh0.count} --resume) and merge again`,
    );
  }
  const missing: number[] = [];
  for (let k = 0; k < sh0.count; k++) if (!byIndex.has(k)) missing.push(k);
  if (missing.length > 0) {
    const list = missing.length <= 20 ? missing.join(', ') : `${missing.slice(0, 20).join(', ')}, …`;
    throw new MergeError(
      `cannot merge: missing shard${missing.length === 1 ? '' : 's'} ${list} of ${sh0.count} (0-based; ${byIndex.size} of ${sh0.count} given). ` +
        `Run ${missing.length === 1 ? 'it' : 'them'} again with --shard ${missing[0]}/${sh0.count}` +
        `${missing.length === 1 ? '' : ' etc.'} (Slurm: sbatch --array=${missing.join(',')}; Kubernetes: the failed completion indexes)`,
    );
  }
  const ordered = [...byIndex.keys()].sort((x, y) => x - y).map((k) => byIndex.get(k) as MaskSet);
  const given = ordered.reduce((n, s) => n + (s.info?.shard?.images ?? 0), 0);
  if (given !== sh0.total) {
    throw new MergeError(`cannot merge: the shards were given ${given} images in all but each says the run listed ${sh0.total}`);
  }
  return ordered;
}

function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v) ?? 'undefined';
}

/**
 * The run info a COCO output of the merge carries (its errors are passed to the sink's finish). Throws MergeError
 * when the inputs carry none, before anything is written.
 */
export function mergedRunInfo(m: MergedSet): Omit<RunInfo, 'errors'> {
  if (!m.info) {
    throw new MergeError('COCO output needs an info block (model, options) and the inputs carry none; use --format jsonl or sa1b');
  }
  const { description, version, date_created: date, model, model_sha256: modelSha256, options, segmentation } = m.info;
  return { description, version, date: date ?? null, model, modelSha256, options, ...(segmentation ? { segmentation } : {}) };
}

/**
 * Writes every merged record's segmentation as its input held it (RLE or polygon lists, with its `polygon_loss`),
 * so that merged polygon outputs are the bytes a single run writes: polygons are never traced again from their
 * rasterised masks. Records are known by their mask (the RLE object the reader decoded).
 */
export function mergedEncoding(m: MergedSet): SegmentationEncoder {
  const kept = new WeakMap<Rle, EncodedSegmentation>();
  for (const im of m.images) {
    for (const a of im.annotations) kept.set(a.rle, { segmentation: a.segmentation, ...(a.polygon_loss ? { polygon_loss: a.polygon_loss } : {}) });
  }
  return {
    encode(record) {
      const k = kept.get(record.segmentation);
      if (k === undefined) throw new Error('merge: a record that no input holds');
      return k;
    },
  };
}

/**
 * The merged images as results for the output sinks, in merged order. Every sam-amg output holds one prompt point
 * per mask and canonical RLE strings, so writing these gives back the bytes each input held. Box-prompted images
 * keep their image ids.
 */
export function mergedResults(m: MergedSet): ImageResult[] {
  return m.images.map((im) => {
    const imageId = m.prompted ? im.image_id : undefined;
    return {
      relPath: im.file_name,
      width: im.width,
      height: im.height,
      ...(im.geo !== undefined ? { geo: im.geo } : {}),
      records: im.annotations.map((a) => maskRecordOf({ fields: a, rle: a.rle }, imageId)),
      ...(imageId !== undefined ? { imageId } : {}),
    };
  });
}
