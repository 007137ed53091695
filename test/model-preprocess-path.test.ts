/**
 * The model folder's preprocessor_config.json decides the resize rule, whatever the model family.
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadModel } from '../src/node/model-folder.js';

const ROOT = path.resolve(new URL('..', import.meta.url).pathname);
const SAM2 = path.join(ROOT, 'fixtures/models/sam2-tiny');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'sam-amg-pre-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const base = {
  do_normalize: true,
  do_rescale: true,
  do_resize: true,
  do_convert_rgb: true,
  image_mean: [0.485, 0.456, 0.406],
  image_std: [0.229, 0.224, 0.225],
  resample: 2,
  rescale_factor: 1 / 255,
};

function folderWith(name: string, pre: Record<string, unknown>): string {
  const dir = path.join(tmp, name);
  mkdirSync(path.join(dir, 'onnx'), { recursive: true });
  for (const f of ['config.json', 'onnx/vision_encoder.onnx', 'onnx/prompt_encoder_mask_decoder.onnx']) copyFileSync(path.join(SAM2, f), path.join(dir, f));
  writeFileSync(path.join(dir, 'preprocessor_config.json'), JSON.stringify({ ...base, ...pre }));
  return dir;
}

const image = { data: new Uint8Array(800 * 534 * 3).fill(90), width: 800, height: 534 };

describe('pre-processing rule from preprocessor_config.json', () => {
  it('square 1024×1024 without padding: logits map straight onto the crop', async () => {
    const m = await loadModel(folderWith('square', { size: { height: 1024, width: 1024 }, do_pad: false }));
    const enc = await m.adapter.encode(image);
    expect(enc.geometry).toEqual({ lowRes: 256, frame: null, validW: 256, validH: 256 });
    await m.adapter.release();
  });
  it('longest edge 1024 + padding: the SAM 1 rule, even for a SAM 2 model', async () => {
    const m = await loadModel(folderWith('longest', { size: { longest_edge: 1024 }, do_pad: true, pad_size: { height: 1024, width: 1024 } }));
    expect(m.family).toBe('sam2');
    const enc = await m.adapter.encode(image);
    expect(enc.geometry).toEqual({ lowRes: 256, frame: 1024, validW: 1024, validH: 684 });
    await m.adapter.release();
  });
  it('an unknown combination is refused naming the file and the field', async () => {
    const dir = folderWith('bad', { size: { height: 512, width: 1024 }, do_pad: false });
    await expect(loadModel(dir)).rejects.toThrow(/preprocessor_config\.json.*size/);
    const dir2 = folderWith('bad2', { size: { longest_edge: 1024 }, do_pad: false });
    await expect(loadModel(dir2)).rejects.toThrow(/preprocessor_config\.json.*do_pad/);
  });
});
