/**
 * The conformance harness: runs the library API on the shared photos with a group's options and compares the
 * records with what the reference generator produced (../shared/conformance). Used by the vitest suite and by
 * `npm run conformance`; nothing else reads the expected files.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MaskGenerator } from '../../src/node/mask-generator.js';
import { loadModel } from '../../src/node/model-folder.js';
import type { AmgOptions } from '../../src/amg/options.js';
import type { MaskRecord, RgbImage } from '../../src/base/types.js';
import { matchMasks, nearestMask, type MatchItem } from '../../src/compare/match.js';
import { orderAgreement } from '../../src/compare/order.js';
import { decodeImage } from '../../src/node/decode.js';
import { fromCoco, rleBoxXYXY } from '../../src/rle/rle.js';
import { DecodeShare, plannedDecodes, SharingAdapter, type ShareCounts } from './shared-decodes.js';

const here = path.dirname(fileURLToPath(import.meta.url));
export const SHARED = path.resolve(here, '../../../shared');
export const CONFORMANCE = path.join(SHARED, 'conformance');

/**
 * Acceptance limits, the same for every group. Order is counted over pairs of matched records whose expected keys
 * really differ (src/compare/order.ts): the reference's own order among near-equal keys is arbitrary.
 */
export const LIMITS = {
  minIou: 0.99,
  minRecall: 0.995,
  extraFraction: 0.005,
  countFraction: 0.01,
  iouTol: 1e-4,
  /** |Δ stability| ≤ max(stabilityTol, 1 / area): one pixel more or less in either count of a small mask is noise. */
  stabilityTol: 2e-3,
  pointTol: 1e-3,
  bboxTol: 1,
  /** Predicted IoUs of one crop box closer than this are an order tie. */
  orderIouTol: 1e-4,
  minOrderAgreement: 0.999,
};

/** The stability limit of one matched record of `area` pixels. */
export function stabilityLimit(area: number): number {
  return Math.max(LIMITS.stabilityTol, 1 / area);
}

export type Family = 'sam1' | 'sam2';

/** One settings group of the conformance data. */
export interface Group {
  family: Family;
  name: string;
  file: string;
  /** The model folder the reference ran with. */
  model: string;
  options: Partial<AmgOptions>;
  images: string[];
  /** points_per_batch values to run it with besides its own (batching must not change records). */
  extraBatches: number[];
}

interface ExpectedAnnotation {
  image_id: number;
  segmentation: { size: [number, number]; counts: string };
  area: number;
  bbox: [number, number, number, number];
  predicted_iou: number;
  point_coords: [[number, number]];
  stability_score: number;
  crop_box: [number, number, number, number];
}
interface ExpectedFile {
  options: Record<string, unknown>;
  images: { id: number; file_name: string; width: number; height: number }[];
  annotations: ExpectedAnnotation[];
}

/** Groups in table order; any other file of the folder follows, by name. */
const GROUP_ORDER = ['default', 'permissive', 'pps7-batch5', 'min-area-100', 'crop-layers-1', 'mask-threshold-min-area', 'm2m'];
/** Groups also run with points_per_batch 1: the plain path and m2m's refinement chunks. */
const BATCH_ONE = new Set(['default', 'm2m']);

/** The groups present in ../shared/conformance for a family. */
export function listGroups(family: Family): Group[] {
  const dir = path.join(CONFORMANCE, family === 'sam1' ? 'expected' : 'expected-sam2');
  if (!existsSync(dir)) return [];
  const rank = (n: string): number => (GROUP_ORDER.includes(n) ? GROUP_ORDER.indexOf(n) : GROUP_ORDER.length);
  const names = readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => f.slice(0, -'.json'.length))
    .sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
  return names.map((name) => {
    const file = path.join(dir, `${name}.json`);
    const data = readExpected(file);
    const options = toCamel(data.options);
    return {
      family,
      name,
      file,
      model: modelDir(family, options),
      options,
      images: data.images.map((i) => i.file_name),
      extraBatches: BATCH_ONE.has(name) && options.pointsPerBatch !== 1 ? [1] : [],
    };
  });
}

/**
 * The tiled groups of a family (../shared/conformance/tiles/<family>-tiles-*.json: the reference generators with
 * the crop pyramid replaced by the tile grid), by name; they sit apart from expected*\/ and run with the same limits.
 */
export function listTileGroups(family: Family): Group[] {
  const dir = path.join(CONFORMANCE, 'tiles');
  if (!existsSync(dir)) return [];
  const prefix = `${family}-`;
  return readdirSync(dir)
    .filter((f) => f.startsWith(prefix) && f.endsWith('.json'))
    .sort()
    .map((f) => {
      const file = path.join(dir, f);
      const options = toCamel(readExpected(file).options);
      return {
        family,
        name: f.slice(prefix.length, -'.json'.length),
        file,
        model: modelDir(family, options),
        options,
        images: readExpected(file).images.map((i) => i.file_name),
        extraBatches: [],
      };
    });
}

/** One run of a group: its own points_per_batch (undefined) or another one. */
export interface GroupRun {
  group: Group;
  pointsPerBatch?: number;
}

/** A run's name in test titles: the group, and the batch size when it is not the group's own. */
export function runName(run: GroupRun): string {
  return run.pointsPerBatch === undefined ? run.group.name : `${run.group.name} batch ${run.pointsPerBatch}`;
}

/** Every run of the given groups, in table order. */
export function groupRuns(groups: Group[]): GroupRun[] {
  return groups.flatMap((group) => [{ group }, ...group.extraBatches.map((pointsPerBatch) => ({ group, pointsPerBatch }))]);
}

const expectedCache = new Map<string, ExpectedFile>();
function readExpected(file: string): ExpectedFile {
  let data = expectedCache.get(file);
  if (!data) {
    data = JSON.parse(readFileSync(file, 'utf8')) as ExpectedFile;
    expectedCache.set(file, data);
  }
  return data;
}

function toCamel(o: Record<string, unknown>): Partial<AmgOptions> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) out[k.replace(/_(\w)/g, (_, c: string) => c.toUpperCase())] = v;
  return out as Partial<AmgOptions>;
}

const imageCache = new Map<string, RgbImage>();
/** A shared photo, decoded once per process. */
export async function photo(name: string): Promise<RgbImage> {
  let img = imageCache.get(name);
  if (!img) {
    img = await decodeImage(path.join(SHARED, 'images', name));
    imageCache.set(name, img);
  }
  return img;
}

/** Per-image comparison figures. */
export interface ImageReport {
  image: string;
  expected: number;
  actual: number;
  matched: number;
  countOk: boolean;
  worstIou: number;
  maxDIou: number;
  maxDStability: number;
  /** Matched records whose stability differs by more than their limit, and the first of them. */
  stabilityOver: number;
  firstStabilityOver: string;
  maxDPoint: number;
  maxDBbox: number;
  cropBoxMismatches: number;
  orderPairs: number;
  orderInverted: number;
  failures: string[];
  /** The first unmatched expected mask and its nearest actual one: reported when the group's recall is missed. */
  unmatched: string[];
}

/** Per-group comparison figures and verdict. */
export interface GroupReport {
  family: Family;
  group: string;
  pointsPerBatch: number;
  expected: number;
  actual: number;
  matched: number;
  recall: number;
  extra: number;
  extraAllowed: number;
  worstIou: number;
  maxDIou: number;
  maxDStability: number;
  stabilityOver: number;
  maxDPoint: number;
  maxDBbox: number;
  /** Matched pairs whose expected keys differ by more than the tie tolerance, inverted ones, 1 − inverted / pairs. */
  orderPairs: number;
  orderInverted: number;
  orderAgreement: number;
  seconds: number;
  images: ImageReport[];
  failures: string[];
  ok: boolean;
}

/** The records of one run of a group, by photo name, and how long generating them took. */
export interface GroupRecords {
  records: Map<string, MaskRecord[]>;
  pointsPerBatch: number;
  seconds: number;
}

/** The records of several runs generated side by side (generateShared): one promise per run, and the sharing's counts. */
export interface SharedRecords {
  records: Map<GroupRun, Promise<GroupRecords>>;
  /** Settles when every run has: what the decoder sharing did, per model folder. */
  counts: Promise<Map<string, ShareCounts>>;
}

/**
 * Runs groups photo by photo, the generators of one photo side by side, sharing the decoder's outputs between the
 * groups that run one model on that photo with the same prompts (./shared-decodes.ts): the records are those of
 * separate runs (generateGroup), for a fraction of the model runs. Each run keeps its own generator, options,
 * records and errors: a run that fails rejects its own promise only. A run's seconds are the wall time of its
 * generate() calls, which it shares with the runs beside it. `image` decodes a photo (the shared photos by default).
 */
export function generateShared(runs: GroupRun[], image: (name: string) => Promise<RgbImage> = photo): SharedRecords {
  const shares = new Map<string, DecodeShare>();
  const shareOf = (model: string): DecodeShare => {
    let s = shares.get(model);
    if (!s) shares.set(model, (s = new DecodeShare()));
    return s;
  };
  interface State {
    run: GroupRun;
    adapter?: SharingAdapter;
    gen?: MaskGenerator;
    records: Map<string, MaskRecord[]>;
    seconds: number;
    left: number;
    failed: boolean;
    done: (r: GroupRecords) => void;
    fail: (err: unknown) => void;
  }
  const records = new Map<GroupRun, Promise<GroupRecords>>();
  const states: State[] = runs.map((run) => {
    const state = { run, records: new Map(), seconds: 0, left: new Set(run.group.images).size, failed: false } as State;
    const p = new Promise<GroupRecords>((resolve, reject) => {
      state.done = resolve;
      state.fail = reject;
    });
    // Rejections reach whoever awaits the run; a run nobody awaits is no unhandled rejection.
    p.catch(() => undefined);
    records.set(run, p);
    return state;
  });
  const failRun = async (s: State, err: unknown): Promise<void> => {
    s.failed = true;
    const gen = s.gen;
    s.gen = undefined;
    if (gen) await gen.release().catch(() => undefined);
    s.fail(err);
  };
  const start = async (s: State): Promise<void> => {
    const { group, pointsPerBatch } = s.run;
    const extra = pointsPerBatch === undefined ? {} : { pointsPerBatch };
    const model = await loadModel(group.model);
    s.adapter = new SharingAdapter(model.adapter, shareOf(group.model));
    s.gen = await MaskGenerator.fromModel({ ...model, adapter: s.adapter }, { ...group.options, ...extra });
  };
  const names = [...new Set(runs.flatMap((r) => r.group.images))];
  const counts = (async (): Promise<Map<string, ShareCounts>> => {
    for (const name of names) {
      const here = states.filter((s) => !s.failed && s.run.group.images.includes(name));
      if (here.length === 0) continue;
      let img: RgbImage;
      try {
        img = await image(name);
      } catch (err) {
        await Promise.all(here.map((s) => failRun(s, err)));
        continue;
      }
      await Promise.all(here.map((s) => (s.gen ? Promise.resolve() : start(s).catch((err: unknown) => failRun(s, err)))));
      const ready = here.filter((s) => !s.failed);
      // Every generator of the photo registers its decoder calls before any of them starts.
      const consumers = ready.map((s) => {
        const gen = s.gen as MaskGenerator;
        const share = shareOf(s.run.group.model);
        const c = share.consumer(plannedDecodes(gen.options, gen.family, img));
        (s.adapter as SharingAdapter).consumer = c;
        return { share, c };
      });
      await Promise.all(
        ready.map(async (s, i) => {
          const gen = s.gen as MaskGenerator;
          try {
            const t0 = performance.now();
            s.records.set(name, await gen.generate(img));
            s.seconds += (performance.now() - t0) / 1000;
          } catch (err) {
            consumers[i].share.finish(consumers[i].c);
            await failRun(s, err);
            return;
          }
          consumers[i].share.finish(consumers[i].c);
          if (--s.left > 0) return;
          s.gen = undefined;
          try {
            await gen.release();
          } catch (err) {
            s.fail(err);
            return;
          }
          s.done({ records: s.records, pointsPerBatch: gen.options.pointsPerBatch, seconds: s.seconds });
        }),
      );
    }
    return new Map([...shares].map(([model, s]) => [model, s.counts]));
  })();
  counts.catch(() => undefined);
  return { records, counts };
}

/** Runs one group with its model folder and the library (points_per_batch overridden when given). */
export async function generateGroup({ group, pointsPerBatch }: GroupRun): Promise<GroupRecords> {
  const extra = pointsPerBatch === undefined ? {} : { pointsPerBatch };
  const gen = await MaskGenerator.load(group.model, { ...group.options, ...extra });
  const t0 = performance.now();
  const records = new Map<string, MaskRecord[]>();
  try {
    for (const name of group.images) records.set(name, await gen.generate(await photo(name)));
  } finally {
    await gen.release();
  }
  return { records, pointsPerBatch: gen.options.pointsPerBatch, seconds: (performance.now() - t0) / 1000 };
}

/** Runs one group with its model folder (points_per_batch overridden when given) and compares every image. */
export async function runGroup(run: GroupRun): Promise<GroupReport> {
  return compareGroup(run.group, await generateGroup(run));
}

/**
 * Compares records with the group's expected file, whoever produced them (the library here, a browser elsewhere):
 * every photo of the group must have its records.
 */
export function compareGroup(group: Group, { records, pointsPerBatch, seconds }: GroupRecords): GroupReport {
  const data = readExpected(group.file);
  const images = data.images.map((img) => {
    const actual = records.get(img.file_name);
    if (actual === undefined) throw new Error(`${group.family}/${group.name}: no records for ${img.file_name}`);
    const expected = data.annotations.filter((a) => a.image_id === img.id);
    return compareImage(group, img.file_name, expected, actual);
  });
  return summarize(group, pointsPerBatch, images, seconds);
}

/** An image's report before any pair is compared: every maximum at its best value. */
export function emptyImageReport(image: string, expected: number, actual: number, countOk: boolean): ImageReport {
  return {
    image,
    expected,
    actual,
    matched: 0,
    countOk,
    worstIou: 1,
    maxDIou: 0,
    maxDStability: 0,
    stabilityOver: 0,
    firstStabilityOver: '',
    maxDPoint: 0,
    maxDBbox: 0,
    cropBoxMismatches: 0,
    orderPairs: 0,
    orderInverted: 0,
    failures: [],
    unmatched: [],
  };
}

function compareImage(group: Group, image: string, expected: ExpectedAnnotation[], actual: MaskRecord[]): ImageReport {
  const f32 = group.family === 'sam2' ? Math.fround : (v: number) => v;
  const eItems: MatchItem[] = expected.map((a) => {
    const rle = fromCoco(a.segmentation);
    return { rle, area: a.area, box: rleBoxXYXY(rle) };
  });
  const aItems: MatchItem[] = actual.map((r) => ({ rle: r.segmentation, area: r.area, box: rleBoxXYXY(r.segmentation) }));
  const m = matchMasks(eItems, aItems, LIMITS.minIou);
  const rep = emptyImageReport(
    image,
    expected.length,
    actual.length,
    Math.abs(actual.length - expected.length) <= Math.max(1, LIMITS.countFraction * expected.length),
  );
  rep.matched = m.pairs.length;
  for (const p of m.pairs) {
    const e = expected[p.expected];
    const a = actual[p.actual];
    rep.worstIou = Math.min(rep.worstIou, p.iou);
    rep.maxDIou = Math.max(rep.maxDIou, Math.abs(e.predicted_iou - a.predictedIou));
    const dStab = Math.abs(e.stability_score - a.stabilityScore);
    rep.maxDStability = Math.max(rep.maxDStability, dStab);
    if (dStab > stabilityLimit(e.area)) {
      if (rep.stabilityOver === 0) {
        rep.firstStabilityOver = `${image}: expected mask #${p.expected} (area ${e.area}) stability ${e.stability_score}, actual ${a.stabilityScore} (limit ${stabilityLimit(e.area).toExponential(2)})`;
      }
      rep.stabilityOver++;
    }
    const dp = Math.max(Math.abs(f32(e.point_coords[0][0]) - f32(a.pointCoords[0])), Math.abs(f32(e.point_coords[0][1]) - f32(a.pointCoords[1])));
    rep.maxDPoint = Math.max(rep.maxDPoint, dp);
    rep.maxDBbox = Math.max(rep.maxDBbox, ...e.bbox.map((v, k) => Math.abs(v - a.bbox[k])));
    if (e.crop_box.some((v, k) => v !== a.cropBox[k])) rep.cropBoxMismatches++;
  }
  const order = orderAgreement(
    m.pairs.map((p) => ({
      expectedIndex: p.expected,
      actualIndex: p.actual,
      predictedIou: expected[p.expected].predicted_iou,
      cropBox: expected[p.expected].crop_box,
    })),
    LIMITS.orderIouTol,
  );
  rep.orderPairs = order.pairs;
  rep.orderInverted = order.inverted;
  if (!rep.countOk) rep.failures.push(`${image}: ${actual.length} masks, expected ${expected.length} (± ${Math.max(1, Math.floor(LIMITS.countFraction * expected.length))})`);
  if (m.missing.length > 0) {
    const i = m.missing[0];
    const e = expected[i];
    const near = nearestMask(eItems[i], aItems);
    const nearText = near
      ? `nearest actual #${near.index}: IoU ${near.iou.toFixed(4)}, area ${actual[near.index].area}, bbox [${actual[near.index].bbox.join(', ')}], predicted_iou ${actual[near.index].predictedIou}, stability ${actual[near.index].stabilityScore}, point [${actual[near.index].pointCoords.join(', ')}]`
      : 'no actual mask overlaps it';
    rep.unmatched.push(
      `${image}: expected mask #${i} unmatched (point [${e.point_coords[0].join(', ')}], area ${e.area}, bbox [${e.bbox.join(', ')}], predicted_iou ${e.predicted_iou}, stability ${e.stability_score}); ${nearText}; ${m.missing.length} unmatched in all`,
    );
  }
  return rep;
}

/** A group's figures over its images and its verdict against LIMITS (also used by the box-prompt groups). */
export function summarize(group: Pick<Group, 'family' | 'name'>, pointsPerBatch: number, images: ImageReport[], seconds: number): GroupReport {
  const sum = (f: (r: ImageReport) => number): number => images.reduce((s, r) => s + f(r), 0);
  const max = (f: (r: ImageReport) => number): number => images.reduce((s, r) => Math.max(s, f(r)), 0);
  const expected = sum((r) => r.expected);
  const matched = sum((r) => r.matched);
  const actual = sum((r) => r.actual);
  const orderPairs = sum((r) => r.orderPairs);
  const orderInverted = sum((r) => r.orderInverted);
  const rep: GroupReport = {
    family: group.family,
    group: group.name,
    pointsPerBatch,
    expected,
    actual,
    matched,
    recall: expected === 0 ? 1 : matched / expected,
    extra: actual - matched,
    extraAllowed: Math.max(1, LIMITS.extraFraction * expected),
    worstIou: images.reduce((s, r) => Math.min(s, r.matched ? r.worstIou : 1), 1),
    maxDIou: max((r) => r.maxDIou),
    maxDStability: max((r) => r.maxDStability),
    stabilityOver: sum((r) => r.stabilityOver),
    maxDPoint: max((r) => r.maxDPoint),
    maxDBbox: max((r) => r.maxDBbox),
    orderPairs,
    orderInverted,
    orderAgreement: orderPairs === 0 ? 1 : 1 - orderInverted / orderPairs,
    seconds,
    images,
    failures: [],
    ok: true,
  };
  const f = rep.failures;
  const where = `${group.family}/${group.name}`;
  if (rep.recall < LIMITS.minRecall) {
    f.push(`${where}: recall ${rep.recall.toFixed(4)} < ${LIMITS.minRecall}`);
    for (const r of images) for (const msg of r.unmatched) f.push(`${where}: ${msg}`);
  }
  if (rep.extra > rep.extraAllowed) f.push(`${where}: ${rep.extra} extra masks > ${rep.extraAllowed} allowed`);
  if (rep.maxDIou > LIMITS.iouTol) f.push(`${where}: predicted_iou differs by ${rep.maxDIou}`);
  if (rep.stabilityOver > 0) {
    const first = images.find((r) => r.stabilityOver > 0)?.firstStabilityOver ?? '';
    f.push(`${where}: ${rep.stabilityOver} stability_score(s) beyond max(${LIMITS.stabilityTol}, 1/area), first ${first}`);
  }
  if (rep.maxDPoint > LIMITS.pointTol) f.push(`${where}: point_coords differ by ${rep.maxDPoint} px`);
  if (rep.maxDBbox > LIMITS.bboxTol) f.push(`${where}: bbox differs by ${rep.maxDBbox} px`);
  if (sum((r) => r.cropBoxMismatches) > 0) f.push(`${where}: ${sum((r) => r.cropBoxMismatches)} matched records with another crop_box`);
  if (rep.orderAgreement < LIMITS.minOrderAgreement) {
    f.push(`${where}: ${orderInverted} of ${orderPairs} ordered pairs inverted (agreement ${rep.orderAgreement.toFixed(5)} < ${LIMITS.minOrderAgreement})`);
  }
  for (const r of images) for (const msg of r.failures) f.push(`${where}: ${msg}`);
  rep.ok = f.length === 0;
  return rep;
}

/**
 * Model folder a group ran with: the family's toy, or for use_m2m the SAM 2 toy in samexporter's layout, whose
 * decoder takes a mask prompt.
 */
export function modelDir(family: Family, options: Partial<AmgOptions> = {}): string {
  if (family === 'sam1') return path.join(CONFORMANCE, 'sam1-toy');
  return path.join(CONFORMANCE, options.useM2m ? 'sam2-toy-m2m' : 'sam2-toy');
}

/** One line per group, for the README's Fidelity table and the script. */
export function formatTable(reports: GroupReport[]): string {
  const head = ['family', 'group', 'batch', 'expected', 'actual', 'matched', 'recall', 'extra (allowed)', 'worst IoU', 'max Δiou', 'max Δstab', 'max Δpt', 'max Δbbox', 'order pairs', 'inverted', 'order', 'time s', 'ok'];
  const rows = reports.map((r) => [
    r.family,
    r.group,
    String(r.pointsPerBatch),
    String(r.expected),
    String(r.actual),
    String(r.matched),
    r.recall.toFixed(4),
    `${r.extra} (${Number(r.extraAllowed.toFixed(1))})`,
    r.worstIou.toFixed(4),
    sci(r.maxDIou),
    sci(r.maxDStability),
    sci(r.maxDPoint),
    String(r.maxDBbox),
    String(r.orderPairs),
    String(r.orderInverted),
    r.orderAgreement.toFixed(5),
    r.seconds.toFixed(1),
    r.ok ? 'yes' : 'NO',
  ]);
  const lines = [head, head.map(() => '---'), ...rows].map((c) => `| ${c.join(' | ')} |`);
  return lines.join('\n');
}

function sci(v: number): string {
  return v === 0 ? '0' : v.toExponential(1);
}
