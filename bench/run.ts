/**
 * `npm run bench`: the real pipeline (decode → generate → COCO JSON) on ../shared/images, with a breakdown of where
 * the time goes, candidate counts after each filter, peak RSS, fast-vs-plain post-processing on the same candidates,
 * and a generated 6000×4000 image with --crop-n-layers 1 for the memory bound.
 *
 * Usage: npm run bench -- [--json] [--model fixture|cost|vitb|both|all] [--points-per-side n] [--points-per-batch n]
 *        [--images truck.jpg,dog.jpg] [--threads n] [--concurrency n] [--compare n] [--no-big] [--big-only]
 *        [--big-model fixture|cost] [--big-points-per-side n (default 8)] [--no-optimise]
 *        [--vitb-images truck.jpg] [--vitb-points-per-side n (default 32)] [--no-all-candidates] [--ab-rounds n (default 3)]
 *        [--encoder-rounds n (default 2)] [--pass-gains]
 *
 * Models: fixture (sam1-tiny), cost (the cost-realistic sam1-tiny), vitb (the real-architecture ViT-B image encoder,
 * prompt encoder and mask decoder of ../shared/perf with seeded random weights, see bench/vitb.ts); both = fixture +
 * cost; all (default) = all three. The vitb row also measures the ONNX Runtime floor in the same process after
 * sam-amg's run (one encoder run plus the exported decoder's calls on the same image and prompts, both graphs as
 * exported in fresh sessions with ONNX Runtime's default options), and runs once more with every candidate
 * post-processed (--pred-iou-thresh 0 --stability-score-thresh 0), whose floor is the same ONNX Runtime work. On a
 * shared machine figures minutes apart drift with the load; the row therefore also times the encoder alone
 * (--encoder-rounds) and the decoder alone (--ab-rounds), optimised and as exported, alternating on the same input,
 * and with --pass-gains what each optimiser pass is worth (the graph without it against the full one).
 *
 * Each model configuration runs in its own child process, so every peak RSS figure is that run's alone (for the
 * vitb row, sam-amg's figure, load included, is taken before the floor runs). The generated models are written to
 * a temporary folder and deleted afterwards. With --json the last line is one JSON object: the vitb row's figures
 * when it ran (wall_s, floor_s, encoder_s, encoder_floor_s, decoder_ms_per_prompt, peak_rss_mb, load_s, …), else
 * the last model run's.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pLimit from 'p-limit';
import sharp from 'sharp';
import { writeCostRealisticModel } from '../fixtures/cost-realistic.js';
import { measureAlone, measureFloor, writeVitbModel, type AloneResult, type FloorResult } from './vitb.js';
import { MaskGenerator, type GeneratorStats } from '../src/amg/generator.js';
import { loadModel } from '../src/node/model-folder.js';
import { createCandidateEvaluator, postprocessWorkerCount } from '../src/node/postprocess-pool.js';
import { decodeImage } from '../src/node/decode.js';
import { CandidateMasker } from '../src/mask/candidate-mask.js';
import { UpscalePlan } from '../src/mask/upscale.js';
import type { LogitGeometry } from '../src/base/types.js';
import type { DecodedBatch, EncodedCrop } from '../src/model/adapter.js';
import { cocoDocument, cocoChunks, type ImageResult } from '../src/output/index.js';
import { writeFileAtomic } from '../src/fs/atomic.js';
import { defaultThreads } from '../src/node/session.js';
import { encodeRowMajor, uncropRle } from '../src/rle/rle.js';
import { plainMask, upscalePlain } from '../test/oracle/plain-postprocess.js';
import { args, flag, num, opt } from './args.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');

/** One image's row of the table. */
interface ImageRow {
  image: string;
  width: number;
  height: number;
  wallS: number;
  decodeS: number;
  preprocessS: number;
  encoderS: number;
  decoderS: number;
  postprocessS: number;
  waitS: number;
  nmsS: number;
  writeS: number;
  masks: number;
  stats: GeneratorStats;
  peakRssMb: number;
}

/** What a worker reports to the parent. */
interface RunReport {
  model: string;
  label: string;
  threads: number;
  pointsPerBatch: number;
  concurrency: number;
  rows: ImageRow[];
  total: ImageRow;
  compare?: { candidates: number; fastMs: number; plainMs: number; pixels: number };
  /** The decoder optimiser's passes (empty: the exported graph ran) and why not. */
  optimiser: { passes: readonly string[]; notOptimised?: string };
  /** The encoder graph optimiser's passes (empty: the exported graph ran) and why not. */
  encoderOptimiser: { passes: readonly string[]; notOptimised?: string };
  /** Seconds loadModel took (graph optimisers and their probes included), and the process's peak RSS after it. */
  loadS: number;
  loadPeakRssMb: number;
  /** ONNX Runtime alone on the same images and prompts (vitb row with --floor), and the process's peak RSS after. */
  floor?: FloorResult & { peakRssMb: number };
  /** The encoder and the decoder alone, optimised and as exported, alternating (vitb row with --floor). */
  alone?: AloneResult;
  allCandidates: boolean;
}

const peakRssMb = (): number => process.resourceUsage().maxRSS / 1024;
const now = (): number => performance.now() / 1000;
const cpuNow = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

function statsDelta(a: GeneratorStats, b: GeneratorStats): GeneratorStats {
  const out = { ...b };
  for (const k of Object.keys(out) as (keyof GeneratorStats)[]) out[k] = b[k] - a[k];
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Worker: one model configuration over the images.
// ---------------------------------------------------------------------------------------------------------------

async function worker(): Promise<void> {
  const kind = opt('--worker') as 'fixture' | 'cost' | 'vitb';
  const threads = num('--threads') ?? defaultThreads();
  const concurrency = num('--concurrency') ?? 1;
  const compareN = num('--compare') ?? 0;
  const big = opt('--big-image');
  let images: string[];
  if (big) {
    images = [big];
  } else {
    const names = (opt('--images') ?? 'truck.jpg,dog.jpg,groceries.jpg,cars.jpg').split(',').map((s) => s.trim());
    images = names.map((n) => (path.isAbsolute(n) || existsSync(n) ? n : path.join(root, '..', 'shared', 'images', n)));
  }
  let tmp: string | undefined;
  let modelDir = path.join(root, 'fixtures', 'models', 'sam1-tiny');
  let label = 'fixtures/models/sam1-tiny';
  if (kind === 'cost') {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'sam-amg-bench-'));
    modelDir = path.join(tmp, 'model');
    const info = await writeCostRealisticModel(modelDir);
    label = `cost-realistic (${info.encoderGflop.toFixed(0)} GFLOP/encoder run, ${info.decoderGflopPerPrompt.toFixed(1)} GFLOP/prompt)`;
  } else if (kind === 'vitb') {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'sam-amg-bench-'));
    modelDir = path.join(tmp, 'model');
    label = await writeVitbModel(root, modelDir);
  }
  try {
    const amg: Record<string, number> = {};
    if (num('--points-per-side') !== undefined) amg.pointsPerSide = num('--points-per-side') as number;
    if (num('--points-per-batch') !== undefined) amg.pointsPerBatch = num('--points-per-batch') as number;
    if (num('--crop-n-layers') !== undefined) amg.cropNLayers = num('--crop-n-layers') as number;
    if (num('--pred-iou-thresh') !== undefined) amg.predIouThresh = num('--pred-iou-thresh') as number;
    if (num('--stability-score-thresh') !== undefined) amg.stabilityScoreThresh = num('--stability-score-thresh') as number;
    const allCandidates = amg.predIouThresh === 0 && amg.stabilityScoreThresh === 0;
    if (allCandidates) label += ', every candidate post-processed';
    // As the CLI builds it: post-processing on the cores ONNX Runtime leaves idle (none on a 2-core machine).
    const tLoad = now();
    const model = await loadModel(modelDir, { threads, optimise: !flag('--no-optimise') });
    const loadS = now() - tLoad;
    const loadPeakRssMb = peakRssMb();
    const gen = new MaskGenerator(model.adapter, amg, model, createCandidateEvaluator(postprocessWorkerCount('auto', threads, concurrency)));
    const optimiser = { passes: model.decoder.passes, notOptimised: model.decoder.notOptimised };
    const encoderOptimiser = { passes: model.encoder.passes, notOptimised: model.encoder.notOptimised };
    const adapter = gen.adapter;
    // Candidates for the fast-vs-plain comparison: copies of the logits that pass the IoU filter, first image only.
    const captured: { logits: Float32Array; geom: LogitGeometry; w: number; h: number }[] = [];
    if (compareN > 0) {
      const decode = adapter.decode.bind(adapter);
      adapter.decode = async (crop: EncodedCrop, points: Float64Array, count: number, o?: object): Promise<DecodedBatch> => {
        const out = await decode(crop, points, count, o);
        const cells = crop.geometry.lowRes * crop.geometry.lowRes;
        for (let i = 0; i < out.count * out.masksPerPrompt && captured.length < compareN; i++) {
          if (out.iou[i] > Math.fround(gen.options.predIouThresh)) {
            captured.push({ logits: out.logits.slice(i * cells, (i + 1) * cells), geom: crop.geometry, w: crop.width, h: crop.height });
          }
        }
        return out;
      };
    }
    const rows: ImageRow[] = [];
    const t0 = now();
    const results: ImageResult[] = [];
    const limit = pLimit(concurrency);
    let writeS = 0;
    await Promise.all(
      images.map((file, idx) =>
        limit(async () => {
          const tStart = now();
          const s0 = { ...gen.stats };
          const a0 = { ...adapter.timings };
          const image = await decodeImage(file, { maxPixels: Infinity });
          const decodeS = now() - tStart;
          const records = await gen.generate(image);
          const a1 = adapter.timings;
          const stats = statsDelta(s0, gen.stats);
          const result: ImageResult = { relPath: path.basename(file), width: image.width, height: image.height, records };
          results[idx] = result;
          // RLE → COCO strings and JSON text of this image's annotations, as the writer produces them.
          const tw = now();
          let chars = 0;
          for (const chunk of cocoChunks(cocoDocument([result], { version: 'bench', date: null, model: kind, modelSha256: '', options: {}, errors: [] }))) {
            chars += chunk.length;
          }
          const w = now() - tw;
          writeS += w;
          void chars;
          rows.push({
            image: path.basename(file),
            width: image.width,
            height: image.height,
            wallS: now() - tStart,
            decodeS,
            preprocessS: a1.preprocess - a0.preprocess,
            encoderS: a1.encoder - a0.encoder,
            decoderS: a1.decoder - a0.decoder,
            postprocessS: stats.postprocessS,
            waitS: stats.decodeWaitS,
            nmsS: stats.nmsS + stats.smallRegionsS,
            writeS: w,
            masks: records.length,
            stats,
            peakRssMb: peakRssMb(),
          });
        }),
      ),
    );
    // The whole document written once, as the CLI does.
    const out = path.join(tmp ?? (await mkdtemp(path.join(os.tmpdir(), 'sam-amg-bench-out-'))), 'out.json');
    const tw = now();
    await writeFileAtomic(out, cocoChunks(cocoDocument(results, { version: 'bench', date: null, model: kind, modelSha256: '', options: {}, errors: [] })));
    writeS += now() - tw;
    if (!tmp) await rm(path.dirname(out), { recursive: true, force: true });
    const wallS = now() - t0;
    const sum = (f: (r: ImageRow) => number): number => rows.reduce((s, r) => s + f(r), 0);
    const zero = statsDelta(gen.stats, gen.stats);
    const total: ImageRow = {
      image: 'total',
      width: 0,
      height: 0,
      wallS,
      decodeS: sum((r) => r.decodeS),
      preprocessS: sum((r) => r.preprocessS),
      encoderS: adapter.timings.encoder,
      decoderS: adapter.timings.decoder,
      postprocessS: gen.stats.postprocessS,
      waitS: gen.stats.decodeWaitS,
      nmsS: gen.stats.nmsS + gen.stats.smallRegionsS,
      writeS,
      masks: sum((r) => r.masks),
      stats: statsDelta(zero, gen.stats),
      peakRssMb: peakRssMb(),
    };
    await gen.release();
    let floor: RunReport['floor'];
    if (flag('--floor')) {
      // After sam-amg's run and its peak RSS: the same encoder and decoder files alone, on the same images.
      const sum: FloorResult = { encoderS: 0, decoderS: 0, totalS: 0, prompts: 0, calls: 0 };
      for (const file of images) {
        const image = await decodeImage(file, { maxPixels: Infinity });
        const f = await measureFloor(modelDir, image, {
          threads,
          pointsPerSide: gen.options.pointsPerSide as number,
          pointsPerBatch: gen.options.pointsPerBatch,
        });
        for (const k of Object.keys(sum) as (keyof FloorResult)[]) sum[k] += f[k];
      }
      floor = { ...sum, peakRssMb: peakRssMb() };
    }
    let alone: AloneResult | undefined;
    const rounds = num('--ab-rounds') ?? 3;
    if (flag('--floor') && rounds > 0) {
      const image = await decodeImage(images[0], { maxPixels: Infinity });
      alone = await measureAlone(modelDir, image, {
        threads,
        pointsPerSide: gen.options.pointsPerSide as number,
        pointsPerBatch: gen.options.pointsPerBatch,
        rounds,
        encoderRounds: num('--encoder-rounds') ?? 2,
        passGains: flag('--pass-gains'),
      });
    }
    const report: RunReport = {
      model: kind === 'cost' ? 'cost-realistic' : kind === 'vitb' ? 'vitb' : 'sam1-tiny',
      label,
      threads,
      pointsPerBatch: gen.options.pointsPerBatch,
      concurrency,
      rows,
      total,
      optimiser,
      encoderOptimiser,
      loadS,
      loadPeakRssMb,
      floor,
      alone,
      allCandidates,
    };
    if (captured.length > 0) report.compare = compareFastPlain(captured, gen.options);
    process.stdout.write(`BENCH_REPORT ${JSON.stringify(report)}\n`);
  } finally {
    if (tmp) await rm(tmp, { recursive: true, force: true });
  }
}

/**
 * Times the fast and the plain post-processing on the same candidates, and checks that they agree. Times are CPU
 * time of the process (ONNX Runtime is idle by then), so a machine shared with other work skews them less.
 */
function compareFastPlain(
  cands: { logits: Float32Array; geom: LogitGeometry; w: number; h: number }[],
  o: { maskThreshold: number; stabilityScoreOffset: number },
): { candidates: number; fastMs: number; plainMs: number; pixels: number } {
  const t = Math.fround(o.maskThreshold);
  const high = Math.fround(o.maskThreshold + o.stabilityScoreOffset);
  const low = Math.fround(o.maskThreshold - o.stabilityScoreOffset);
  const { geom, w, h } = cands[0];
  const masker = new CandidateMasker(new UpscalePlan(geom, w, h));
  const box: [number, number, number, number] = [0, 0, w, h];
  let fastS = 0;
  let plainS = 0;
  for (const c of cands) {
    let t0 = cpuNow();
    masker.load(c.logits, 0);
    const fast = masker.evaluate(low, t, high, box, w, h);
    fastS += cpuNow() - t0;
    t0 = cpuNow();
    const plain = plainMask(upscalePlain(c.logits, geom, w, h), w, h, t, low, high);
    const plainRle = plain.box === null ? null : encodeRowMajor(plain.mask, h, w);
    const plainImageRle = plainRle === null ? null : uncropRle(plainRle, 0, 0, h, w);
    plainS += cpuNow() - t0;
    const same =
      fast.counts.high === plain.countHigh &&
      fast.counts.low === plain.countLow &&
      (fast.mask === null) === (plainImageRle === null) &&
      (fast.mask === null || (String(fast.mask.box) === String(plain.box) && String(fast.mask.rle.counts) === String(plainImageRle?.counts)));
    if (!same) throw new Error('bench: fast and plain post-processing disagree on a captured candidate');
  }
  return { candidates: cands.length, fastMs: (fastS / cands.length) * 1000, plainMs: (plainS / cands.length) * 1000, pixels: w * h };
}

// ---------------------------------------------------------------------------------------------------------------
// Parent: runs the workers and prints the table.
// ---------------------------------------------------------------------------------------------------------------

function runWorker(extra: string[], drop: string[] = []): Promise<RunReport> {
  return new Promise((resolve, reject) => {
    const own = ['--model', '--big-model', '--big-points-per-side', '--vitb-images', '--vitb-points-per-side', ...drop];
    const pass = args.filter(
      (a, i) => !['--json', '--no-big', '--big-only', '--no-all-candidates', ...own].includes(a) && !own.includes(args[i - 1]),
    );
    const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), ...pass, ...extra], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('BENCH_REPORT '));
      if (code !== 0 || !line) reject(new Error(`bench worker ${extra.join(' ')} failed (exit ${code})`));
      else resolve(JSON.parse(line.slice('BENCH_REPORT '.length)) as RunReport);
    });
  });
}

const f2 = (x: number): string => x.toFixed(2);

function printReport(r: RunReport): void {
  console.log(`\n## ${r.label} — ${r.threads} threads, points-per-batch ${r.pointsPerBatch}, concurrency ${r.concurrency}`);
  console.log(
    'image            size        wall_s  decode  preproc  encoder  decoder  postproc  js_wait   nms  write  ort_share  cand → iou → stab → edge → nms → final  masks  peakRSS_MB',
  );
  for (const x of [...(r.concurrency === 1 ? r.rows : []), r.total]) {
    const s = x.stats;
    const ort = (x.encoderS + x.decoderS) / x.wallS;
    console.log(
      [
        x.image.padEnd(16),
        (x.width ? `${x.width}×${x.height}` : '').padEnd(10),
        f2(x.wallS).padStart(7),
        f2(x.decodeS).padStart(7),
        f2(x.preprocessS).padStart(8),
        f2(x.encoderS).padStart(8),
        f2(x.decoderS).padStart(8),
        f2(x.postprocessS).padStart(9),
        f2(x.waitS).padStart(8),
        f2(x.nmsS).padStart(5),
        f2(x.writeS).padStart(6),
        ort.toFixed(3).padStart(10),
        `  ${s.candidates} → ${s.afterIou} → ${s.afterStability} → ${s.afterEdge} → ${s.afterCropNms} → ${s.final}`.padEnd(40),
        String(x.masks).padStart(6),
        x.peakRssMb.toFixed(0).padStart(11),
      ].join(' '),
    );
  }
  const prompts = r.total.stats.prompts;
  console.log(`load ${f2(r.loadS)} s (graph optimisers and their probes included), peak RSS ${r.loadPeakRssMb.toFixed(0)} MB after it`);
  if (r.encoderOptimiser.passes.length > 0) console.log(`encoder graph optimised: ${r.encoderOptimiser.passes.join('; ')}`);
  else console.log(`encoder graph as exported (${r.encoderOptimiser.notOptimised ?? 'not optimised'})`);
  if (r.optimiser.passes.length > 0) console.log(`decoder graph optimised: ${r.optimiser.passes.join('; ')}`);
  else console.log(`decoder graph as exported (${r.optimiser.notOptimised ?? 'not optimised'})`);
  if (prompts > 0) console.log(`decoder ${((r.total.decoderS / prompts) * 1000).toFixed(1)} ms per prompt (${prompts} prompts, image-side part included)`);
  if (r.floor) {
    const f = r.floor;
    console.log(
      `ONNX Runtime floor (graphs as exported, default session options): 1 encoder run + ${f.calls} decoder calls = ${f2(f.totalS)} s ` +
        `(encoder ${f2(f.encoderS)} s, decoder ${((f.decoderS / f.prompts) * 1000).toFixed(1)} ms per prompt); ` +
        `sam-amg wall / floor = ${(r.total.wallS / f.totalS).toFixed(3)}; encoder / floor's = ${(r.total.encoderS / f.encoderS).toFixed(3)}; ` +
        `decoder per prompt optimised / exported = ${(r.total.decoderS / prompts / (f.decoderS / f.prompts)).toFixed(3)}; ` +
        `peak RSS ${r.total.peakRssMb.toFixed(0)} MB (${f.peakRssMb.toFixed(0)} MB once the floor ran too)`,
    );
  }
  if (r.alone) {
    const a = r.alone;
    console.log(
      `encoder alone, alternating: first runs (fresh sessions) as exported ${f2(a.encoderExportedFirstS)} s, optimised ${f2(a.encoderOptimisedFirstS)} s; ` +
        `then ${a.encoderRounds}× as exported ${f2(a.encoderExportedS)} s, optimised ${f2(a.encoderOptimisedS)} s → ${(a.encoderOptimisedS / a.encoderExportedS).toFixed(3)}; ` +
        `max |Δ| on the outputs ${a.encoderMaxAbsDiff.toExponential(2)}`,
    );
    console.log(
      `decoder alone, alternating ${a.decoderRounds}× on one batch of ${a.prompts}: optimised ${a.decoderOptimisedMs.toFixed(1)} ms per prompt, ` +
        `as exported ${a.decoderExportedMs.toFixed(1)} ms → ${(a.decoderOptimisedMs / a.decoderExportedMs).toFixed(3)}`,
    );
    const gains = (g: Record<string, number> | undefined): string =>
      g ? Object.entries(g).map(([k, v]) => `${k} ${v.toFixed(3)}`).join(', ') : '';
    if (a.encoderPassGains) console.log(`encoder time without a pass / with all: ${gains(a.encoderPassGains)}`);
    if (a.decoderPassGains) console.log(`decoder time without a pass / with all: ${gains(a.decoderPassGains)}`);
  }
  if (r.compare) {
    const c = r.compare;
    console.log(
      `post-processing of the same ${c.candidates} candidates (${c.pixels} px each): fast ${c.fastMs.toFixed(2)} ms, plain ${c.plainMs.toFixed(2)} ms CPU per candidate → ${(c.plainMs / c.fastMs).toFixed(1)}× faster, identical output`,
    );
  }
}

function jsonLine(r: RunReport, extra: Record<string, unknown>): string {
  const t = r.total;
  return JSON.stringify({
    model: r.model,
    images: r.rows.length,
    wall_s: round(t.wallS),
    encoder_s: round(t.encoderS),
    decoder_s: round(t.decoderS),
    postprocess_s: round(t.postprocessS),
    other_s: round(t.decodeS + t.preprocessS + t.nmsS + t.writeS),
    ort_share: round((t.encoderS + t.decoderS) / t.wallS, 4),
    peak_rss_mb: round(t.peakRssMb, 1),
    masks: t.masks,
    threads: r.threads,
    points_per_batch: r.pointsPerBatch,
    ...extra,
  });
}

const round = (x: number, d = 3): number => Number(x.toFixed(d));

async function makeBigImage(dir: string): Promise<string> {
  const file = path.join(dir, 'big-6000x4000.jpg');
  await sharp(path.join(root, '..', 'shared', 'images', 'truck.jpg'))
    .resize(6000, 4000, { fit: 'fill' })
    .jpeg({ quality: 90 })
    .toFile(file);
  return file;
}

/** The vitb row's figures for the final JSON line: the defaults run with its floor, and the all-candidates run. */
function vitbFields(r: RunReport, all: RunReport | undefined): Record<string, unknown> {
  const f = r.floor as NonNullable<RunReport['floor']>;
  const t = r.total;
  const perPrompt = (t.decoderS / t.stats.prompts) * 1000;
  const unoptimised = (f.decoderS / f.prompts) * 1000;
  const out: Record<string, unknown> = {
    model: r.model,
    images: r.rows.length,
    points: t.stats.prompts,
    wall_s: round(t.wallS),
    floor_s: round(f.totalS),
    wall_over_floor: round(t.wallS / f.totalS),
    decoder_ms_per_prompt: round(perPrompt),
    decoder_ms_per_prompt_unoptimised: round(unoptimised),
    decoder_ratio: round(perPrompt / unoptimised),
    peak_rss_mb: round(t.peakRssMb, 1),
    floor_peak_rss_mb: round(f.peakRssMb, 1),
    load_s: round(r.loadS),
    load_peak_rss_mb: round(r.loadPeakRssMb, 1),
    ort_share: round((t.encoderS + t.decoderS) / t.wallS, 4),
    encoder_s: round(t.encoderS),
    encoder_floor_s: round(f.encoderS),
    encoder_over_floor: round(t.encoderS / f.encoderS),
    decoder_s: round(t.decoderS),
    postprocess_s: round(t.postprocessS),
    masks: t.masks,
    threads: r.threads,
    points_per_batch: r.pointsPerBatch,
    optimised: r.optimiser.passes.length > 0,
    encoder_optimised: r.encoderOptimiser.passes.length > 0,
  };
  if (r.alone) {
    const a = r.alone;
    out.encoder_s_alternating = round(a.encoderOptimisedS);
    out.encoder_exported_s_alternating = round(a.encoderExportedS);
    out.encoder_ratio_alternating = round(a.encoderOptimisedS / a.encoderExportedS);
    out.encoder_first_run_s = round(a.encoderOptimisedFirstS);
    out.encoder_exported_first_run_s = round(a.encoderExportedFirstS);
    out.encoder_max_abs_diff = Number(a.encoderMaxAbsDiff.toExponential(3));
    out.decoder_ms_per_prompt_alternating = round(a.decoderOptimisedMs);
    out.decoder_ms_per_prompt_unoptimised_alternating = round(a.decoderExportedMs);
    out.decoder_ratio_alternating = round(a.decoderOptimisedMs / a.decoderExportedMs);
    const rounded = (g: Record<string, number>): Record<string, number> => Object.fromEntries(Object.entries(g).map(([k, v]) => [k, round(v)]));
    if (a.encoderPassGains) out.encoder_pass_gains = rounded(a.encoderPassGains);
    if (a.decoderPassGains) out.decoder_pass_gains = rounded(a.decoderPassGains);
  }
  if (all) {
    out.all_candidates_wall_s = round(all.total.wallS);
    out.all_candidates_wall_over_floor = round(all.total.wallS / f.totalS);
    out.all_candidates_over_defaults = round(all.total.wallS / t.wallS);
    out.all_candidates_peak_rss_mb = round(all.total.peakRssMb, 1);
    out.all_candidates_postprocess_s = round(all.total.postprocessS);
  }
  return out;
}

async function main(): Promise<void> {
  if (opt('--worker')) return worker();
  const which = opt('--model') ?? 'all';
  const kinds = which === 'all' ? ['fixture', 'cost', 'vitb'] : which === 'both' ? ['fixture', 'cost'] : [which];
  const reports: RunReport[] = [];
  let vitb: RunReport | undefined;
  let vitbAll: RunReport | undefined;
  console.log(`sam-amg bench on ${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'unknown CPU'}), node ${process.version}`);
  if (!flag('--big-only')) {
    for (const k of kinds) {
      if (k === 'vitb') {
        const own = ['--images', opt('--vitb-images') ?? 'truck.jpg', '--points-per-side', opt('--vitb-points-per-side') ?? '32'];
        const drop = ['--images', '--points-per-side', '--compare', '--pred-iou-thresh', '--stability-score-thresh'];
        vitb = await runWorker(['--worker', 'vitb', '--floor', '--compare', '0', ...own], drop);
        reports.push(vitb);
        printReport(vitb);
        if (!flag('--no-all-candidates')) {
          vitbAll = await runWorker(['--worker', 'vitb', '--compare', '0', ...own, '--pred-iou-thresh', '0', '--stability-score-thresh', '0'], drop);
          printReport(vitbAll);
          const f = vitb.floor as NonNullable<RunReport['floor']>;
          console.log(
            `every candidate post-processed: wall ${f2(vitbAll.total.wallS)} s = ${(vitbAll.total.wallS / f.totalS).toFixed(3)} × the floor, ` +
              `${(vitbAll.total.wallS / vitb.total.wallS).toFixed(3)} × the defaults run`,
          );
        }
        continue;
      }
      const extra = ['--worker', k];
      // The fast-vs-plain comparison needs the candidates only once; the fixture run is the cheaper place.
      if (!args.includes('--compare') && k === kinds[0]) extra.push('--compare', '48');
      const r = await runWorker(extra);
      reports.push(r);
      printReport(r);
    }
  }
  let bigRss: number | undefined;
  if (!flag('--no-big')) {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'sam-amg-bench-big-'));
    try {
      const file = await makeBigImage(dir);
      // Memory does not grow with the number of prompts (masks live as RLE), so a coarser grid keeps this run short.
      const pps = opt('--big-points-per-side') ?? '8';
      const r = await runWorker(
        ['--worker', opt('--big-model') ?? 'fixture', '--big-image', file, '--crop-n-layers', '1', '--compare', '0', '--points-per-side', pps],
        ['--points-per-side', '--images', '--compare'],
      );
      printReport(r);
      bigRss = r.total.peakRssMb;
      console.log(`6000×4000 with --crop-n-layers 1, --points-per-side ${pps}: peak RSS ${bigRss.toFixed(0)} MB`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  if (flag('--json') && reports.length > 0) {
    const last = reports[reports.length - 1];
    const cmp = reports.find((r) => r.compare)?.compare;
    const extra: Record<string, unknown> = {};
    if (cmp) {
      extra.fast_ms_per_candidate = round(cmp.fastMs);
      extra.plain_ms_per_candidate = round(cmp.plainMs);
    }
    if (bigRss !== undefined) extra.big_6000x4000_peak_rss_mb = round(bigRss, 1);
    const line = vitb ? { ...vitbFields(vitb, vitbAll), ...extra } : (JSON.parse(jsonLine(last, extra)) as Record<string, unknown>);
    console.log(JSON.stringify(line));
  }
}

await main();
