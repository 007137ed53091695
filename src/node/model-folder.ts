/**
 * Model folders on disk: the ModelFiles source the core loader reads, `loadModel(dir)` with onnxruntime-node, and
 * the sha256 of a model's ONNX files that outputs and journals record.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { ModelError } from '../model/errors.js';
import type { ModelFiles } from '../model/files.js';
import { loadModelFrom, type LoadedModel, type LoadModelOptions } from '../model/load.js';
import { checkDevice, nodeRuntime, type RuntimeOptions } from './session.js';

/** A model folder on disk. Sessions load from the file's path, so external data next to it works. */
export class FolderModelFiles implements ModelFiles {
  constructor(readonly location: string) {}

  label(rel: string): string {
    return path.join(this.location, rel);
  }

  async exists(rel: string): Promise<boolean> {
    return existsSync(this.label(rel));
  }

  async readText(rel: string): Promise<string> {
    return readFile(this.label(rel), 'utf8');
  }

  async readBytes(rel: string): Promise<Uint8Array> {
    return readFile(this.label(rel));
  }

  async model(rel: string): Promise<string> {
    return this.label(rel);
  }

  async listOnnx(): Promise<string[]> {
    const present: string[] = [];
    for (const sub of ['onnx', '.']) {
      try {
        for (const f of (await readdir(path.join(this.location, sub))).sort()) if (f.endsWith('.onnx')) present.push(sub === '.' ? f : `${sub}/${f}`);
      } catch {
        // no such folder: the message says what is expected
      }
    }
    return present;
  }

  close(): void {}
}

/** Options for loading a model folder in Node: the core's, plus threads and device. */
export interface NodeLoadModelOptions extends LoadModelOptions, RuntimeOptions {}

/**
 * Loads and validates a model folder (rules: src/model/load.ts) with onnxruntime-node. An unavailable `--device` is
 * refused before any file is read.
 */
export async function loadModel(dir: string, opts: NodeLoadModelOptions = {}): Promise<LoadedModel> {
  if (!existsSync(dir)) throw new ModelError(`model folder ${dir} does not exist`);
  if (opts.device) checkDevice(opts.device);
  return loadModelFrom(new FolderModelFiles(dir), nodeRuntime(opts), {
    ...opts,
    onWarning: opts.onWarning ?? ((m) => process.stderr.write(`sam-amg: warning: ${m}\n`)),
  });
}

/** sha256 over the model's ONNX files (and their external data), in a fixed order. */
export async function modelSha256(files: string[]): Promise<string> {
  const hash = createHash('sha256');
  for (const file of files) {
    for (const f of [file, `${file}_data`, `${file}.data`]) {
      if (!existsSync(f)) continue;
      await new Promise<void>((resolve, reject) => {
        createReadStream(f)
          .on('data', (chunk) => hash.update(chunk))
          .on('end', resolve)
          .on('error', reject);
      });
    }
  }
  return hash.digest('hex');
}
