/**
 * The box-prompt groups of the conformance harness: the reference predictors' records on a detection file
 * (../shared/conformance/prompts: `sam1-*.json` from SamPredictor, `sam2-*.json` from SAM2ImagePredictor) against
 * BoxSegmenter's, with the same LIMITS as every group (harness.ts). Records are paired by detection (its
 * detection_id, in file order), not by mask: a pair counts as matched at mask IoU ≥ LIMITS.minIou, an empty mask
 * matching an empty mask; predicted IoU, stability score and bbox are held to the same limits; category, prompt box
 * and score must be the detection's.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { BoxXYWH } from '../../src/base/types.js';
import { BoxSegmenter, type PromptedRecord } from '../../src/prompt/box-segmenter.js';
import { parseDetectionsText } from '../../src/prompt/detections.js';
import { loadModel } from '../../src/node/model-folder.js';
import { fromCoco, rleBoxXYXY, type Rle } from '../../src/rle/rle.js';
import { maskIou } from '../../src/compare/match.js';
import { CONFORMANCE, emptyImageReport, LIMITS, photo, stabilityLimit, summarize, type Family, type GroupReport, type ImageReport } from './harness.js';

export const PROMPTS = path.join(CONFORMANCE, 'prompts');

/** One box-prompt group: an expected file, the detection file it was made from, the model it ran with. */
export interface PromptGroup {
  family: Family;
  /** The expected file's name without the family prefix (`boxes` for sam1-boxes.json). */
  name: string;
  file: string;
  detections: string;
  model: string;
  /** boxesPerBatch values to run it with besides the default (batching must not change records). */
  extraBatches: number[];
}

interface ExpectedRecord {
  image_id: number;
  category_id: number;
  segmentation: { size: [number, number]; counts: string };
  area: number;
  bbox: BoxXYWH;
  predicted_iou: number;
  stability_score: number;
  prompt_box: BoxXYWH;
  detection_id: number;
  score?: number;
}
interface ExpectedFile {
  info?: { detections?: string };
  images: { id: number; file_name: string }[];
  annotations: ExpectedRecord[];
}

/**
 * The box-prompt groups present for a family (all families by default): every `sam1-*.json` / `sam2-*.json` of the
 * prompts folder, with the detection file its `info.detections` names when that file is there, else detections.json.
 */
export function listPromptGroups(family?: Family): PromptGroup[] {
  if (!existsSync(PROMPTS)) return [];
  return readdirSync(PROMPTS)
    .filter((f) => /^sam[12]-.+\.json$/.test(f))
    .sort()
    .map((f): PromptGroup => {
      const fam = f.slice(0, 4) as Family;
      const file = path.join(PROMPTS, f);
      const named = readExpected(file).info?.detections;
      const detections = named && existsSync(path.join(PROMPTS, named)) ? path.join(PROMPTS, named) : path.join(PROMPTS, 'detections.json');
      return { family: fam, name: f.slice(5, -'.json'.length), file, detections, model: path.join(CONFORMANCE, `${fam}-toy-prompts`), extraBatches: [1, 5] };
    })
    .filter((g) => family === undefined || g.family === family);
}

/** One run of a group: the default boxesPerBatch (undefined) or another. */
export interface PromptRun {
  group: PromptGroup;
  boxesPerBatch?: number;
}

export function promptRuns(groups: PromptGroup[]): PromptRun[] {
  return groups.flatMap((group) => [{ group }, ...group.extraBatches.map((boxesPerBatch) => ({ group, boxesPerBatch }))]);
}

export function promptRunName(run: PromptRun): string {
  return run.boxesPerBatch === undefined ? run.group.name : `${run.group.name} batch ${run.boxesPerBatch}`;
}

/** Records of one run, in the detection file's order. */
export interface PromptRecords {
  records: PromptedRecord[];
  boxesPerBatch: number;
  seconds: number;
}

/** Runs a group with BoxSegmenter on the photos its detection file names. */
export async function generatePromptGroup({ group, boxesPerBatch }: PromptRun): Promise<PromptRecords> {
  const detections = parseDetectionsText(readFileSync(group.detections, 'utf8'), group.detections);
  const errors = detections.problems.filter((p) => p.level === 'error');
  if (errors.length > 0) throw new Error(errors.map((p) => p.message).join('\n'));
  const seg = await BoxSegmenter.fromModel(loadModel(group.model, { threads: 2 }), boxesPerBatch === undefined ? {} : { boxesPerBatch });
  const t0 = performance.now();
  const records: { index: number; record: PromptedRecord }[] = [];
  try {
    for (const image of detections.images) {
      if (image.detections.length === 0) continue;
      const recs = await seg.segmentDetections(await photo(image.fileName), image);
      recs.forEach((record, i) => records.push({ index: image.detections[i].index, record }));
    }
  } finally {
    await seg.release();
  }
  records.sort((a, b) => a.index - b.index);
  return { records: records.map((r) => r.record), boxesPerBatch: seg.options.boxesPerBatch, seconds: (performance.now() - t0) / 1000 };
}

export async function runPromptGroup(run: PromptRun): Promise<GroupReport> {
  return comparePromptGroup(run.group, await generatePromptGroup(run));
}

/** Compares a run's records with the group's expected file, detection by detection. */
export function comparePromptGroup(group: PromptGroup, { records, boxesPerBatch, seconds }: PromptRecords): GroupReport {
  const data = readExpected(group.file);
  // Expected records by detection id, in file order (a repeated id pairs in order of appearance).
  const queue = new Map<number, number[]>();
  data.annotations.forEach((e, i) => queue.set(e.detection_id, [...(queue.get(e.detection_id) ?? []), i]));
  const partner = records.map((a) => queue.get(a.detectionId)?.shift());
  const images: ImageReport[] = data.images.map((img) => {
    const expected = data.annotations.flatMap((e, i) => (e.image_id === img.id ? [i] : []));
    const actual = records.flatMap((a, i) => (a.imageId === img.id ? [i] : []));
    return compareImage(img.file_name, data.annotations, expected, records, actual, partner);
  });
  const stray = records.filter((a) => !data.images.some((img) => img.id === a.imageId));
  const rep = summarize(group, boxesPerBatch, images, seconds);
  if (stray.length > 0) {
    rep.failures.push(`${group.family}/${group.name}: ${stray.length} records for images the expected file does not have (first: image_id ${stray[0].imageId})`);
    rep.ok = false;
  }
  return rep;
}

function compareImage(
  image: string,
  all: ExpectedRecord[],
  expected: number[],
  records: PromptedRecord[],
  actual: number[],
  partner: (number | undefined)[],
): ImageReport {
  const rep = emptyImageReport(image, expected.length, actual.length, actual.length === expected.length);
  if (!rep.countOk) rep.failures.push(`${image}: ${actual.length} records, expected ${expected.length} (one per detection)`);
  const paired = new Set<number>();
  for (const ai of actual) {
    const a = records[ai];
    const ei = partner[ai];
    if (ei === undefined || all[ei].image_id !== a.imageId) {
      rep.failures.push(`${image}: record for detection ${a.detectionId} has no expected record`);
      continue;
    }
    paired.add(ei);
    const e = all[ei];
    const iou = pairIou(fromCoco(e.segmentation), e.area, a.segmentation, a.area);
    rep.worstIou = Math.min(rep.worstIou, iou);
    if (iou < LIMITS.minIou) {
      if (rep.unmatched.length === 0) {
        rep.unmatched.push(
          `${image}: detection ${e.detection_id} (prompt box [${e.prompt_box.join(', ')}]): mask IoU ${iou.toFixed(4)}; expected area ${e.area}, bbox [${e.bbox.join(', ')}], predicted_iou ${e.predicted_iou}; actual area ${a.area}, bbox [${a.bbox.join(', ')}], predicted_iou ${a.predictedIou}`,
        );
      }
      continue;
    }
    rep.matched++;
    rep.maxDIou = Math.max(rep.maxDIou, Math.abs(e.predicted_iou - a.predictedIou));
    const dStab = Math.abs(e.stability_score - a.stabilityScore);
    rep.maxDStability = Math.max(rep.maxDStability, dStab);
    if (dStab > stabilityLimit(e.area)) {
      if (rep.stabilityOver === 0) {
        rep.firstStabilityOver = `${image}: detection ${e.detection_id} (area ${e.area}) stability ${e.stability_score}, actual ${a.stabilityScore} (limit ${stabilityLimit(e.area).toExponential(2)})`;
      }
      rep.stabilityOver++;
    }
    rep.maxDBbox = Math.max(rep.maxDBbox, ...e.bbox.map((v, k) => Math.abs(v - a.bbox[k])));
    const fields: [string, unknown, unknown][] = [
      ['category_id', e.category_id, a.categoryId],
      ['prompt_box', e.prompt_box.join(', '), a.promptBox.join(', ')],
      ['score', e.score, a.score],
    ];
    for (const [name, want, got] of fields) {
      if (want !== got) rep.failures.push(`${image}: detection ${e.detection_id}: ${name} ${String(got)}, expected ${String(want)}`);
    }
  }
  const missing = expected.filter((ei) => !paired.has(ei));
  if (missing.length > 0) rep.failures.push(`${image}: no record for detection ${all[missing[0]].detection_id} (${missing.length} missing)`);
  return rep;
}

/** Mask IoU of a pair; two empty masks are equal (IoU 1). */
function pairIou(e: Rle, eArea: number, a: Rle, aArea: number): number {
  if (eArea === 0 && aArea === 0) return 1;
  if (e.h !== a.h || e.w !== a.w) return 0;
  return maskIou({ rle: e, area: eArea, box: rleBoxXYXY(e) }, { rle: a, area: aArea, box: rleBoxXYXY(a) });
}

const cache = new Map<string, ExpectedFile>();
function readExpected(file: string): ExpectedFile {
  let data = cache.get(file);
  if (!data) {
    data = JSON.parse(readFileSync(file, 'utf8')) as ExpectedFile;
    cache.set(file, data);
  }
  return data;
}
