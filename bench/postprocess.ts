/**
 * Micro-benchmark of candidate post-processing: real candidates (fixtures/models/sam1-tiny on an image), fast path
 * (CandidateMasker) against the plain oracle (test/oracle), same inputs, output checked equal.
 *
 * Usage: npx tsx bench/postprocess.ts [image=../shared/images/truck.jpg] [candidates=48] [repeats=3]
 * Times are CPU time of this process (ONNX Runtime is idle while they run), so a busy machine skews them less.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MaskGenerator } from '../src/amg/generator.js';
import { decodeImage } from '../src/image/decode.js';
import { CandidateMasker } from '../src/mask/candidate-mask.js';
import { UpscalePlan } from '../src/mask/upscale.js';
import { encodeRowMajor, uncropRle } from '../src/rle/rle.js';
import { plainMask, upscalePlain } from '../test/oracle/plain-postprocess.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const file = process.argv[2] ?? path.join(root, '..', 'shared', 'images', 'truck.jpg');
const want = Number(process.argv[3] ?? 48);
const repeats = Number(process.argv[4] ?? 3);
const cpu = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

const gen = await MaskGenerator.load(path.join(root, 'fixtures', 'models', 'sam1-tiny'), {}, { threads: 1 });
const image = await decodeImage(file);
const enc = await gen.adapter.encode(image);
// Prompts spread over the image: a coarse grid.
const side = Math.ceil(Math.sqrt(want / 3)) + 1;
const pts: number[] = [];
for (let j = 0; j < side; j++) for (let i = 0; i < side; i++) pts.push(((i + 0.5) / side) * image.width, ((j + 0.5) / side) * image.height);
const out = await gen.adapter.decode(enc, Float64Array.from(pts), side * side);
await gen.release();
const cells = enc.geometry.lowRes ** 2;
const n = Math.min(want, out.count * out.masksPerPrompt);
const { width: w, height: h } = image;
const o = gen.options;
const t = Math.fround(o.maskThreshold);
const high = Math.fround(o.maskThreshold + o.stabilityScoreOffset);
const low = Math.fround(o.maskThreshold - o.stabilityScoreOffset);
const box: [number, number, number, number] = [0, 0, w, h];
const masker = new CandidateMasker(new UpscalePlan(enc.geometry, w, h));
let best = Infinity;
const fastResults: ReturnType<CandidateMasker['evaluate']>[] = [];
for (let r = 0; r < repeats; r++) {
  const c0 = cpu();
  for (let i = 0; i < n; i++) {
    masker.load(out.logits, i * cells);
    fastResults[i] = masker.evaluate(low, t, high, box, w, h);
  }
  best = Math.min(best, cpu() - c0);
}
const c0 = cpu();
let same = true;
for (let i = 0; i < n; i++) {
  const logits = out.logits.subarray(i * cells, (i + 1) * cells);
  const plain = plainMask(upscalePlain(logits, enc.geometry, w, h), w, h, t, low, high);
  const rle = plain.box === null ? null : uncropRle(encodeRowMajor(plain.mask, h, w), 0, 0, h, w);
  const f = fastResults[i];
  same &&=
    f.counts.high === plain.countHigh &&
    f.counts.low === plain.countLow &&
    (f.mask === null) === (rle === null) &&
    (f.mask === null || (String(f.mask.box) === String(plain.box) && String(f.mask.rle.counts) === String(rle?.counts)));
}
const plainS = cpu() - c0;
const fastMs = (best / n) * 1000;
const plainMs = (plainS / n) * 1000;
console.log(
  `${n} candidates of ${w}×${h}: fast ${fastMs.toFixed(2)} ms, plain ${plainMs.toFixed(2)} ms CPU per candidate → ${(plainMs / fastMs).toFixed(1)}×; ${same ? 'identical' : 'DIFFERENT'}`,
);
if (!same) process.exitCode = 1;
