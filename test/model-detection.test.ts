/**
 * Model folder detection: every fixture layout is recognised with its family and capabilities; mismatched pairs,
 * missing files and contract violations are refused with messages that name the files.
 */
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FLOAT, GraphBuilder, INT64, type Dim, type ElemType } from '../fixtures/lib/onnx-builder.js';
import { MaskGenerator } from '../src/amg/generator.js';
import { describeModel } from '../src/node/describe.js';
import { loadModel } from '../src/node/model-folder.js';
import { type LoadedModel } from '../src/model/load.js';

const FIXTURES = new URL('../fixtures/models/', import.meta.url).pathname;
const fixture = (name: string, ...rest: string[]): string => path.join(FIXTURES, name, ...rest);

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'sam-amg-model-detection-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** A fresh folder under tmp with the given files copied in (dest → source). */
async function folder(name: string, files: Record<string, string | Uint8Array>): Promise<string> {
  const dir = path.join(tmp, name);
  for (const [dest, src] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(dir, dest)), { recursive: true });
    if (typeof src === 'string' && src.startsWith('/')) await copyFile(src, path.join(dir, dest));
    else await writeFile(path.join(dir, dest), src);
  }
  return dir;
}

async function loadError(dir: string, opts: Parameters<typeof loadModel>[1] = {}): Promise<string> {
  try {
    const m = await loadModel(dir, opts);
    await m.adapter.release();
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error(`${dir} loaded, expected an error`);
}

/** An ONNX graph whose outputs are constants: enough for metadata checks (the inputs are declared, unused). */
function constantModel(inputs: [string, ElemType, Dim[]][], outputs: [string, number[]][]): Uint8Array {
  const g = new GraphBuilder('test_model', 'sam-amg test: constant outputs');
  for (const [name, type, dims] of inputs) g.input(name, type, dims);
  for (const [name, dims] of outputs) {
    const n = dims.reduce((a, b) => a * b, 1);
    g.op('Identity', [g.floats(new Array<number>(n).fill(0.5), dims)], {}, name);
    g.output(name, FLOAT, dims);
  }
  return g.toBytes();
}

const SAM1_CONFIG = fixture('sam1-tiny', 'config.json');
const SAM1_PRE = fixture('sam1-tiny', 'preprocessor_config.json');
const SAM2_CONFIG = fixture('sam2-tiny', 'config.json');
const SAM2_PRE = fixture('sam2-tiny', 'preprocessor_config.json');

describe('each fixture layout is recognised', () => {
  const cases: [string, string, 'sam' | 'sam2', { mask: boolean; single: boolean; multi: boolean }, string, string][] = [
    ['sam1-tiny', 'hf-sam', 'sam', { mask: false, single: false, multi: true }, 'onnx/vision_encoder.onnx', 'onnx/prompt_encoder_mask_decoder.onnx'],
    ['sam2-tiny', 'hf-sam2', 'sam2', { mask: false, single: false, multi: true }, 'onnx/vision_encoder.onnx', 'onnx/prompt_encoder_mask_decoder.onnx'],
    ['sam1-reference-export', 'reference-export', 'sam', { mask: true, single: true, multi: true }, 'onnx/vision_encoder.onnx', 'onnx/decoder.onnx'],
    ['sam2-samexporter', 'samexporter-sam2', 'sam2', { mask: true, single: false, multi: true }, 'onnx/encoder.onnx', 'onnx/decoder.onnx'],
  ];
  for (const [name, layout, family, caps, enc, dec] of cases) {
    it(`${name} → ${layout} (${family})`, async () => {
      const m = await loadModel(fixture(name), { threads: 1 });
      try {
        expect(m.adapter.layout).toBe(layout);
        expect(m.family).toBe(family);
        expect(m.adapter.family).toBe(family);
        expect(m.files).toEqual({ encoder: fixture(name, enc), decoder: fixture(name, dec) });
        expect({
          mask: m.adapter.supportsMaskInput,
          single: m.adapter.supportsSingleMask,
          multi: m.adapter.supportsMultimask !== false,
        }).toEqual(caps);
      } finally {
        await m.adapter.release();
      }
    });
  }

  it('single-decoder exports at the top of a folder, without config files, use the layout default transform', async () => {
    const ref = await folder('ref-flat', {
      'encoder.onnx': fixture('sam1-reference-export', 'onnx', 'vision_encoder.onnx'),
      'decoder.onnx': fixture('sam1-reference-export', 'onnx', 'decoder.onnx'),
    });
    const sx = await folder('samexporter-flat', {
      'encoder.onnx': fixture('sam2-samexporter', 'onnx', 'encoder.onnx'),
      'decoder.onnx': fixture('sam2-samexporter', 'onnx', 'decoder.onnx'),
    });
    const image = { data: new Uint8Array(200 * 100 * 3).fill(128), width: 200, height: 100 };
    const a = await loadModel(ref, { threads: 1 });
    const b = await loadModel(sx, { threads: 1 });
    try {
      expect([a.adapter.layout, a.family, a.files.encoder]).toEqual(['reference-export', 'sam', path.join(ref, 'encoder.onnx')]);
      expect([b.adapter.layout, b.family, b.files.decoder]).toEqual(['samexporter-sam2', 'sam2', path.join(sx, 'decoder.onnx')]);
      // SAM 1 default: longest edge 1024 + padding; samexporter default: stretched to 1024×1024, no padding.
      expect((await a.adapter.encode(image)).geometry).toEqual({ lowRes: 256, frame: 1024, validW: 1024, validH: 512 });
      expect((await b.adapter.encode(image)).geometry).toEqual({ lowRes: 256, frame: null, validW: 256, validH: 256 });
    } finally {
      await a.adapter.release();
      await b.adapter.release();
    }
  });

  it('a single-mask-only export (return_single_mask) needs --no-multimask', async () => {
    const dir = await folder('ref-single', {
      'onnx/vision_encoder.onnx': fixture('sam1-reference-export', 'onnx', 'vision_encoder.onnx'),
      'onnx/decoder.onnx': constantModel(
        [
          ['image_embeddings', FLOAT, [1, 256, 64, 64]],
          ['point_coords', FLOAT, [1, 'num_points', 2]],
          ['point_labels', FLOAT, [1, 'num_points']],
          ['mask_input', FLOAT, [1, 1, 256, 256]],
          ['has_mask_input', FLOAT, [1]],
          ['orig_im_size', FLOAT, [2]],
        ],
        [
          ['masks', [1, 1, 2, 2]],
          ['iou_predictions', [1, 1]],
          ['low_res_masks', [1, 1, 256, 256]],
        ],
      ),
    });
    const m = await loadModel(dir, { threads: 1 });
    try {
      expect([m.adapter.layout, m.adapter.supportsSingleMask, m.adapter.supportsMultimask]).toEqual(['reference-export', true, false]);
      expect(() => new MaskGenerator(m.adapter, {})).toThrow(/only the single-mask output: set multimaskOutput to false/);
      const g = new MaskGenerator(m.adapter, { multimaskOutput: false, pointsPerSide: 2 });
      const recs = await g.generate({ data: new Uint8Array(64 * 48 * 3).fill(90), width: 64, height: 48 });
      // constant logits 0.5 > 0: the whole image, IoU 0.5 ≤ 0.88 → filtered; with the filter off, one full mask
      expect(recs).toEqual([]);
      const g2 = new MaskGenerator(m.adapter, { multimaskOutput: false, pointsPerSide: 1, predIouThresh: 0, stabilityScoreThresh: 0 });
      const [rec] = await g2.generate({ data: new Uint8Array(64 * 48 * 3).fill(90), width: 64, height: 48 });
      expect([rec.area, rec.predictedIou]).toEqual([64 * 48, 0.5]);
    } finally {
      await m.adapter.release();
    }
  });

  it('`models info` names the layout and what it supports', async () => {
    const text = await describeModel(fixture('sam1-reference-export'), { encoder: 'fp32', decoder: 'fp32' });
    expect(text).toMatch(/layout: +reference-export/);
    expect(text).toMatch(/single-mask \(--no-multimask\)/);
    expect(text).toMatch(/use_m2m: +yes/);
    const sx = await describeModel(fixture('sam2-samexporter'), { encoder: 'fp32', decoder: 'fp32' });
    expect(sx).toMatch(/layout: +samexporter-sam2/);
    expect(sx).toMatch(/use_m2m: +yes .*best of the 3 outputs/);
    const hf = await describeModel(fixture('sam2-tiny'), { encoder: 'fp32', decoder: 'fp32' });
    expect(hf).toMatch(/use_m2m: +no/);
  });
});

describe('mismatched pairs are refused naming both files', () => {
  it('a SAM 1 encoder with a SAM 2 decoder (Hugging Face names)', async () => {
    const dir = await folder('sam1-enc-sam2-dec', {
      'config.json': SAM2_CONFIG,
      'preprocessor_config.json': SAM2_PRE,
      'onnx/vision_encoder.onnx': fixture('sam1-tiny', 'onnx', 'vision_encoder.onnx'),
      'onnx/prompt_encoder_mask_decoder.onnx': fixture('sam2-tiny', 'onnx', 'prompt_encoder_mask_decoder.onnx'),
    });
    const msg = await loadError(dir);
    expect(msg).toContain(path.join(dir, 'onnx', 'vision_encoder.onnx'));
    expect(msg).toContain(path.join(dir, 'onnx', 'prompt_encoder_mask_decoder.onnx'));
    expect(msg).toMatch(/is a SAM 1 encoder .* but .* is a SAM 2 decoder .*do not belong together/);
  });

  it('a SAM 2 encoder with a SAM 1 decoder', async () => {
    const dir = await folder('sam2-enc-sam1-dec', {
      'config.json': SAM1_CONFIG,
      'preprocessor_config.json': SAM1_PRE,
      'onnx/vision_encoder.onnx': fixture('sam2-tiny', 'onnx', 'vision_encoder.onnx'),
      'onnx/prompt_encoder_mask_decoder.onnx': fixture('sam1-tiny', 'onnx', 'prompt_encoder_mask_decoder.onnx'),
    });
    const msg = await loadError(dir);
    expect(msg).toMatch(/vision_encoder\.onnx is a SAM 2 encoder .* but .*prompt_encoder_mask_decoder\.onnx is a SAM 1 decoder/);
  });

  it('a SAM 1 encoder with a samexporter SAM 2 decoder, and a Hugging Face SAM 2 encoder with it', async () => {
    const a = await folder('sam1-enc-samexporter-dec', {
      'onnx/encoder.onnx': fixture('sam1-tiny', 'onnx', 'vision_encoder.onnx'),
      'onnx/decoder.onnx': fixture('sam2-samexporter', 'onnx', 'decoder.onnx'),
    });
    const msgA = await loadError(a);
    expect(msgA).toContain(path.join(a, 'onnx', 'encoder.onnx'));
    expect(msgA).toContain(path.join(a, 'onnx', 'decoder.onnx'));
    expect(msgA).toMatch(/SAM 1 encoder .* SAM 2 decoder \(samexporter-sam2 layout/);
    const b = await folder('hf-sam2-enc-samexporter-dec', {
      'onnx/vision_encoder.onnx': fixture('sam2-tiny', 'onnx', 'vision_encoder.onnx'),
      'onnx/decoder.onnx': fixture('sam2-samexporter', 'onnx', 'decoder.onnx'),
    });
    expect(await loadError(b)).toMatch(/vision_encoder\.onnx is a SAM 2 encoder in the Hugging Face layout .*\/decoder\.onnx is a SAM 2 decoder \(samexporter-sam2/);
  });

  it('a samexporter encoder with the reference (SAM 1) decoder', async () => {
    const dir = await folder('samexporter-enc-ref-dec', {
      'encoder.onnx': fixture('sam2-samexporter', 'onnx', 'encoder.onnx'),
      'decoder.onnx': fixture('sam1-reference-export', 'onnx', 'decoder.onnx'),
    });
    expect(await loadError(dir)).toMatch(/encoder\.onnx is a SAM 2 encoder in samexporter's layout .*\/decoder\.onnx is a SAM 1 decoder \(reference-export/);
  });

  it('config.json that contradicts the decoder', async () => {
    const dir = await folder('samexporter-with-sam1-config', {
      'config.json': SAM1_CONFIG,
      'onnx/encoder.onnx': fixture('sam2-samexporter', 'onnx', 'encoder.onnx'),
      'onnx/decoder.onnx': fixture('sam2-samexporter', 'onnx', 'decoder.onnx'),
    });
    expect(await loadError(dir)).toMatch(/config\.json: model_type says SAM 1 but .*decoder\.onnx is a SAM 2 decoder \(samexporter-sam2 layout\)/);
  });
});

describe('missing files, dtypes and contract violations', () => {
  it('a folder that does not exist', async () => {
    expect(await loadError(path.join(tmp, 'nope'))).toMatch(/model folder .*nope does not exist/);
  });

  it('no decoder at all', async () => {
    const dir = await folder('no-decoder', {
      'config.json': SAM1_CONFIG,
      'preprocessor_config.json': SAM1_PRE,
      'onnx/vision_encoder.onnx': fixture('sam1-tiny', 'onnx', 'vision_encoder.onnx'),
    });
    expect(await loadError(dir)).toBe(
      `model folder ${dir}: missing onnx/prompt_encoder_mask_decoder.onnx (or onnx/decoder.onnx for a single-decoder export) (dtype fp32); present: onnx/vision_encoder.onnx`,
    );
  });

  it('a decoder without an encoder', async () => {
    const dir = await folder('no-encoder', { 'onnx/decoder.onnx': fixture('sam2-samexporter', 'onnx', 'decoder.onnx') });
    expect(await loadError(dir)).toMatch(/model folder .*no-encoder: has a decoder but no image encoder: expected onnx\/vision_encoder\.onnx, onnx\/encoder\.onnx or encoder\.onnx/);
  });

  it('a Hugging Face folder without config.json', async () => {
    const dir = await folder('no-config', {
      'preprocessor_config.json': SAM1_PRE,
      'onnx/vision_encoder.onnx': fixture('sam1-tiny', 'onnx', 'vision_encoder.onnx'),
      'onnx/prompt_encoder_mask_decoder.onnx': fixture('sam1-tiny', 'onnx', 'prompt_encoder_mask_decoder.onnx'),
    });
    expect(await loadError(dir)).toBe(`${path.join(dir, 'config.json')}: missing (a model folder needs config.json, preprocessor_config.json and onnx/)`);
  });

  it('a dtype whose files are not there names the files it looked for', async () => {
    expect(await loadError(fixture('sam1-tiny'), { dtype: { encoder: 'q8', decoder: 'q8' } })).toMatch(
      /missing onnx\/prompt_encoder_mask_decoder_quantized\.onnx .*\(dtype q8\); present: onnx\/prompt_encoder_mask_decoder\.onnx, onnx\/vision_encoder\.onnx/,
    );
    expect(await loadError(fixture('sam2-tiny'), { dtype: { encoder: 'fp16', decoder: 'fp32' } })).toMatch(
      /missing onnx\/vision_encoder_fp16\.onnx \(dtype fp16\)/,
    );
    expect(await loadError(fixture('sam2-samexporter'), { dtype: { encoder: 'fp32', decoder: 'int8' } })).toMatch(
      /missing onnx\/prompt_encoder_mask_decoder_int8\.onnx \(or onnx\/decoder_int8\.onnx for a single-decoder export\) \(dtype int8\)/,
    );
    expect(await loadError(fixture('sam1-tiny'), { dtype: { encoder: 'fp64', decoder: 'fp32' } })).toMatch(/--dtype: unknown dtype 'fp64'/);
  });

  it('a Hugging Face decoder whose input_labels are float instead of int64', async () => {
    const dir = await folder('wrong-labels', {
      'config.json': SAM1_CONFIG,
      'preprocessor_config.json': SAM1_PRE,
      'onnx/vision_encoder.onnx': fixture('sam1-tiny', 'onnx', 'vision_encoder.onnx'),
      'onnx/prompt_encoder_mask_decoder.onnx': constantModel(
        [
          ['input_points', FLOAT, ['b', 'p', 'n', 2]],
          ['input_labels', FLOAT, ['b', 'p', 'n']],
          ['image_embeddings', FLOAT, ['b', 256, 64, 64]],
          ['image_positional_embeddings', FLOAT, ['b', 256, 64, 64]],
        ],
        [
          ['iou_scores', [1, 1, 3]],
          ['pred_masks', [1, 1, 3, 4, 4]],
        ],
      ),
    });
    expect(await loadError(dir)).toBe(
      `${path.join(dir, 'onnx', 'prompt_encoder_mask_decoder.onnx')}: input 'input_labels' has element type float32, expected int64`,
    );
  });

  it('a reference-export decoder with int64 point_labels, and one without low_res_masks', async () => {
    const inputs = (labels: ElemType): [string, ElemType, Dim[]][] => [
      ['image_embeddings', FLOAT, [1, 256, 64, 64]],
      ['point_coords', FLOAT, [1, 'n', 2]],
      ['point_labels', labels, [1, 'n']],
      ['mask_input', FLOAT, [1, 1, 256, 256]],
      ['has_mask_input', FLOAT, [1]],
      ['orig_im_size', FLOAT, [2]],
    ];
    const enc = fixture('sam1-reference-export', 'onnx', 'vision_encoder.onnx');
    const a = await folder('ref-int-labels', {
      'onnx/vision_encoder.onnx': enc,
      'onnx/decoder.onnx': constantModel(inputs(INT64), [['iou_predictions', [1, 4]], ['low_res_masks', [1, 4, 256, 256]]]),
    });
    expect(await loadError(a)).toBe(`${path.join(a, 'onnx', 'decoder.onnx')}: input 'point_labels' has element type int64, expected float32`);
    const b = await folder('ref-no-lowres', {
      'onnx/vision_encoder.onnx': enc,
      'onnx/decoder.onnx': constantModel(inputs(FLOAT), [['iou_predictions', [1, 4]], ['masks', [1, 4, 8, 8]]]),
    });
    expect(await loadError(b)).toBe(`${path.join(b, 'onnx', 'decoder.onnx')}: has no output 'low_res_masks'; found: iou_predictions, masks`);
    const c = await folder('ref-two-masks', {
      'onnx/vision_encoder.onnx': enc,
      'onnx/decoder.onnx': constantModel(inputs(FLOAT), [['iou_predictions', [1, 2]], ['low_res_masks', [1, 2, 256, 256]]]),
    });
    expect(await loadError(c)).toBe(`${path.join(c, 'onnx', 'decoder.onnx')}: output 'low_res_masks' has 2 masks per prompt, expected 1 or 4`);
  });

  it('a decoder of no known layout lists its inputs', async () => {
    const dir = await folder('unknown-layout', {
      'onnx/encoder.onnx': fixture('sam2-samexporter', 'onnx', 'encoder.onnx'),
      'onnx/decoder.onnx': constantModel([['tokens', INT64, [1, 'n']]], [['logits', [1, 4]]]),
    });
    expect(await loadError(dir)).toMatch(/decoder\.onnx: not a known SAM decoder layout .*; inputs: tokens$/);
  });

  it('a file that is not ONNX', async () => {
    const dir = await folder('not-onnx', {
      'onnx/encoder.onnx': fixture('sam2-samexporter', 'onnx', 'encoder.onnx'),
      'onnx/decoder.onnx': 'this is not a model',
    });
    expect(await loadError(dir)).toMatch(/decoder\.onnx: ONNX Runtime cannot load it/);
  });
});

describe('--device', () => {
  it('an execution provider this runtime does not have is refused before any file is read', async () => {
    const msg = await loadError(fixture('sam1-tiny'), { device: process.platform === 'darwin' ? 'dml' : 'coreml' });
    expect(msg).toMatch(/^--device (coreml|dml): ONNX Runtime on this platform has no '(coreml|dml)' execution provider \(available: cpu/);
  });

  it('cpu loads', async () => {
    const m: LoadedModel = await loadModel(fixture('sam1-tiny'), { device: 'cpu', threads: 1 });
    await m.adapter.release();
  });
});
