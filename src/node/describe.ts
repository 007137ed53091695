/**
 * A readable description of a model folder, for `sam-amg models info`.
 */
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import type { InferenceSession } from 'onnxruntime-common';
import { DTYPE_SUFFIX, type DtypeChoice } from '../model/dtype.js';
import { loadModel } from './model-folder.js';

/** Family, layout, pre-processing, I/O of both sessions, and the dtype files present. */
export async function describeModel(dir: string, dtype: DtypeChoice): Promise<string> {
  // The decoder as exported: this describes the model folder, not the optimised graphs built from it.
  const loaded = await loadModel(dir, { dtype, threads: 1, optimise: false });
  const lines = [
    `folder:   ${path.resolve(dir)}`,
    `family:   ${loaded.family === 'sam' ? 'SAM 1' : 'SAM 2'}`,
    `layout:   ${loaded.adapter.layout}`,
    `encoder:  ${loaded.files.encoder}`,
    `decoder:  ${loaded.files.decoder}`,
  ];
  const a = loaded.adapter;
  const d = loaded.description;
  const m2mNote = d.m2mNote;
  lines.push(`outputs:  ${[a.supportsMultimask !== false ? 'multimask (3 per prompt)' : '', a.supportsSingleMask ? 'single-mask (--no-multimask)' : ''].filter(Boolean).join(', ')}`);
  lines.push(`use_m2m:  ${a.supportsMaskInput ? `yes (--use-m2m${m2mNote ? `; ${m2mNote}` : ''})` : 'no (the decoder takes no mask input)'}`);
  for (const [name, io] of [['encoder', d.encoder], ['decoder', d.decoder]] as const) {
    lines.push(`${name} inputs:  ${io.inputs.map(fmt).join(', ')}`);
    lines.push(`${name} outputs: ${io.outputs.map(fmt).join(', ')}`);
  }
  const onnxDir = path.join(dir, 'onnx');
  const files = existsSync(onnxDir) ? await readdir(onnxDir) : [];
  const present = Object.entries(DTYPE_SUFFIX)
    .filter(([, suffix]) => files.includes(`vision_encoder${suffix}.onnx`) || files.includes(`prompt_encoder_mask_decoder${suffix}.onnx`))
    .map(([name]) => name);
  if (a.layout === 'hf-sam' || a.layout === 'hf-sam2') {
    lines.push(`dtypes:   ${present.join(', ') || '(none in the HF layout)'}`);
  } else {
    const top = await readdir(dir);
    const onnx = [...files.map((f) => `onnx/${f}`), ...top].filter((f) => f.endsWith('.onnx')).sort();
    lines.push(`files:    ${onnx.join(', ')}`);
  }
  await loaded.adapter.release();
  return lines.join('\n');
}

function fmt(m: InferenceSession.ValueMetadata): string {
  return m.isTensor ? `${m.name} ${m.type}[${m.shape.join(',')}]` : m.name;
}
