import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateAll } from '../fixtures/generate.js';
import { SCENES, renderScene, sceneSpec } from '../fixtures/scenes.js';
import { IOU_SCORES, OBJECT_SCORE_LOGIT, SINGLE_MASK_IOU, TOLERANCES } from '../fixtures/lib/colour-segmenter.js';
import { gridPoints, layer1CropBoxes } from '../fixtures/lib/amg-grid.js';
import { writeCostRealisticModel } from '../fixtures/cost-realistic.js';
import { interiorPoint, iou, preprocessNearest, truthAt256, type ModelFrame } from './helpers/scenes.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));
const MODELS = join(FIXTURES, 'models');
const CONFORMANCE = '/work/shared/conformance';
const SESSION_OPTIONS: ort.InferenceSession.SessionOptions = { intraOpNumThreads: 1, interOpNumThreads: 1 };

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
}

const sha256 = async (path: string) => createHash('sha256').update(await readFile(path)).digest('hex');

describe('fixture generation', () => {
  let out: string;
  beforeAll(async () => {
    out = await mkdtemp(join(tmpdir(), 'sam-amg-fixtures-'));
    await generateAll(out);
  });
  afterAll(async () => {
    await rm(out, { recursive: true, force: true });
  });

  for (const sub of ['models', 'scenes']) {
    it(`regenerates fixtures/${sub} byte-identically`, async () => {
      const committed = await listFiles(join(FIXTURES, sub));
      expect(await listFiles(join(out, sub))).toEqual(committed);
      for (const file of committed) {
        expect(await sha256(join(out, sub, file)), file).toBe(await sha256(join(FIXTURES, sub, file)));
      }
    });
  }

  it('keeps every committed file small', async () => {
    for (const sub of ['models', 'scenes']) {
      for (const file of await listFiles(join(FIXTURES, sub))) {
        const { length } = await readFile(join(FIXTURES, sub, file));
        expect(length, file).toBeLessThan(16 * 1024);
      }
    }
  });
});

type Io = [name: string, type: 'float32' | 'int64', shape: (string | number)[]];
interface Contract {
  inputs: Io[];
  outputs: Io[];
}

const B = 'batch_size';
const PN = [B, 'point_batch_size', 'nb_points_per_image'];
const SAM1_ENCODER: Contract = {
  inputs: [['pixel_values', 'float32', [B, 3, 1024, 1024]]],
  outputs: [
    ['image_embeddings', 'float32', [B, 256, 64, 64]],
    ['image_positional_embeddings', 'float32', [B, 256, 64, 64]],
  ],
};
const SAM2_LEVELS: Io[] = [
  ['image_embeddings.0', 'float32', [B, 32, 256, 256]],
  ['image_embeddings.1', 'float32', [B, 64, 128, 128]],
  ['image_embeddings.2', 'float32', [B, 256, 64, 64]],
];

const CONTRACTS: Record<string, Record<string, Contract>> = {
  'sam1-tiny': {
    'vision_encoder.onnx': SAM1_ENCODER,
    'prompt_encoder_mask_decoder.onnx': {
      inputs: [
        ['input_points', 'float32', [...PN, 2]],
        ['input_labels', 'int64', PN],
        ['image_embeddings', 'float32', [B, 256, 64, 64]],
        ['image_positional_embeddings', 'float32', [B, 256, 64, 64]],
      ],
      outputs: [
        ['iou_scores', 'float32', [B, 'point_batch_size', 3]],
        ['pred_masks', 'float32', [B, 'point_batch_size', 3, 256, 256]],
      ],
    },
  },
  'sam2-tiny': {
    'vision_encoder.onnx': { inputs: [['pixel_values', 'float32', [B, 3, 1024, 1024]]], outputs: SAM2_LEVELS },
    'prompt_encoder_mask_decoder.onnx': {
      inputs: [
        ['input_points', 'float32', [...PN, 2]],
        ['input_labels', 'int64', PN],
        ['input_boxes', 'float32', [B, 'num_boxes', 4]],
        ...SAM2_LEVELS,
      ],
      outputs: [
        ['iou_scores', 'float32', [B, 'point_batch_size', 3]],
        ['pred_masks', 'float32', [B, 'point_batch_size', 3, 256, 256]],
        ['object_score_logits', 'float32', [B, 'point_batch_size', 1]],
      ],
    },
  },
  'sam1-reference-export': {
    'vision_encoder.onnx': SAM1_ENCODER,
    'decoder.onnx': {
      inputs: [
        ['image_embeddings', 'float32', [1, 256, 64, 64]],
        ['point_coords', 'float32', [1, 'num_points', 2]],
        ['point_labels', 'float32', [1, 'num_points']],
        ['mask_input', 'float32', [1, 1, 256, 256]],
        ['has_mask_input', 'float32', [1]],
        ['orig_im_size', 'float32', [2]],
      ],
      outputs: [
        ['masks', 'float32', [1, 4, 'orig_height', 'orig_width']],
        ['iou_predictions', 'float32', [1, 4]],
        ['low_res_masks', 'float32', [1, 4, 256, 256]],
      ],
    },
  },
  'sam2-samexporter': {
    'encoder.onnx': {
      inputs: [['image', 'float32', [1, 3, 1024, 1024]]],
      outputs: [
        ['high_res_feats_0', 'float32', [1, 32, 256, 256]],
        ['high_res_feats_1', 'float32', [1, 64, 128, 128]],
        ['image_embed', 'float32', [1, 256, 64, 64]],
      ],
    },
    'decoder.onnx': {
      inputs: [
        ['image_embed', 'float32', [1, 256, 64, 64]],
        ['high_res_feats_0', 'float32', [1, 32, 256, 256]],
        ['high_res_feats_1', 'float32', [1, 64, 128, 128]],
        ['point_coords', 'float32', ['num_labels', 'num_points', 2]],
        ['point_labels', 'float32', ['num_labels', 'num_points']],
        ['mask_input', 'float32', ['num_labels', 1, 256, 256]],
        ['has_mask_input', 'float32', ['num_labels']],
      ],
      outputs: [
        ['masks', 'float32', ['num_labels', 3, 256, 256]],
        ['iou_predictions', 'float32', ['num_labels', 3]],
      ],
    },
  },
};

function describeIo(meta: readonly ort.InferenceSession.ValueMetadata[]): Io[] {
  return meta.map((m) => {
    if (!m.isTensor) throw new Error(`${m.name} is not a tensor`);
    return [m.name, m.type as Io[1], [...m.shape]];
  });
}

const session = (model: string, file: string) =>
  ort.InferenceSession.create(join(MODELS, model, 'onnx', file), SESSION_OPTIONS);

describe('fixture model contracts', () => {
  for (const [model, files] of Object.entries(CONTRACTS)) {
    it(`${model} has the layout's files and I/O`, async () => {
      expect((await listFiles(join(MODELS, model))).sort()).toEqual(
        ['config.json', 'preprocessor_config.json', ...Object.keys(files).map((f) => `onnx/${f}`)].sort(),
      );
      for (const [file, contract] of Object.entries(files)) {
        const s = await session(model, file);
        expect(describeIo(s.inputMetadata), `${model}/${file} inputs`).toEqual(contract.inputs);
        expect(describeIo(s.outputMetadata), `${model}/${file} outputs`).toEqual(contract.outputs);
        await s.release();
      }
    });
  }

  // The shared conformance data sits outside the repository; compare with it where it is present.
  it.skipIf(!existsSync(CONFORMANCE))('carries the conformance toy models\' configs', async () => {
    const read = async (p: string) => JSON.parse(await readFile(p, 'utf8')) as unknown;
    const pairs: [string, string][] = [
      ['sam1-tiny', 'sam1-toy'],
      ['sam2-tiny', 'sam2-toy'],
    ];
    for (const [ours, theirs] of pairs) {
      for (const file of ['config.json', 'preprocessor_config.json']) {
        const expected = await read(join(CONFORMANCE, theirs, file));
        expect(await read(join(MODELS, ours, file)), `${ours}/${file}`).toEqual(expected);
      }
    }
  });
});

const f32 = (values: readonly number[]) => Array.from(Float32Array.from(values));
const floats = (t: ort.Tensor) => t.data as Float32Array;

/** Bitwise equality of two float arrays (vitest's deep equality is slow on large typed arrays). */
const bytesOf = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
const sameBytes = (a: Float32Array, b: Float32Array) => Buffer.compare(bytesOf(a), bytesOf(b)) === 0;

/** The fixed scores of every prompt, as float32 values. */
const repeatedScores = (prompts: number) => Array.from({ length: prompts }, () => f32(IOU_SCORES)).flat();

/** Best IoU over the three 256×256 outputs of one prompt against `truth`. */
function bestIou(masks: Float32Array, offset: number, outputs: number, truth: Uint8Array): number {
  let best = 0;
  for (let k = 0; k < outputs; k++) {
    const base = offset + k * 65536;
    best = Math.max(best, iou(65536, (i) => masks[base + i] > 0, (i) => truth[i] === 1));
  }
  return best;
}

/** One point inside each shape of the scene, scaled into the model frame. */
function shapePrompts(scene: string, frame: ModelFrame): Float32Array {
  const spec = sceneSpec(scene);
  return Float32Array.from(
    spec.shapes.flatMap((shape) => {
      const [x, y] = interiorPoint(shape);
      return [(x * frame.newW) / spec.width, (y * frame.newH) / spec.height];
    }),
  );
}

describe('fixture models segment the synthetic scenes', () => {
  const scene = 'shapes-640x480';
  const rendered = renderScene(scene);
  const nShapes = rendered.shapes.length;

  async function sam1Embeddings(model: string, frame: ModelFrame) {
    const encoder = await session(model, 'vision_encoder.onnx');
    const out = await encoder.run({ pixel_values: new ort.Tensor('float32', frame.pixels, [1, 3, 1024, 1024]) });
    await encoder.release();
    return out;
  }

  it('sam1-tiny: a point in each shape gives a mask of that shape and the fixed scores', async () => {
    const frame = preprocessNearest(rendered, 'longest');
    const emb = await sam1Embeddings('sam1-tiny', frame);
    const decoder = await session('sam1-tiny', 'prompt_encoder_mask_decoder.onnx');
    // Second point per prompt is padding: only the first point may matter.
    const first = shapePrompts(scene, frame);
    const points = Float32Array.from({ length: nShapes * 4 }, (_, i) =>
      i % 4 < 2 ? first[(i >> 2) * 2 + (i % 4)] : 0,
    );
    const labels = BigInt64Array.from({ length: nShapes * 2 }, (_, i) => (i % 2 === 0 ? 1n : -10n));
    const out = await decoder.run({
      input_points: new ort.Tensor('float32', points, [1, nShapes, 2, 2]),
      input_labels: new ort.Tensor('int64', labels, [1, nShapes, 2]),
      image_embeddings: emb.image_embeddings,
      image_positional_embeddings: emb.image_positional_embeddings,
    });
    await decoder.release();
    expect(out.iou_scores.dims).toEqual([1, nShapes, 3]);
    expect(out.pred_masks.dims).toEqual([1, nShapes, 3, 256, 256]);
    expect(Array.from(floats(out.iou_scores))).toEqual(repeatedScores(nShapes));
    rendered.shapes.forEach((shape, p) => {
      const truth = truthAt256(shape.mask, rendered, frame);
      expect(bestIou(floats(out.pred_masks), p * 3 * 65536, 3, truth), shape.name).toBeGreaterThanOrEqual(0.8);
    });
  });

  it('sam2-tiny: same on the stretched frame, empty boxes accepted', async () => {
    const frame = preprocessNearest(rendered, 'square');
    const encoder = await session('sam2-tiny', 'vision_encoder.onnx');
    const levels = await encoder.run({ pixel_values: new ort.Tensor('float32', frame.pixels, [1, 3, 1024, 1024]) });
    await encoder.release();
    const decoder = await session('sam2-tiny', 'prompt_encoder_mask_decoder.onnx');
    const out = await decoder.run({
      input_points: new ort.Tensor('float32', shapePrompts(scene, frame), [1, nShapes, 1, 2]),
      input_labels: new ort.Tensor('int64', new BigInt64Array(nShapes).fill(1n), [1, nShapes, 1]),
      input_boxes: new ort.Tensor('float32', new Float32Array(0), [1, 0, 4]),
      'image_embeddings.0': levels['image_embeddings.0'],
      'image_embeddings.1': levels['image_embeddings.1'],
      'image_embeddings.2': levels['image_embeddings.2'],
    });
    await decoder.release();
    expect(Array.from(floats(out.iou_scores))).toEqual(repeatedScores(nShapes));
    expect(Array.from(floats(out.object_score_logits))).toEqual(new Array<number>(nShapes).fill(OBJECT_SCORE_LOGIT));
    rendered.shapes.forEach((shape, p) => {
      const truth = truthAt256(shape.mask, rendered, frame);
      expect(bestIou(floats(out.pred_masks), p * 3 * 65536, 3, truth), shape.name).toBeGreaterThanOrEqual(0.8);
    });
  });

  for (const name of [scene, 'portrait-500x750']) {
    it(`sam1-reference-export on ${name}: single + multimask outputs, masks at the original size`, async () => {
      const pictured = renderScene(name);
      const frame = preprocessNearest(pictured, 'longest');
      const emb = await sam1Embeddings('sam1-reference-export', frame);
      const decoder = await session('sam1-reference-export', 'decoder.onnx');
      const prompts = shapePrompts(name, frame);
      const { width: w, height: h } = pictured;
      for (const [p, shape] of pictured.shapes.entries()) {
        // The reference predictor appends a padding point (0, 0) with label −1.
        const out = await decoder.run({
          image_embeddings: emb.image_embeddings,
          point_coords: new ort.Tensor('float32', Float32Array.of(prompts[2 * p], prompts[2 * p + 1], 0, 0), [1, 2, 2]),
          point_labels: new ort.Tensor('float32', Float32Array.of(1, -1), [1, 2]),
          mask_input: new ort.Tensor('float32', new Float32Array(65536), [1, 1, 256, 256]),
          has_mask_input: new ort.Tensor('float32', Float32Array.of(0), [1]),
          orig_im_size: new ort.Tensor('float32', Float32Array.of(h, w), [2]),
        });
        expect(Array.from(floats(out.iou_predictions))).toEqual(f32([SINGLE_MASK_IOU, ...IOU_SCORES]));
        expect(out.masks.dims).toEqual([1, 4, h, w]);
        const low = floats(out.low_res_masks);
        expect(sameBytes(low.subarray(0, 65536), low.subarray(2 * 65536, 3 * 65536))).toBe(true);
        const masks = floats(out.masks);
        let best = 0;
        for (let k = 1; k < 4; k++) {
          best = Math.max(best, iou(w * h, (i) => masks[k * w * h + i] > 0, (i) => shape.mask[i] === 1));
        }
        expect(best, shape.name).toBeGreaterThanOrEqual(0.9);
      }
      await decoder.release();
    });
  }

  it('sam2-samexporter: prompts on the num_labels axis', async () => {
    const frame = preprocessNearest(rendered, 'square');
    const encoder = await session('sam2-samexporter', 'encoder.onnx');
    const feats = await encoder.run({ image: new ort.Tensor('float32', frame.pixels, [1, 3, 1024, 1024]) });
    await encoder.release();
    const decoder = await session('sam2-samexporter', 'decoder.onnx');
    const out = await decoder.run({
      image_embed: feats.image_embed,
      high_res_feats_0: feats.high_res_feats_0,
      high_res_feats_1: feats.high_res_feats_1,
      point_coords: new ort.Tensor('float32', shapePrompts(scene, frame), [nShapes, 1, 2]),
      point_labels: new ort.Tensor('float32', new Float32Array(nShapes).fill(1), [nShapes, 1]),
      mask_input: new ort.Tensor('float32', new Float32Array(nShapes * 65536), [nShapes, 1, 256, 256]),
      has_mask_input: new ort.Tensor('float32', new Float32Array(nShapes), [nShapes]),
    });
    await decoder.release();
    expect(out.masks.dims).toEqual([nShapes, 3, 256, 256]);
    expect(Array.from(floats(out.iou_predictions))).toEqual(repeatedScores(nShapes));
    rendered.shapes.forEach((shape, p) => {
      const truth = truthAt256(shape.mask, rendered, frame);
      expect(bestIou(floats(out.masks), p * 3 * 65536, 3, truth), shape.name).toBeGreaterThanOrEqual(0.8);
    });
  });

  it('the cost-realistic variant adds work without changing outputs', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sam-amg-cost-'));
    try {
      const info = await writeCostRealisticModel(join(dir, 'model'), { encoderGflop: 0.5, decoderGflopPerPrompt: 0.1 });
      expect(info.encoderWork.matmuls).toBe(1);
      expect(info.decoderWork.matmuls).toBe(1);
      const frame = preprocessNearest(rendered, 'longest');
      const pixels = new ort.Tensor('float32', frame.pixels, [1, 3, 1024, 1024]);
      const run = async (root: string) => {
        const enc = await ort.InferenceSession.create(join(root, 'onnx/vision_encoder.onnx'), SESSION_OPTIONS);
        const emb = await enc.run({ pixel_values: pixels });
        const decoderPath = join(root, 'onnx/prompt_encoder_mask_decoder.onnx');
        const dec = await ort.InferenceSession.create(decoderPath, SESSION_OPTIONS);
        const out = await dec.run({
          input_points: new ort.Tensor('float32', shapePrompts(scene, frame), [1, nShapes, 1, 2]),
          input_labels: new ort.Tensor('int64', new BigInt64Array(nShapes).fill(1n), [1, nShapes, 1]),
          image_embeddings: emb.image_embeddings,
          image_positional_embeddings: emb.image_positional_embeddings,
        });
        await Promise.all([enc.release(), dec.release()]);
        return [emb.image_embeddings, out.iou_scores, out.pred_masks].map(floats);
      };
      const [costly, tiny] = [await run(join(dir, 'model')), await run(join(MODELS, 'sam1-tiny'))];
      costly.forEach((values, i) => expect(sameBytes(values, tiny[i]), `output ${i}`).toBe(true));
      for (const file of ['config.json', 'preprocessor_config.json']) {
        const expected = await readFile(join(MODELS, 'sam1-tiny', file), 'utf8');
        expect(await readFile(join(dir, 'model', file), 'utf8')).toBe(expected);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('synthetic scenes', () => {
  it('PNG files decode to the rendered pixels', async () => {
    for (const { name } of SCENES) {
      const scene = renderScene(name);
      const { data, info } = await sharp(join(FIXTURES, 'scenes', `${name}.png`))
        .removeAlpha()
        .raw()
        .toBuffer({ resolveWithObject: true });
      expect([info.width, info.height, info.channels]).toEqual([scene.width, scene.height, 3]);
      expect(Buffer.compare(data, Buffer.from(scene.rgb)), name).toBe(0);
    }
  });

  it('masks are disjoint, non-empty and match the JSON summary', async () => {
    for (const { name } of SCENES) {
      const scene = renderScene(name);
      const summary = JSON.parse(await readFile(join(FIXTURES, 'scenes', `${name}.json`), 'utf8')) as {
        shapes: { name: string; bbox: number[]; area: number }[];
      };
      const covered = new Uint8Array(scene.width * scene.height);
      scene.shapes.forEach((shape, i) => {
        expect(shape.area, shape.name).toBeGreaterThan(100);
        expect(summary.shapes[i]).toMatchObject({ name: shape.name, bbox: shape.bbox, area: shape.area });
        for (let p = 0; p < covered.length; p++) covered[p] += shape.mask[p];
      });
      expect(covered.every((v) => v <= 1), name).toBe(true);
    }
  });

  it('colours are far apart for every tolerance of the colour segmenter', () => {
    const std = [0.229, 0.224, 0.225];
    const distance = (a: readonly number[], b: readonly number[]) =>
      a.reduce((sum, v, c) => sum + ((v - b[c]) / 255 / std[c]) ** 2, 0);
    for (const spec of SCENES) {
      const colours = [spec.background, ...spec.shapes.map((s) => s.colour)];
      colours.forEach((a, i) =>
        colours
          .slice(i + 1)
          .forEach((b) => expect(distance(a, b), `${spec.name} ${a} vs ${b}`).toBeGreaterThan(2 * TOLERANCES[2])),
      );
    }
  });

  it('tiny shapes are missed by the full-image 32x32 grid but hit by a first-layer crop grid', () => {
    const scene = renderScene('tiny-shapes-1600x1200');
    const { width: w, height: h } = scene;
    const inside = (mask: Uint8Array, x: number, y: number, margin: number) => {
      for (let dy = -margin; dy <= margin; dy++) {
        for (let dx = -margin; dx <= margin; dx++) {
          const [px, py] = [Math.floor(x + dx), Math.floor(y + dy)];
          if (px < 0 || py < 0 || px >= w || py >= h || !mask[py * w + px]) return false;
        }
      }
      return true;
    };
    const touches = (mask: Uint8Array, x: number, y: number, margin: number) => {
      for (let dy = -margin; dy <= margin; dy++) {
        for (let dx = -margin; dx <= margin; dx++) {
          const [px, py] = [Math.floor(x + dx), Math.floor(y + dy)];
          if (px >= 0 && py >= 0 && px < w && py < h && mask[py * w + px]) return true;
        }
      }
      return false;
    };
    const full = gridPoints([0, 0, w, h], 32);
    const crops = layer1CropBoxes(w, h);
    for (const shape of scene.shapes.filter((s) => s.name.startsWith('tiny-'))) {
      expect(full.some(([x, y]) => touches(shape.mask, x, y, 2)), shape.name).toBe(false);
      const [bx, by, bw, bh] = shape.bbox;
      const found = crops.some((box) => {
        // Far from the crop's inner edges, so the reference's crop-edge filter keeps the mask.
        const [x0, y0, x1, y1] = box;
        const clear =
          (x0 === 0 || bx - x0 > 40) &&
          (y0 === 0 || by - y0 > 40) &&
          (x1 === w || x1 - (bx + bw) > 40) &&
          (y1 === h || y1 - (by + bh) > 40);
        return clear && gridPoints(box, 32).some(([x, y]) => inside(shape.mask, x, y, 4));
      });
      expect(found, shape.name).toBe(true);
    }
  });
});
