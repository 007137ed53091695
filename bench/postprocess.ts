/**
 * Micro-benchmark of candidate post-processing at an image's size, per kind of logits: the full exact pass
 * (CandidateMasker.evaluate), the box-only scan a deferred candidate gets before NMS (load + undecidedShareAbove + box),
 * and the plain oracle (test/oracle), same inputs, outputs checked equal.
 *
 * Kinds: `fixture` — sam1-tiny on the image (±32-clipped texture, the fixture's worst case); `fixture-sam2` — sam2-tiny
 * on the image (SAM 2's one-stage upscaling: 256² straight to the image); `random-decoder` — the
 * real-architecture ViT-B decoder with random weights from ../shared/perf (when present), prompted on sam1-tiny's
 * embedding of the image; `noise` and `smooth` — synthetic stand-ins (small values nearly independent per cell
 * around the mask threshold, as a random-weight decoder gives; low-frequency waves crossing all three thresholds);
 * `noise-sam2`, `smooth-sam2` — the same logits through SAM 2's one-stage upscaling (256² straight to the image).
 *
 * Usage: npx tsx bench/postprocess.ts [--image path] [--candidates 24] [--repeats 3] [--kinds fixture,noise,...]
 * Times are CPU time of this process (ONNX Runtime is idle while they run), so a busy machine skews them less.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm, symlink, mkdir, copyFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MaskGenerator } from '../src/node/mask-generator.js';
import { decodeImage } from '../src/node/decode.js';
import { CandidateMasker } from '../src/mask/candidate-mask.js';
import { DEFER_UNDECIDED_SHARE } from '../src/mask/evaluator.js';
import { UpscalePlan } from '../src/mask/upscale.js';
import type { LogitGeometry } from '../src/base/types.js';
import type { RgbImage } from '../src/base/types.js';
import { encodeRowMajor, uncropRle } from '../src/rle/rle.js';
import { plainMask, upscalePlain } from '../test/oracle/plain-postprocess.js';
import { xorshift } from '../test/helpers/image-rng.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = (name: string): string | undefined => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const file = opt('--image') ?? path.join(root, '..', 'shared', 'images', 'truck.jpg');
const want = Number(opt('--candidates') ?? 24);
const repeats = Number(opt('--repeats') ?? 3);
const randomDecoder = path.join(root, '..', 'shared', 'perf', 'sam-vit-b-random-decoder', 'prompt_encoder_mask_decoder.onnx');
const kinds = (opt('--kinds') ?? 'fixture,fixture-sam2,random-decoder,noise,smooth,noise-sam2,smooth-sam2').split(',');
const cpu = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};
const CELLS = 256 * 256;

/** Decodes `want` candidates of a prompt grid with a model folder; the logits and their geometry. */
async function decodeCandidates(modelDir: string, image: RgbImage): Promise<{ logits: Float32Array; geom: LogitGeometry }> {
  const gen = await MaskGenerator.load(modelDir, {}, { threads: 2 });
  try {
    const enc = await gen.adapter.encode(image);
    const side = Math.ceil(Math.sqrt(want / 3)) + 1;
    const pts: number[] = [];
    for (let j = 0; j < side; j++) for (let i = 0; i < side; i++) pts.push(((i + 0.5) / side) * image.width, ((j + 0.5) / side) * image.height);
    const out = await gen.adapter.decode(enc, Float64Array.from(pts), side * side);
    return { logits: out.logits.slice(0, want * CELLS), geom: enc.geometry };
  } finally {
    await gen.release();
  }
}

/** A model folder with sam1-tiny's encoder and the random-weight ViT-B decoder (symlinked, never copied). */
async function randomDecoderFolder(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'sam-amg-pp-bench-'));
  const tiny = path.join(root, 'fixtures', 'models', 'sam1-tiny');
  await mkdir(path.join(dir, 'onnx'));
  for (const f of ['config.json', 'preprocessor_config.json', path.join('onnx', 'vision_encoder.onnx')]) await copyFile(path.join(tiny, f), path.join(dir, f));
  await symlink(randomDecoder, path.join(dir, 'onnx', 'prompt_encoder_mask_decoder.onnx'));
  return dir;
}

function synthetic(kind: 'noise' | 'smooth' | 'noise-sam2' | 'smooth-sam2'): Float32Array {
  const noise = kind.startsWith('noise');
  const rnd = xorshift(noise ? 11 : 13);
  const out = new Float32Array(want * CELLS);
  for (let k = 0; k < want; k++) {
    const waves = Array.from({ length: 6 }, () => {
      const a = rnd() * 2 * Math.PI;
      const f = (2 * Math.PI) / (20 + rnd() * 40);
      return [Math.cos(a) * f, Math.sin(a) * f, rnd() * 2 * Math.PI];
    });
    for (let y = 0; y < 256; y++) {
      for (let x = 0; x < 256; x++) {
        const v =
          noise
            ? (rnd() - 0.5) * 0.4 + 0.05 * Math.sin((x + y) * 0.05)
            : waves.reduce((s, [fx, fy, p]) => s + Math.sin(fx * x + fy * y + p), 0) * 1.2;
        out[k * CELLS + y * 256 + x] = v;
      }
    }
  }
  return out;
}

const image = await decodeImage(file);
const { width: w, height: h } = image;
const t = 0;
const high = 1;
const low = -1;
const box: [number, number, number, number] = [0, 0, w, h];
let allSame = true;
console.log(`${path.basename(file)} ${w}×${h}, ${want} candidates per kind, CPU ms per candidate (best of ${repeats}):`);
for (const kind of kinds) {
  let logits: Float32Array;
  let geom: LogitGeometry;
  if (kind === 'fixture' || kind === 'fixture-sam2') {
    const model = kind === 'fixture' ? 'sam1-tiny' : 'sam2-tiny';
    ({ logits, geom } = await decodeCandidates(path.join(root, 'fixtures', 'models', model), image));
  } else if (kind === 'random-decoder') {
    if (!existsSync(randomDecoder)) {
      console.log(`  random-decoder: skipped (${randomDecoder} not found)`);
      continue;
    }
    const dir = await randomDecoderFolder();
    try {
      ({ logits, geom } = await decodeCandidates(dir, image));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  } else if (kind === 'noise' || kind === 'smooth') {
    logits = synthetic(kind);
    const long = Math.max(w, h);
    geom = { lowRes: 256, frame: 1024, validW: Math.floor((w * 1024) / long + 0.5), validH: Math.floor((h * 1024) / long + 0.5) };
  } else if (kind === 'noise-sam2' || kind === 'smooth-sam2') {
    logits = synthetic(kind);
    geom = { lowRes: 256, frame: null, validW: 256, validH: 256 };
  } else {
    throw new Error(`unknown kind ${kind}`);
  }
  const n = logits.length / CELLS;
  const masker = new CandidateMasker(new UpscalePlan(geom, w, h));
  let full = Infinity;
  let boxOnly = Infinity;
  let deferrable = 0;
  const fast: ReturnType<CandidateMasker['evaluate']>[] = [];
  const boxes: ReturnType<CandidateMasker['box']>[] = [];
  for (let r = 0; r < repeats; r++) {
    let c0 = cpu();
    for (let i = 0; i < n; i++) {
      masker.load(logits, i * CELLS);
      fast[i] = masker.evaluate(low, t, high, box, w, h);
    }
    full = Math.min(full, cpu() - c0);
    c0 = cpu();
    deferrable = 0;
    for (let i = 0; i < n; i++) {
      masker.load(logits, i * CELLS);
      if (masker.undecidedShareAbove(low, t, high, DEFER_UNDECIDED_SHARE)) deferrable++;
      boxes[i] = masker.box(t);
    }
    boxOnly = Math.min(boxOnly, cpu() - c0);
  }
  const c0 = cpu();
  let same = true;
  for (let i = 0; i < n; i++) {
    const plain = plainMask(upscalePlain(logits.subarray(i * CELLS, (i + 1) * CELLS), geom, w, h), w, h, t, low, high);
    const rle = plain.box === null ? null : uncropRle(encodeRowMajor(plain.mask, h, w), 0, 0, h, w);
    const f = fast[i];
    same &&=
      f.counts.high === plain.countHigh &&
      f.counts.low === plain.countLow &&
      String(boxes[i]) === String(plain.box) &&
      (f.mask === null) === (rle === null) &&
      (f.mask === null || (String(f.mask.box) === String(plain.box) && String(f.mask.rle.counts) === String(rle?.counts)));
  }
  const plainMs = ((cpu() - c0) / n) * 1000;
  const fullMs = (full / n) * 1000;
  const boxMs = (boxOnly / n) * 1000;
  allSame &&= same;
  console.log(
    `  ${kind.padEnd(15)} full ${fullMs.toFixed(2).padStart(6)}  box-only ${boxMs.toFixed(2).padStart(5)}  plain ${plainMs.toFixed(1).padStart(6)}` +
      `  → full ${(plainMs / fullMs).toFixed(1)}× plain; ${deferrable}/${n} deferrable; ${same ? 'identical' : 'DIFFERENT'}`,
  );
}
if (!allSame) process.exitCode = 1;
