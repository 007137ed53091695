/**
 * The model flags on the command line: --device, --use-m2m and --no-multimask against the layouts, exit codes and
 * messages, and a SAM 2 run that writes a COCO file.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../src/cli/main.js';
import { providerLibrary } from '../src/node/session.js';

const MODELS = new URL('../fixtures/models/', import.meta.url).pathname;
const SCENE = new URL('../fixtures/scenes/small-300x300.png', import.meta.url).pathname;

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'sam-amg-model-cli-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** Runs the CLI in-process; returns the exit code and what it wrote to stderr. */
async function cli(...args: string[]): Promise<{ code: number; stderr: string }> {
  let stderr = '';
  const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stderr += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
    return true;
  });
  try {
    const code = await main(['node', 'sam-amg', ...args]);
    return { code, stderr };
  } finally {
    spy.mockRestore();
  }
}

describe('--device', () => {
  it('a provider this runtime lacks: exit 2 with a message naming it and the available ones', async () => {
    const device = process.platform === 'darwin' ? 'dml' : 'coreml';
    const out = path.join(tmp, 'device.json');
    const t = performance.now();
    const { code, stderr } = await cli(SCENE, '--model', `${MODELS}sam2-tiny`, '--device', device, '--out', out, '--quiet');
    expect(code).toBe(2);
    expect(stderr).toContain(`--device ${device}: ONNX Runtime on this platform has no '${device}' execution provider (available: cpu`);
    expect(existsSync(out)).toBe(false);
    expect(performance.now() - t).toBeLessThan(5000);
  });

  it('cuda without the GPU provider library installed: exit 2 pointing to the README Devices section', async (ctx) => {
    const lib = providerLibrary('cuda');
    if (!lib || existsSync(lib) || !['linux', 'win32'].includes(process.platform)) ctx.skip();
    const { code, stderr } = await cli(SCENE, '--model', `${MODELS}sam2-tiny`, '--device', 'cuda', '--out', path.join(tmp, 'cuda.json'));
    expect(code).toBe(2);
    expect(stderr).toContain('--device cuda: the installed onnxruntime-node has no cuda provider library');
    expect(stderr).toContain('Devices section');
  });
});

describe('--use-m2m and --no-multimask on the command line', () => {
  it('are refused with exit 2 where the layout lacks them', async () => {
    const a = await cli(SCENE, '--model', `${MODELS}sam2-tiny`, '--use-m2m', '--out', path.join(tmp, 'a.json'), '--quiet');
    expect(a.code).toBe(2);
    expect(a.stderr).toContain('--use-m2m: the hf-sam2 layout has no mask input');
    const b = await cli(SCENE, '--model', `${MODELS}sam2-samexporter`, '--no-multimask', '--out', path.join(tmp, 'b.json'), '--quiet');
    expect(b.code).toBe(2);
    expect(b.stderr).toContain('--no-multimask: the samexporter-sam2 layout has no single-mask output');
  });

  it('samexporter with --use-m2m writes a COCO file that records use_m2m', async () => {
    const out = path.join(tmp, 'm2m.json');
    const { code, stderr } = await cli(SCENE, '--model', `${MODELS}sam2-samexporter`, '--use-m2m', '--points-per-side', '4', '--date', 'none', '--out', out, '--quiet');
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    const doc = JSON.parse(await readFile(out, 'utf8')) as {
      info: { options: Record<string, unknown> };
      images: unknown[];
      annotations: { predicted_iou: number; segmentation: { size: number[]; counts: string } }[];
    };
    expect(doc.info.options.use_m2m).toBe(true);
    expect(doc.info.options.multimask_output).toBe(true);
    expect(doc.info.options.pred_iou_thresh).toBe(0.8);
    expect(doc.images).toHaveLength(1);
    expect(doc.annotations.length).toBeGreaterThanOrEqual(3);
    for (const a of doc.annotations) {
      expect(a.predicted_iou).toBeCloseTo(0.96, 6);
      expect(a.segmentation.size).toEqual([300, 300]);
    }
  });

  it('the reference export with --no-multimask records multimask_output false', async () => {
    const out = path.join(tmp, 'single.json');
    const { code } = await cli(SCENE, '--model', `${MODELS}sam1-reference-export`, '--no-multimask', '--points-per-side', '3', '--date', 'none', '--out', out, '--quiet');
    expect(code).toBe(0);
    const doc = JSON.parse(await readFile(out, 'utf8')) as { info: { options: Record<string, unknown> }; annotations: { predicted_iou: number }[] };
    expect(doc.info.options.multimask_output).toBe(false);
    expect(doc.annotations.length).toBeGreaterThan(0);
    expect(doc.annotations.every((a) => Math.abs(a.predicted_iou - 0.95) < 1e-6)).toBe(true);
  });
});
