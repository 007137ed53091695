/**
 * A readable description of a model folder, for `sam-amg models info`.
 */
import path from 'node:path';
import type { InferenceSession } from 'onnxruntime-common';
import { DTYPE_SUFFIX, type DtypeChoice } from '../model/dtype.js';
import { HF_SAM, HF_SAM2 } from '../model/layouts/hugging-face.js';
import { familyName } from '../model/load.js';
import { FolderModelFiles, loadModel } from './model-folder.js';

/** Family, layout, outputs, box prompts, m2m, I/O of both sessions, and the dtype files present. */
export async function describeModel(dir: string, dtype: DtypeChoice): Promise<string> {
  // The decoder as exported: this describes the model folder, not the optimised graphs built from it.
  const loaded = await loadModel(dir, { dtype, threads: 1, optimise: false });
  const lines = [
    `folder:   ${path.resolve(dir)}`,
    `family:   ${familyName(loaded.family)}`,
    `layout:   ${loaded.adapter.layout}`,
    `encoder:  ${loaded.files.encoder}`,
    `decoder:  ${loaded.files.decoder}`,
  ];
  const a = loaded.adapter;
  const d = loaded.description;
  const m2mNote = d.m2mNote;
  lines.push(`outputs:  ${[a.supportsMultimask !== false ? 'multimask (3 per prompt)' : '', a.supportsSingleMask ? 'single-mask (--no-multimask)' : ''].filter(Boolean).join(', ')}`);
  lines.push(`boxes:    ${a.decodeBoxes ? 'yes (box prompts: sam-amg segment --boxes)' : 'no (this layout cannot take box prompts)'}`);
  lines.push(`use_m2m:  ${a.supportsMaskInput ? `yes (--use-m2m${m2mNote ? `; ${m2mNote}` : ''})` : 'no (the decoder takes no mask input)'}`);
  for (const [name, io] of [['encoder', d.encoder], ['decoder', d.decoder]] as const) {
    lines.push(`${name} inputs:  ${io.inputs.map(fmt).join(', ')}`);
    lines.push(`${name} outputs: ${io.outputs.map(fmt).join(', ')}`);
  }
  const onnx = await new FolderModelFiles(dir).listOnnx();
  if (loaded.layout === HF_SAM.name || loaded.layout === HF_SAM2.name) {
    const present = Object.entries(DTYPE_SUFFIX)
      .filter(([, suffix]) => onnx.includes(`onnx/vision_encoder${suffix}.onnx`) || onnx.includes(`onnx/prompt_encoder_mask_decoder${suffix}.onnx`))
      .map(([name]) => name);
    lines.push(`dtypes:   ${present.join(', ') || '(none in the HF layout)'}`);
  } else {
    lines.push(`files:    ${[...onnx].sort().join(', ')}`);
  }
  await loaded.adapter.release();
  return lines.join('\n');
}

function fmt(m: InferenceSession.ValueMetadata): string {
  return m.isTensor ? `${m.name} ${m.type}[${m.shape.join(',')}]` : m.name;
}
