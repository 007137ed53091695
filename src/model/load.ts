/**
 * Loading a model folder: config, pre-processing rule, ONNX sessions, layout detection and contract checks,
 * all before any image is read.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import type * as ort from 'onnxruntime-node';
import { parsePreprocessorConfig } from '../image/preprocess.js';
import type { ModelAdapter, ModelFamily } from './adapter.js';
import { checkContract, names, type TensorSpec } from './contract.js';
import { DTYPE_SUFFIX, type DtypeChoice } from './dtype.js';
import { HfSamAdapter } from './hf-sam.js';
import { createSession, ModelError, type RuntimeOptions, checkDevice } from './session.js';

/** Options for loading a model folder. */
export interface LoadModelOptions extends RuntimeOptions {
  dtype?: DtypeChoice;
}

/** A loaded model and what the output file says about it. */
export interface LoadedModel {
  adapter: ModelAdapter;
  dir: string;
  family: ModelFamily;
  files: { encoder: string; decoder: string };
}

const SAM1_ENCODER_OUT: TensorSpec[] = [
  { name: 'image_embeddings', type: 'float32', rank: 4 },
  { name: 'image_positional_embeddings', type: 'float32', rank: 4 },
];
const SAM2_ENCODER_OUT: TensorSpec[] = [
  { name: 'image_embeddings.0', type: 'float32', rank: 4 },
  { name: 'image_embeddings.1', type: 'float32', rank: 4 },
  { name: 'image_embeddings.2', type: 'float32', rank: 4 },
];
const PROMPT_IN: TensorSpec[] = [
  { name: 'input_points', type: 'float32', rank: 4 },
  { name: 'input_labels', type: 'int64', rank: 3 },
];
const DECODER_OUT: TensorSpec[] = [
  { name: 'iou_scores', type: 'float32', rank: 3 },
  { name: 'pred_masks', type: 'float32', rank: 5 },
];

/** Reads config.json's model_type and maps it to a family. */
export async function readFamily(dir: string): Promise<ModelFamily> {
  const file = path.join(dir, 'config.json');
  const cfg = await readJson(file);
  const type = typeof cfg === 'object' && cfg !== null ? (cfg as Record<string, unknown>).model_type : undefined;
  if (typeof type !== 'string') throw new ModelError(`${file}: field 'model_type' is missing`);
  if (type.startsWith('sam2') || type.startsWith('sam3')) return 'sam2';
  if (type === 'sam' || type === 'sam_hq' || type.startsWith('sam')) return 'sam';
  throw new ModelError(`${file}: field 'model_type' is '${type}', not a Segment Anything model (expected 'sam' or 'sam2')`);
}

/** Loads and validates a model folder in the Hugging Face ONNX layout. */
export async function loadModel(dir: string, opts: LoadModelOptions = {}): Promise<LoadedModel> {
  if (!existsSync(dir)) throw new ModelError(`model folder ${dir} does not exist`);
  if (opts.device) checkDevice(opts.device);
  const family = await readFamily(dir);
  const preFile = path.join(dir, 'preprocessor_config.json');
  const pre = parsePreprocessorConfig(await readJson(preFile), preFile);
  const dtype = opts.dtype ?? { encoder: 'fp32', decoder: 'fp32' };
  const encoderFile = await onnxFile(dir, 'vision_encoder', dtype.encoder);
  const decoderFile = await onnxFile(dir, 'prompt_encoder_mask_decoder', dtype.decoder);
  const encoder = await createSession(encoderFile, opts);
  const decoder = await createSession(decoderFile, opts);
  try {
    validatePair(family, encoderFile, encoder, decoderFile, decoder);
  } catch (err) {
    await encoder.release();
    await decoder.release();
    throw err;
  }
  return {
    adapter: new HfSamAdapter(family, encoder, decoder, pre, decoderFile),
    dir,
    family,
    files: { encoder: encoderFile, decoder: decoderFile },
  };
}

/** Checks both sessions against the family's contract and against each other. */
function validatePair(
  family: ModelFamily,
  encoderFile: string,
  encoder: ort.InferenceSession,
  decoderFile: string,
  decoder: ort.InferenceSession,
): void {
  checkContract(encoderFile, 'input', encoder.inputMetadata, [{ name: 'pixel_values', type: 'float32', rank: 4 }]);
  const encOut = names(encoder.outputMetadata);
  const decIn = names(decoder.inputMetadata);
  const encIsSam2 = encOut.has('image_embeddings.0');
  const decIsSam2 = decIn.has('image_embeddings.0');
  if (encIsSam2 !== decIsSam2) {
    throw new ModelError(
      `${encoderFile} is a ${encIsSam2 ? 'SAM 2' : 'SAM 1'} encoder but ${decoderFile} is a ${decIsSam2 ? 'SAM 2' : 'SAM 1'} decoder: they do not belong together`,
    );
  }
  const wantSam2 = family === 'sam2';
  if (encIsSam2 !== wantSam2) {
    throw new ModelError(
      `${path.join(path.dirname(path.dirname(encoderFile)), 'config.json')}: model_type says ${wantSam2 ? 'SAM 2' : 'SAM 1'} but ${encoderFile} is a ${encIsSam2 ? 'SAM 2' : 'SAM 1'} encoder`,
    );
  }
  const embeddings = encIsSam2 ? SAM2_ENCODER_OUT : SAM1_ENCODER_OUT;
  checkContract(encoderFile, 'output', encoder.outputMetadata, embeddings);
  checkContract(decoderFile, 'input', decoder.inputMetadata, [
    ...PROMPT_IN,
    ...embeddings,
    ...(encIsSam2 ? [{ name: 'input_boxes', type: 'float32', rank: 3, optional: true }] : []),
  ]);
  checkContract(decoderFile, 'output', decoder.outputMetadata, DECODER_OUT);
}

async function onnxFile(dir: string, stem: string, dtype: string): Promise<string> {
  const suffix = DTYPE_SUFFIX[dtype];
  if (suffix === undefined) throw new ModelError(`--dtype: unknown dtype '${dtype}'`);
  const file = path.join(dir, 'onnx', `${stem}${suffix}.onnx`);
  if (!existsSync(file)) {
    let present: string[] = [];
    try {
      present = (await readdir(path.join(dir, 'onnx'))).filter((f) => f.endsWith('.onnx'));
    } catch {
      // no onnx/ folder at all: the message below says what is expected
    }
    throw new ModelError(
      `model folder ${dir}: missing onnx/${stem}${suffix}.onnx (dtype ${dtype}); present: ${present.join(', ') || 'none'}`,
    );
  }
  return file;
}

async function readJson(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    throw new ModelError(`${file}: missing (a model folder needs config.json, preprocessor_config.json and onnx/)`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new ModelError(`${file}: not valid JSON (${err instanceof Error ? err.message : String(err)})`);
  }
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
