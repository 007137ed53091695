/**
 * `sam-amg compare EXPECTED ACTUAL`: per image, match masks one-to-one by mask IoU on RLE (match.ts: greedy by
 * descending IoU, not an optimal assignment), then count matched / missing / extra, IoU statistics, images on one
 * side only and differing fields, and decide pass or fail against the limits.
 *
 * Two box-prompted outputs (`sam-amg segment`) are paired by detection instead (match.ts `matchByDetection`): each
 * record answers one detection, two detections with the same box give the same mask, and an empty mask is a valid
 * answer, so matching by mask would pair the wrong records. A pair matches at IoU ≥ --min-iou (two empty masks
 * match); its category, prompt box and score must be equal (a difference fails, like a score beyond --score-tol).
 */
import { boundText, withinBound, type OptionBound } from '../amg/options.js';
import { rleArea, rleBoxXYXY } from '../rle/rle.js';
import { matchByDetection, matchMasks, nearestMask, type MatchItem } from './match.js';
import type { MaskSet, SetAnnotation, SetImage } from '../output/read.js';
import { isPromptedFields } from '../output/records.js';
import { plural } from '../output/text.js';

/** The limits a comparison is judged against. */
export interface CompareLimits {
  /** A pair counts as a match at IoU ≥ minIou (0 < minIou ≤ 1). */
  minIou: number;
  /** Matched / expected masks (over images on both sides) must be ≥ this. */
  minRecall: number;
  /** Unmatched actual masks must be ≤ this. */
  maxExtra: number;
  /** predicted_iou and stability_score of a matched pair may differ by at most this. */
  scoreTol: number;
  /** Fail when an image is on one side only or has a different size. */
  failOnImageMismatch: boolean;
}

/** Defaults of the CLI. */
export const DEFAULT_LIMITS: CompareLimits = { minIou: 0.9, minRecall: 1, maxExtra: 0, scoreTol: 0.01, failOnImageMismatch: false };

/** A mask as named in a report. */
export interface MaskRef {
  file_name: string;
  /** The annotation id in its file. */
  id: number;
  /** Position among its image's annotations (0-based). */
  index: number;
  area: number;
  bbox: [number, number, number, number];
}

/** An expected mask without a match, with the closest actual mask (any IoU > 0) for the message. */
export interface MissingMask extends MaskRef {
  nearest: { id: number; iou: number } | null;
}

/** A matched pair. */
export interface MatchedMask {
  expected_id: number;
  actual_id: number;
  iou: number;
}

/** A field that differs within a matched pair. */
export interface FieldDiff {
  file_name: string;
  expected_id: number;
  actual_id: number;
  field: 'area' | 'bbox' | 'predicted_iou' | 'stability_score' | 'category_id' | 'prompt_box' | 'score';
  /** null: a prompted record without a score. */
  expected: number | number[] | null;
  actual: number | number[] | null;
  /** Whether this difference fails the comparison (scores beyond --score-tol do; area and bbox are informational). */
  fails: boolean;
}

/** One image present on both sides. */
export interface ImageReport {
  file_name: string;
  expected: number;
  actual: number;
  matched: number;
  mean_iou: number | null;
  min_iou: number | null;
  /** Set when the image is missing from the actual output: every expected mask of it counts as missing. */
  absent?: true;
  /** Set when the two sides disagree on the image's size (its masks then cannot match). */
  size_mismatch?: { expected: [number, number]; actual: [number, number] };
  matches: MatchedMask[];
  missing: MissingMask[];
  extra: MaskRef[];
}

/** The whole comparison. */
export interface CompareReport {
  expected: { path: string; format: string; images: number; masks: number };
  actual: { path: string; format: string; images: number; masks: number };
  /** Masks by IoU, or (two box-prompted outputs) records by detection. */
  matching: 'greedy-by-iou' | 'by-detection';
  limits: CompareLimits;
  /** False when one side holds no scores (a YOLO dataset): predicted_iou and stability_score are then not compared. */
  scores_compared: boolean;
  totals: {
    images_compared: number;
    expected_masks: number;
    actual_masks: number;
    matched: number;
    missing: number;
    extra: number;
    recall: number;
    mean_iou: number | null;
    min_iou: number | null;
    score_diffs: number;
    field_diffs: number;
  };
  only_in_expected: string[];
  only_in_actual: string[];
  size_mismatches: string[];
  images: ImageReport[];
  field_diffs: FieldDiff[];
  /** Why the comparison fails; empty when it passes. */
  failures: string[];
  pass: boolean;
}

/** The bounds of each numeric limit (inclusive unless marked). */
export const LIMIT_BOUNDS: Readonly<Record<'minIou' | 'minRecall' | 'maxExtra' | 'scoreTol', OptionBound>> = {
  minIou: { min: 0, max: 1, minExclusive: true },
  minRecall: { min: 0, max: 1 },
  maxExtra: { min: 0, max: Number.MAX_SAFE_INTEGER, integer: true },
  scoreTol: { min: 0, max: 1 },
};

/** The numeric limits, by key. */
export type LimitKey = keyof typeof LIMIT_BOUNDS;

/** A limit outside its bound. The message names it by its key; the CLI names it by its flag ({@link messageWith}). */
export class LimitError extends RangeError {
  override name = 'LimitError';

  constructor(
    readonly key: LimitKey,
    readonly value: number,
  ) {
    super(limitText(key, key, value));
  }

  /** The message with the limit named by `name(key)`, e.g. its command-line flag. */
  messageWith(name: (key: LimitKey) => string): string {
    return limitText(name(this.key), this.key, this.value);
  }
}

function limitText(name: string, key: LimitKey, value: number): string {
  const b = LIMIT_BOUNDS[key];
  return `${name} must be ${b.integer ? 'an integer' : 'a number'} in ${boundText(b)}, got ${value}`;
}

/**
 * The one check of the limits (the CLI calls it on its flags before reading anything, compareSets on what it is
 * given): each limit that is set must lie within its bound. Throws {@link LimitError}.
 */
export function checkLimits(l: Partial<CompareLimits>): void {
  for (const key of Object.keys(LIMIT_BOUNDS) as LimitKey[]) {
    const value = l[key];
    if (value !== undefined && !withinBound(value, LIMIT_BOUNDS[key])) throw new LimitError(key, value);
  }
}

/** A mask ready for matching: the RLE the reader decoded (never a bitmap), area and box from its runs. */
export function matchItem(a: Pick<SetAnnotation, 'rle'>): MatchItem {
  return { rle: a.rle, area: rleArea(a.rle), box: rleBoxXYXY(a.rle) };
}

/** Compares two outputs image by image (by file_name). */
export function compareSets(expected: MaskSet, actual: MaskSet, limits: CompareLimits): CompareReport {
  checkLimits(limits);
  const actualByName = new Map(actual.images.map((im) => [im.file_name, im]));
  const expectedNames = new Set(expected.images.map((im) => im.file_name));
  const onlyInExpected: string[] = [];
  const onlyInActual = actual.images.filter((im) => !expectedNames.has(im.file_name)).map((im) => im.file_name);
  const images: ImageReport[] = [];
  const fieldDiffs: FieldDiff[] = [];
  const scores = !expected.unscored && !actual.unscored;
  const byDetection = expected.prompted && actual.prompted;
  for (const e of expected.images) {
    const a = actualByName.get(e.file_name);
    if (!a) {
      onlyInExpected.push(e.file_name);
      // In a gate, an image the actual output lacks is not "not compared": all its masks are missed.
      images.push(absentImage(e));
      continue;
    }
    images.push(compareImage(e, a, limits, scores, fieldDiffs, byDetection));
  }
  const sizeMismatches = images.filter((r) => r.size_mismatch).map((r) => r.file_name);
  const allIous = images.flatMap((r) => r.matches.map((m) => m.iou));
  const expectedMasks = sum(images.map((r) => r.expected));
  const matched = sum(images.map((r) => r.matched));
  const missing = sum(images.map((r) => r.missing.length));
  const extra = sum(images.map((r) => r.extra.length));
  const scoreDiffs = fieldDiffs.filter((d) => d.fails && (d.field === 'predicted_iou' || d.field === 'stability_score')).length;
  const recall = expectedMasks === 0 ? 1 : matched / expectedMasks;
  const failures: string[] = [];
  if (recall < limits.minRecall) {
    const names = images.flatMap((r) => r.missing).map((m) => `${m.file_name}#${m.id}`);
    failures.push(
      `recall ${matched}/${expectedMasks} = ${fmt(recall)} < --min-recall ${limits.minRecall}; missing: ${names.slice(0, 20).join(', ')}${names.length > 20 ? `, … (${names.length} in all)` : ''}`,
    );
  }
  if (extra > limits.maxExtra) {
    const names = images.flatMap((r) => r.extra).map((m) => `${m.file_name}#${m.id}`);
    failures.push(`${plural(extra, 'extra mask')} > --max-extra ${limits.maxExtra}: ${names.slice(0, 20).join(', ')}${names.length > 20 ? ', …' : ''}`);
  }
  const detectionDiffs = fieldDiffs.filter((d) => d.fails && (d.field === 'category_id' || d.field === 'prompt_box' || d.field === 'score')).length;
  if (scoreDiffs > 0) failures.push(`${scoreDiffs} score difference${scoreDiffs === 1 ? '' : 's'} beyond --score-tol ${limits.scoreTol}`);
  if (detectionDiffs > 0) failures.push(`${plural(detectionDiffs, 'detection field')} (category_id, prompt_box, score) differ${detectionDiffs === 1 ? 's' : ''}`);
  if (limits.failOnImageMismatch) {
    if (onlyInExpected.length > 0) failures.push(`images only in expected: ${onlyInExpected.join(', ')}`);
    if (onlyInActual.length > 0) failures.push(`images only in actual: ${onlyInActual.join(', ')}`);
    if (sizeMismatches.length > 0) failures.push(`images whose size differs: ${sizeMismatches.join(', ')}`);
  }
  return {
    expected: { path: expected.path, format: expected.format, images: expected.images.length, masks: countMasks(expected.images) },
    actual: { path: actual.path, format: actual.format, images: actual.images.length, masks: countMasks(actual.images) },
    matching: byDetection ? 'by-detection' : 'greedy-by-iou',
    limits,
    scores_compared: scores,
    totals: {
      images_compared: images.filter((r) => !r.absent).length,
      expected_masks: expectedMasks,
      actual_masks: sum(images.map((r) => r.actual)),
      matched,
      missing,
      extra,
      recall,
      mean_iou: allIous.length === 0 ? null : sum(allIous) / allIous.length,
      min_iou: allIous.length === 0 ? null : minOf(allIous),
      score_diffs: scoreDiffs,
      field_diffs: fieldDiffs.length,
    },
    only_in_expected: onlyInExpected,
    only_in_actual: onlyInActual,
    size_mismatches: sizeMismatches,
    images,
    field_diffs: fieldDiffs,
    failures,
    pass: failures.length === 0,
  };
}

function ref(im: SetImage, ann: SetAnnotation, index: number): MaskRef {
  return { file_name: im.file_name, id: ann.id, index, area: ann.area, bbox: [...ann.bbox] };
}

function absentImage(e: SetImage): ImageReport {
  return {
    file_name: e.file_name,
    expected: e.annotations.length,
    actual: 0,
    matched: 0,
    mean_iou: null,
    min_iou: null,
    absent: true,
    matches: [],
    missing: e.annotations.map((ann, i) => ({ ...ref(e, ann, i), nearest: null })),
    extra: [],
  };
}

function compareImage(e: SetImage, a: SetImage, limits: CompareLimits, scores: boolean, diffs: FieldDiff[], byDetection: boolean): ImageReport {
  const base = { file_name: e.file_name, expected: e.annotations.length, actual: a.annotations.length };
  if (e.width !== a.width || e.height !== a.height) {
    return {
      ...base,
      matched: 0,
      mean_iou: null,
      min_iou: null,
      size_mismatch: { expected: [e.width, e.height], actual: [a.width, a.height] },
      matches: [],
      missing: e.annotations.map((ann, i) => ({ ...ref(e, ann, i), nearest: null })),
      extra: a.annotations.map((ann, j) => ref(a, ann, j)),
    };
  }
  const ei = e.annotations.map(matchItem);
  const ai = a.annotations.map(matchItem);
  const m = byDetection
    ? matchByDetection(e.annotations.map(detectionId), a.annotations.map(detectionId), ei, ai, limits.minIou)
    : { ...matchMasks(ei, ai, limits.minIou), partner: undefined };
  const matches = m.pairs.map((p) => {
    const ea = e.annotations[p.expected];
    const aa = a.annotations[p.actual];
    fieldDiffsOf(e.file_name, ea, aa, scores ? limits.scoreTol : null, diffs);
    return { expected_id: ea.id, actual_id: aa.id, iou: p.iou };
  });
  const ious = matches.map((x) => x.iou);
  return {
    ...base,
    matched: matches.length,
    mean_iou: ious.length === 0 ? null : sum(ious) / ious.length,
    min_iou: ious.length === 0 ? null : minOf(ious),
    matches,
    missing: m.missing.map((i) => {
      // By detection: the record's own partner (below --min-iou), if it has one; by mask: the closest mask.
      const near = m.partner ? m.partner.get(i) : nearestMask(ei[i], ai);
      return { ...ref(e, e.annotations[i], i), nearest: near ? { id: a.annotations[near.index].id, iou: near.iou } : null };
    }),
    extra: m.extra.map((j) => ref(a, a.annotations[j], j)),
  };
}

/** Differences of a matched pair; scores only when `tol` is set (both sides hold scores). */
function fieldDiffsOf(file: string, e: SetAnnotation, a: SetAnnotation, tol: number | null, out: FieldDiff[]): void {
  const base = { file_name: file, expected_id: e.id, actual_id: a.id };
  if (e.area !== a.area) out.push({ ...base, field: 'area', expected: e.area, actual: a.area, fails: false });
  if (e.bbox.some((v, i) => v !== a.bbox[i])) out.push({ ...base, field: 'bbox', expected: [...e.bbox], actual: [...a.bbox], fails: false });
  if (tol === null) return;
  for (const field of ['predicted_iou', 'stability_score'] as const) {
    if (Math.abs(e[field] - a[field]) > tol) out.push({ ...base, field, expected: e[field], actual: a[field], fails: true });
  }
  if (isPromptedFields(e) && isPromptedFields(a)) {
    // The detection's own fields: copied, so any difference means the two answered different detections.
    if (e.category_id !== a.category_id) out.push({ ...base, field: 'category_id', expected: e.category_id, actual: a.category_id, fails: true });
    if (e.prompt_box.some((v, i) => v !== a.prompt_box[i])) out.push({ ...base, field: 'prompt_box', expected: [...e.prompt_box], actual: [...a.prompt_box], fails: true });
    if (e.score !== a.score) out.push({ ...base, field: 'score', expected: e.score ?? null, actual: a.score ?? null, fails: true });
  }
}

/** A prompted record's detection id (by-detection pairing only runs on prompted outputs). */
function detectionId(a: SetAnnotation): number {
  return isPromptedFields(a) ? a.detection_id : -1;
}

/** The report as a human-readable table and lists, ending with PASS or FAIL. */
export function formatReport(r: CompareReport): string {
  const lines: string[] = [];
  lines.push(`expected: ${r.expected.path} (${r.expected.format}, ${plural(r.expected.images, 'image')}, ${plural(r.expected.masks, 'mask')})`);
  lines.push(`actual:   ${r.actual.path} (${r.actual.format}, ${plural(r.actual.images, 'image')}, ${plural(r.actual.masks, 'mask')})`);
  lines.push(
    r.matching === 'by-detection'
      ? `matching: box-prompted records by detection (detection_id, in file order), a match needs mask IoU ≥ ${r.limits.minIou} (two empty masks match)`
      : `matching: one-to-one, greedy by descending mask IoU (RLE), a match needs IoU ≥ ${r.limits.minIou}`,
  );
  if (!r.scores_compared) {
    const side = r.expected.format === 'yolo' ? r.expected.path : r.actual.path;
    lines.push(`scores: not compared (${side} is a YOLO dataset: its labels hold no scores)`);
  }
  lines.push('');
  const header = ['image', 'expected', 'actual', 'matched', 'missing', 'extra', 'mean IoU', 'min IoU'];
  const rows = r.images.map((im) => [
    im.file_name + (im.size_mismatch ? ' (size differs)' : im.absent ? ' (not in actual)' : ''),
    String(im.expected),
    String(im.actual),
    String(im.matched),
    String(im.missing.length),
    String(im.extra.length),
    fmtIou(im.mean_iou),
    fmtIou(im.min_iou),
  ]);
  const t = r.totals;
  rows.push([
    `total (${t.images_compared} compared${r.only_in_expected.length > 0 ? `, ${r.only_in_expected.length} missing` : ''})`,
    String(t.expected_masks),
    String(t.actual_masks),
    String(t.matched),
    String(t.missing),
    String(t.extra),
    fmtIou(t.mean_iou),
    fmtIou(t.min_iou),
  ]);
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((row) => row[c].length)));
  const line = (row: string[]): string => row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ');
  lines.push(line(header));
  lines.push(widths.map((w) => '-'.repeat(w)).join('  '));
  rows.forEach((row, i) => {
    if (i === rows.length - 1) lines.push(widths.map((w) => '-'.repeat(w)).join('  '));
    lines.push(line(row));
  });
  lines.push(`recall ${fmt(t.recall)} (min ${r.limits.minRecall}), extra ${t.extra} (max ${r.limits.maxExtra})`);
  const missing = r.images.flatMap((im) => im.missing);
  if (missing.length > 0) {
    lines.push('', 'missing (expected masks without a match):');
    for (const m of missing) {
      const near = m.nearest ? `nearest actual #${m.nearest.id} IoU ${fmtIou(m.nearest.iou)}` : 'no overlapping actual mask';
      lines.push(`  ${m.file_name}#${m.id}  area ${m.area}  bbox [${m.bbox.join(', ')}]  ${near}`);
    }
  }
  const extra = r.images.flatMap((im) => im.extra);
  if (extra.length > 0) {
    lines.push('', 'extra (actual masks without a match):');
    for (const m of extra) lines.push(`  ${m.file_name}#${m.id}  area ${m.area}  bbox [${m.bbox.join(', ')}]`);
  }
  if (r.field_diffs.length > 0) {
    const detection = r.matching === 'by-detection' ? ', as do category_id, prompt_box and score' : '';
    lines.push('', `differing fields of matched masks (scores beyond ±${r.limits.scoreTol} fail${detection}; area and bbox are informational):`);
    for (const d of r.field_diffs.slice(0, 50)) {
      const v = (x: number | number[] | null): string => (x === null ? 'none' : Array.isArray(x) ? `[${x.join(', ')}]` : String(x));
      lines.push(`  ${d.file_name}#${d.expected_id} ↔ #${d.actual_id}  ${d.field}  ${v(d.expected)} → ${v(d.actual)}${d.fails ? '  (fails)' : ''}`);
    }
    if (r.field_diffs.length > 50) lines.push(`  … ${r.field_diffs.length - 50} more (see --json)`);
  }
  for (const [label, list, informational] of [
    ['images only in expected (their masks count as missing)', r.only_in_expected, false],
    ['images only in actual', r.only_in_actual, true],
    ['images whose size differs', r.size_mismatches, true],
  ] as const) {
    const note = r.limits.failOnImageMismatch || !informational ? '' : ' (not compared; --fail-on-image-mismatch to fail)';
    if (list.length > 0) lines.push('', `${label}${note}: ${list.join(', ')}`);
  }
  lines.push('');
  if (r.pass) lines.push('PASS');
  else for (const f of r.failures) lines.push(`FAIL: ${f}`);
  return `${lines.join('\n')}\n`;
}

function countMasks(images: SetImage[]): number {
  return sum(images.map((im) => im.annotations.length));
}

function minOf(xs: number[]): number {
  let m = Infinity;
  for (const x of xs) if (x < m) m = x;
  return m;
}

function sum(xs: number[]): number {
  let s = 0;
  for (const x of xs) s += x;
  return s;
}

function fmt(x: number): string {
  return Number.isInteger(x) ? String(x) : x.toFixed(4);
}

function fmtIou(x: number | null): string {
  return x === null ? '-' : x.toFixed(4);
}
