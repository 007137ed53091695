/**
 * Measures the polygon tolerance table of docs/polygons.md: masks from the fixture models on the shared photos,
 * traced, simplified at 0, 0.5, 1 and 2 px, rasterised back with the COCO rule, compared with the mask.
 * Usage: npx tsx scripts/polygon-tolerance.ts [--images DIR] [--json]
 * Exits 1 if the tolerance-0 round trip misses (IoU with the hole-filled mask below 1 for any mask).
 */
import { readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { decodeImage, MaskGenerator } from '../src/index.js';
import { cocoPolygonLists, maskToPolygons, rleFromPolygons, simplifyPolygons } from '../src/polygon/index.js';
import { decodeToRowMajor, encodeRowMajor, rleArea, rleIou, type Rle } from '../src/rle/rle.js';

const args = process.argv.slice(2);
const imagesDir = resolve(args.includes('--images') ? args[args.indexOf('--images') + 1] : '../shared/images');
const TOLERANCES = [0, 0.5, 1, 2];
const MODELS = [
  { name: 'sam1-tiny', dir: 'fixtures/models/sam1-tiny' },
  { name: 'sam2-tiny', dir: 'fixtures/models/sam2-tiny' },
];

/** The mask with its holes filled, by a 4-connected flood of the background from the border (full frame: fine here). */
function filledMask(rle: Rle): Rle {
  const { h, w } = rle;
  const bits = decodeToRowMajor(rle);
  const out = new Uint8Array(h * w).fill(1);
  const stack: number[] = [];
  const seed = (i: number): void => {
    if (!bits[i] && out[i]) {
      out[i] = 0;
      stack.push(i);
    }
  };
  for (let x = 0; x < w; x++) [seed(x), seed((h - 1) * w + x)];
  for (let y = 0; y < h; y++) [seed(y * w), seed(y * w + w - 1)];
  while (stack.length > 0) {
    const i = stack.pop() as number;
    const x = i % w;
    if (x > 0) seed(i - 1);
    if (x < w - 1) seed(i + 1);
    if (i >= w) seed(i - w);
    if (i + w < h * w) seed(i + w);
  }
  return encodeRowMajor(out, h, w);
}

interface Row {
  model: string;
  tolerance: number;
  masks: number;
  vertices: number[];
  iouMask: number[];
  iouFilled: number[];
  vanished: number;
  keptExact: number;
  msPerMask: number;
}

const quantile = (xs: number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
};
const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

const images = readdirSync(imagesDir).filter((f) => /\.(jpe?g|png)$/i.test(f)).sort();
const rows: Row[] = [];
let roundTripFailures = 0;
let holeMasks = 0;
let totalMasks = 0;
const fillIous: number[] = [];
for (const model of MODELS) {
  const gen = await MaskGenerator.load(model.dir);
  const masks: Rle[] = [];
  for (const f of images) {
    const img = await decodeImage(join(imagesDir, f));
    const records = await gen.generate(img);
    for (const r of records) masks.push(r.segmentation);
    process.stderr.write(`${model.name} ${f}: ${records.length} masks\n`);
  }
  const byTol = new Map<number, Row>(TOLERANCES.map((t) => [t, { model: model.name, tolerance: t, masks: 0, vertices: [], iouMask: [], iouFilled: [], vanished: 0, keptExact: 0, msPerMask: 0 }]));
  for (const rle of masks) {
    if (rleArea(rle) < 100) continue;
    const filled = filledMask(rle);
    totalMasks++;
    const fillIou = rleIou(filled, rle);
    fillIous.push(fillIou);
    if (fillIou < 1) holeMasks++;
    const t0 = performance.now();
    const traced = maskToPolygons(rle);
    const traceMs = performance.now() - t0;
    for (const tol of TOLERANCES) {
      const row = byTol.get(tol) as Row;
      const t1 = performance.now();
      const s = simplifyPolygons(traced, tol);
      const lists = cocoPolygonLists(s);
      row.msPerMask += traceMs + performance.now() - t1;
      const back = rleFromPolygons(lists, rle.h, rle.w);
      row.masks++;
      row.vertices.push(lists.reduce((n, l) => n + l.length / 2, 0));
      row.iouMask.push(rleIou(back, rle));
      const iouFilled = rleIou(back, filled);
      row.iouFilled.push(iouFilled);
      if (s.report.vanishedParts.length > 0) row.vanished++;
      if (s.report.keptExact) row.keptExact++;
      if (tol === 0 && iouFilled !== 1) roundTripFailures++;
    }
  }
  for (const row of byTol.values()) {
    row.msPerMask /= Math.max(1, row.masks);
    rows.push(row);
  }
}

console.log('| model | tolerance (px) | masks ≥ 100 px | vertices / mask: median (p90) | IoU with the filled mask: mean / min | IoU with the mask: mean / min | masks losing a part |');
console.log('|---|---|---|---|---|---|---|');
for (const r of rows) {
  console.log(
    `| ${r.model} | ${r.tolerance} | ${r.masks} | ${quantile(r.vertices, 0.5)} (${quantile(r.vertices, 0.9)}) | ` +
      `${mean(r.iouFilled).toFixed(4)} / ${Math.min(...r.iouFilled).toFixed(4)} | ${mean(r.iouMask).toFixed(4)} / ${Math.min(...r.iouMask).toFixed(4)} | ${r.vanished} |`,
  );
}
console.log(`\nmasks ≥ 100 px: ${totalMasks}; with holes: ${holeMasks}; IoU(filled, mask) mean ${mean(fillIous).toFixed(4)}, min ${Math.min(...fillIous).toFixed(4)}`);
console.log(`tolerance-0 round trip (COCO rule vs hole-filled mask, IoU must be 1): ${roundTripFailures === 0 ? 'holds for every mask' : `${roundTripFailures} failures`}`);
console.log(`ms per mask (trace + simplify, loaded machine): ${rows.map((r) => `${r.model}@${r.tolerance}: ${r.msPerMask.toFixed(2)}`).join(', ')}`);
if (args.includes('--json')) console.log(JSON.stringify(rows.map((r) => ({ ...r, vertices: undefined, iouMask: undefined, iouFilled: undefined }))));
process.exitCode = roundTripFailures === 0 ? 0 : 1;
