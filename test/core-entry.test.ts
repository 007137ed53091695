/**
 * `sam-amg/core` stays browser-safe: bundled for the browser with esbuild, its import graph holds no Node built-in,
 * no sharp and no onnxruntime-node, and none of the project's own modules in it touches Node's globals. The main
 * entry keeps the Node API on top of it.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import * as core from '../src/core/index.js';
import * as main from '../src/index.js';
import { VERSION } from '../src/base/version.js';

const ROOT = path.resolve(new URL('..', import.meta.url).pathname);

describe('sam-amg/core', () => {
  it('bundles for the browser with nothing of Node in its import graph', async () => {
    const result = await build({
      entryPoints: [path.join(ROOT, 'src/core/index.ts')],
      bundle: true,
      platform: 'browser',
      format: 'esm',
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    expect(result.errors).toEqual([]);
    const inputs = Object.keys(result.metafile.inputs);
    const imports = Object.values(result.metafile.inputs).flatMap((i) => i.imports.map((x) => x.path));
    expect(imports.filter((p) => /^node:|^(fs|path|os|crypto|child_process|worker_threads|stream|buffer|process|url|util)$/u.test(p))).toEqual([]);
    expect(inputs.filter((p) => /node_modules\/(sharp|onnxruntime-node|@huggingface|commander|ora|p-limit)\//u.test(p))).toEqual([]);
    const own = inputs.filter((p) => p.startsWith('src/'));
    expect(own).toContain('src/amg/generator.ts');
    expect(own).toContain('src/model/layouts/hugging-face.ts');
    expect(own.filter((p) => p.startsWith('src/node/') || p.startsWith('src/cli/') || p.startsWith('src/run/'))).toEqual([]);
    const nodeGlobals: string[] = [];
    for (const p of own) {
      const text = (await readFile(path.join(ROOT, p), 'utf8')).replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gmu, '');
      if (/\b(process\.|Buffer\.|require\(|__dirname)/u.test(text)) nodeGlobals.push(p);
    }
    expect(nodeGlobals).toEqual([]);
  });

  it('is the generator, options, grids, crops, NMS, RLE, pre-processing, model loading over fetch and the COCO writer', () => {
    for (const name of [
      'MaskGenerator',
      'resolveOptions',
      'buildLayerGrids',
      'generateCropBoxes',
      'boxNms',
      'toCoco',
      'fromCoco',
      'preprocess',
      'rgbFromRgba',
      'createRuntime',
      'loadModelFrom',
      'loadModelFromUrl',
      'UrlModelFiles',
      'cocoDocument',
      'serializeCoco',
      'ModelError',
    ]) {
      expect({ name, type: typeof (core as Record<string, unknown>)[name] }).toEqual({ name, type: 'function' });
    }
    expect(core.LAYOUTS.map((l) => l.name)).toEqual(['hf-sam2', 'hf-sam', 'reference-export', 'samexporter-sam2']);
  });

  it('the main entry keeps the Node API: MaskGenerator.load, decodeImage, loadModel, the hub', () => {
    expect(typeof main.MaskGenerator.load).toBe('function');
    expect(Object.getPrototypeOf(main.MaskGenerator)).toBe(core.MaskGenerator);
    for (const name of ['decodeImage', 'loadModel', 'modelSha256', 'resolveModel', 'parseCocoDocument', 'toCoco']) {
      expect({ name, type: typeof (main as Record<string, unknown>)[name] }).toEqual({ name, type: 'function' });
    }
  });

  it('VERSION is the package version', async () => {
    const pkg = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(VERSION).toBe(pkg.version);
  });
});
