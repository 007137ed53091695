/**
 * Loading a model folder: config, pre-processing rule, ONNX sessions, layout detection and contract checks,
 * all before any image is read.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import type * as ort from 'onnxruntime-node';
import { parsePreprocessorConfig, type PreprocessSpec } from '../image/preprocess.js';
import type { ModelAdapter, ModelFamily } from './adapter.js';
import { checkContract, fixedDim, names, type TensorSpec } from './contract.js';
import { dtypeSuffix, type DtypeChoice } from './dtype.js';
import { HfSamAdapter } from './hf-sam.js';
import { ReferenceExportAdapter } from './reference-export.js';
import { SamexporterAdapter } from './samexporter.js';
import { createDecoder, type Decoder, type DecoderOptions } from './decoder.js';
import { feedSpec } from './decoder-spec.js';
import { createSession, ModelError, checkDevice } from './session.js';

/**
 * Options for loading a model folder. `optimise: false` runs the decoder graph as exported (the CLI's
 * --no-optimise); `onWarning` receives the one line said when the optimised decoder is not used.
 */
export interface LoadModelOptions extends DecoderOptions {
  dtype?: DtypeChoice;
}

/** A loaded model and what the output file says about it. */
export interface LoadedModel {
  adapter: ModelAdapter;
  dir: string;
  family: ModelFamily;
  files: { encoder: string; decoder: string };
  /** What the decoder graph optimiser did: its passes, or why the original graph runs. */
  decoder: { optimised: boolean; passes: readonly string[]; notOptimised?: string };
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


/**
 * Loads and validates a model folder, detecting its layout.
 *
 * Detection rules (files first, then the ONNX inputs, never the file names alone):
 * 1. Files, with the dtype suffix `sfx` of `--dtype` (fp32: none):
 *    - Hugging Face layout: `onnx/prompt_encoder_mask_decoder{sfx}.onnx` with `onnx/vision_encoder{sfx}.onnx`;
 *      `config.json` and `preprocessor_config.json` are required.
 *    - Otherwise a single-decoder export: the decoder is `onnx/decoder{sfx}.onnx`, else `decoder{sfx}.onnx`; the
 *      encoder the first of `onnx/vision_encoder{sfx}.onnx`, `onnx/encoder{sfx}.onnx`, `encoder{sfx}.onnx`.
 *      `config.json` is optional (when present its model_type must agree with the layout's family);
 *      `preprocessor_config.json` is optional (default: the layout's own transform, below).
 * 2. The layout is decided by the decoder's input names:
 *    - `input_points` + `image_embeddings.0` → `hf-sam2` (SAM 2, Hugging Face);
 *    - `input_points` + `image_embeddings` → `hf-sam` (SAM 1, Hugging Face);
 *    - `point_coords` + `orig_im_size` + `image_embeddings` → `reference-export` (SAM 1; the reference repository's
 *      decoder export: batch 1, 4 or 1 masks; default transform: longest edge 1024 + padding);
 *    - `point_coords` + `image_embed` + `high_res_feats_0` → `samexporter-sam2` (SAM 2; dynamic batch, mask input,
 *      3 or 1 masks; default transform: stretched to 1024×1024, no padding);
 *    - anything else is refused, listing the decoder's inputs.
 * 3. The encoder's kind is decided by its outputs (`image_embeddings.0` → SAM 2 Hugging Face, `image_embed` +
 *    `high_res_feats_0` → SAM 2 samexporter, `image_embeddings` → SAM 1) and must be the kind the decoder reads;
 *    otherwise the pair is refused naming both files.
 * 4. Every tensor the layout exchanges is then checked by name, element type and rank (contract.ts); the masks per
 *    prompt (reference export 4 or 1, samexporter 3 or 1) come from the decoder's output metadata.
 */
export async function loadModel(dir: string, opts: LoadModelOptions = {}): Promise<LoadedModel> {
  if (!existsSync(dir)) throw new ModelError(`model folder ${dir} does not exist`);
  if (opts.device) checkDevice(opts.device);
  const dtype = opts.dtype ?? { encoder: 'fp32', decoder: 'fp32' };
  const encSfx = suffixOf(dtype.encoder);
  const decSfx = suffixOf(dtype.decoder);
  const hfNames = existsSync(path.join(dir, 'onnx', `prompt_encoder_mask_decoder${decSfx}.onnx`));
  const singleDecoder = hfNames ? undefined : findFirst(dir, [`onnx/decoder${decSfx}.onnx`, `decoder${decSfx}.onnx`]);
  // The Hugging Face layout needs its config files, read (and checked) before any ONNX file.
  let configFamily: ModelFamily | undefined;
  let pre: PreprocessSpec | undefined;
  if (!singleDecoder) {
    configFamily = await readFamily(dir);
    pre = await readPreprocessor(dir);
  }
  const decoderFile = singleDecoder ?? (await onnxFile(dir, 'prompt_encoder_mask_decoder', dtype.decoder, true));
  const encoderFile = singleDecoder
    ? (findFirst(dir, [`onnx/vision_encoder${encSfx}.onnx`, `onnx/encoder${encSfx}.onnx`, `encoder${encSfx}.onnx`]) ??
      (await missingEncoder(dir, dtype.encoder)))
    : await onnxFile(dir, 'vision_encoder', dtype.encoder, false);
  const encoder = await createSession(encoderFile, opts, { arena: false });
  let decoder: ort.InferenceSession;
  try {
    decoder = await createSession(decoderFile, opts);
  } catch (err) {
    await encoder.release();
    throw err;
  }
  let decoderOwned: Decoder | undefined;
  try {
    const layout = detectLayout(decoderFile, decoder);
    const family: ModelFamily = layout === 'hf-sam2' || layout === 'samexporter-sam2' ? 'sam2' : 'sam';
    checkEncoderKind(layout, encoderFile, encoder, decoderFile);
    if (singleDecoder) {
      if (existsSync(path.join(dir, 'config.json'))) configFamily = await readFamily(dir);
      if (existsSync(path.join(dir, 'preprocessor_config.json'))) pre = await readPreprocessor(dir);
      pre ??= parsePreprocessorConfig(
        layout === 'samexporter-sam2'
          ? { size: { height: 1024, width: 1024 }, do_pad: false }
          : { size: { longest_edge: 1024 }, do_pad: true },
        `default transform of the ${layout} layout`,
      );
    }
    if (configFamily !== undefined && configFamily !== family) {
      throw new ModelError(
        `${path.join(dir, 'config.json')}: model_type says ${configFamily === 'sam2' ? 'SAM 2' : 'SAM 1'} but ${decoderFile} is a ${family === 'sam2' ? 'SAM 2' : 'SAM 1'} decoder (${layout} layout)`,
      );
    }
    const spec = pre as PreprocessSpec;
    // The contract first (from the exported decoder's metadata), then the decoder graph optimiser.
    let makeAdapter: (dec: Decoder) => ModelAdapter;
    if (layout === 'hf-sam' || layout === 'hf-sam2') {
      validatePair(family, encoderFile, encoder, decoderFile, decoder);
      makeAdapter = (dec) => new HfSamAdapter(family, encoder, dec, spec, decoderFile);
    } else if (layout === 'reference-export') {
      const masks = validateReferenceExport(encoderFile, encoder, decoderFile, decoder, spec);
      makeAdapter = (dec) => new ReferenceExportAdapter(encoder, dec, spec, decoderFile, 'image_embeddings', masks);
    } else {
      const masks = validateSamexporter(encoderFile, encoder, decoderFile, decoder, spec);
      makeAdapter = (dec) => new SamexporterAdapter(encoder, dec, spec, decoderFile, masks);
    }
    // From here on `dec` owns the exported decoder's session.
    const dec = await createDecoder(decoderFile, decoder, feedSpec(layout, decoder.inputMetadata, encoder.outputMetadata), opts);
    decoderOwned = dec;
    const adapter = makeAdapter(dec);
    const info = { optimised: dec.passes.length > 0, passes: dec.passes, notOptimised: dec.notOptimised };
    return { adapter, dir, family, files: { encoder: encoderFile, decoder: decoderFile }, decoder: info };
  } catch (err) {
    await encoder.release();
    if (decoderOwned) await decoderOwned.release();
    else await decoder.release();
    throw err;
  }
}

/** The layouts loadModel recognises. */
export type ModelLayout = 'hf-sam' | 'hf-sam2' | 'reference-export' | 'samexporter-sam2';

/** Layout of a decoder session, from its input names (rule 2 of loadModel). */
export function detectLayout(decoderFile: string, decoder: ort.InferenceSession): ModelLayout {
  const inputs = names(decoder.inputMetadata);
  if (inputs.has('input_points')) {
    if (inputs.has('image_embeddings.0')) return 'hf-sam2';
    if (inputs.has('image_embeddings')) return 'hf-sam';
  }
  if (inputs.has('point_coords')) {
    if (inputs.has('orig_im_size') && inputs.has('image_embeddings')) return 'reference-export';
    if (inputs.has('image_embed') && inputs.has('high_res_feats_0')) return 'samexporter-sam2';
  }
  throw new ModelError(
    `${decoderFile}: not a known SAM decoder layout (Hugging Face: input_points + image_embeddings[.0]; reference export: point_coords + orig_im_size + image_embeddings; samexporter: point_coords + image_embed + high_res_feats_0); inputs: ${[...inputs].join(', ') || '(none)'}`,
  );
}

type EncoderKind = 'sam1' | 'sam2-hf' | 'sam2-samexporter';

const ENCODER_KIND_TEXT: Record<EncoderKind, string> = {
  sam1: 'a SAM 1 encoder (image_embeddings)',
  'sam2-hf': 'a SAM 2 encoder in the Hugging Face layout (image_embeddings.0/1/2)',
  'sam2-samexporter': "a SAM 2 encoder in samexporter's layout (high_res_feats_0/1, image_embed)",
};
const DECODER_NEEDS: Record<ModelLayout, EncoderKind> = {
  'hf-sam': 'sam1',
  'hf-sam2': 'sam2-hf',
  'reference-export': 'sam1',
  'samexporter-sam2': 'sam2-samexporter',
};

/** Rule 3: the encoder must produce what the decoder's layout reads; refuses a mismatched pair naming both files. */
function checkEncoderKind(layout: ModelLayout, encoderFile: string, encoder: ort.InferenceSession, decoderFile: string): void {
  const out = names(encoder.outputMetadata);
  const kind: EncoderKind | undefined = out.has('image_embeddings.0')
    ? 'sam2-hf'
    : out.has('high_res_feats_0') && out.has('image_embed')
      ? 'sam2-samexporter'
      : out.has('image_embeddings')
        ? 'sam1'
        : undefined;
  if (!kind) {
    throw new ModelError(
      `${encoderFile}: not a SAM image encoder (expected output image_embeddings, image_embeddings.0/1/2 or high_res_feats_0/1 + image_embed); outputs: ${[...out].join(', ') || '(none)'}`,
    );
  }
  const want = DECODER_NEEDS[layout];
  if (kind === want) return;
  const decFamily = layout === 'hf-sam2' || layout === 'samexporter-sam2' ? 'SAM 2' : 'SAM 1';
  throw new ModelError(
    `${encoderFile} is ${ENCODER_KIND_TEXT[kind]} but ${decoderFile} is a ${decFamily} decoder (${layout} layout, which needs ${ENCODER_KIND_TEXT[want]}): they do not belong together`,
  );
}

/** The encoder of a single-decoder export: one float32 [B,3,S,S] input, S the transform's tensor side when fixed. */
function checkImageInput(encoderFile: string, encoder: ort.InferenceSession, pre: PreprocessSpec): void {
  const inputs = encoder.inputMetadata;
  if (inputs.length !== 1) {
    throw new ModelError(`${encoderFile}: an image encoder has one input, found ${inputs.length}: ${inputs.map((m) => m.name).join(', ')}`);
  }
  const name = inputs[0].name;
  checkContract(encoderFile, 'input', inputs, [{ name, type: 'float32', rank: 4 }]);
  const side = pre.mode === 'square' ? pre.size : pre.padSize;
  for (const [axis, want] of [[1, 3], [2, side], [3, side]] as const) {
    const d = fixedDim(inputs, name, axis);
    if (d !== undefined && d !== want) {
      const m = inputs[0] as { shape?: readonly unknown[] };
      throw new ModelError(
        `${encoderFile}: input '${name}' has shape [${(m.shape ?? []).join(', ')}], expected [1, 3, ${side}, ${side}] for the configured transform`,
      );
    }
  }
}

/** Masks per prompt of a decoder output: fixed in the metadata, or the layout's usual count when symbolic. */
function maskCount<T extends number>(
  file: string,
  meta: readonly ort.InferenceSession.ValueMetadata[],
  name: string,
  allowed: readonly T[],
  dflt: T,
): T {
  const d = fixedDim(meta, name, 1);
  if (d === undefined) return dflt;
  if (!(allowed as readonly number[]).includes(d)) {
    throw new ModelError(`${file}: output '${name}' has ${d} masks per prompt, expected ${allowed.join(' or ')}`);
  }
  return d as T;
}

/** Prompt inputs of the single-decoder exports (reference and samexporter): points, labels and a mask prompt. */
const MASK_PROMPT_IN: TensorSpec[] = [
  { name: 'point_coords', type: 'float32', rank: 3 },
  { name: 'point_labels', type: 'float32', rank: 2 },
  { name: 'mask_input', type: 'float32', rank: 4 },
  { name: 'has_mask_input', type: 'float32', rank: 1 },
];

/** Contract of the reference export; returns the masks per call. */
function validateReferenceExport(
  encoderFile: string,
  encoder: ort.InferenceSession,
  decoderFile: string,
  decoder: ort.InferenceSession,
  pre: PreprocessSpec,
): 1 | 4 {
  checkImageInput(encoderFile, encoder, pre);
  checkContract(encoderFile, 'output', encoder.outputMetadata, [{ name: 'image_embeddings', type: 'float32', rank: 4 }]);
  checkContract(decoderFile, 'input', decoder.inputMetadata, [
    { name: 'image_embeddings', type: 'float32', rank: 4 },
    ...MASK_PROMPT_IN,
    { name: 'orig_im_size', type: 'float32', rank: 1 },
  ]);
  checkContract(decoderFile, 'output', decoder.outputMetadata, [
    { name: 'iou_predictions', type: 'float32', rank: 2 },
    { name: 'low_res_masks', type: 'float32', rank: 4 },
  ]);
  return maskCount(decoderFile, decoder.outputMetadata, 'low_res_masks', [1, 4] as const, 4);
}

/** Contract of samexporter's SAM 2 export; returns the masks per prompt. */
function validateSamexporter(
  encoderFile: string,
  encoder: ort.InferenceSession,
  decoderFile: string,
  decoder: ort.InferenceSession,
  pre: PreprocessSpec,
): 1 | 3 {
  checkImageInput(encoderFile, encoder, pre);
  const features: TensorSpec[] = [
    { name: 'high_res_feats_0', type: 'float32', rank: 4 },
    { name: 'high_res_feats_1', type: 'float32', rank: 4 },
    { name: 'image_embed', type: 'float32', rank: 4 },
  ];
  checkContract(encoderFile, 'output', encoder.outputMetadata, features);
  checkContract(decoderFile, 'input', decoder.inputMetadata, [
    ...features,
    ...MASK_PROMPT_IN,
  ]);
  checkContract(decoderFile, 'output', decoder.outputMetadata, [
    { name: 'masks', type: 'float32', rank: 4 },
    { name: 'iou_predictions', type: 'float32', rank: 2 },
  ]);
  return maskCount(decoderFile, decoder.outputMetadata, 'masks', [1, 3] as const, 3);
}

/** Checks a Hugging Face pair against the family's contract and against each other. */
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

function suffixOf(dtype: string): string {
  const suffix = dtypeSuffix(dtype);
  if (suffix === undefined) throw new ModelError(`--dtype: unknown dtype '${dtype}'`);
  return suffix;
}

/** The first of `candidates` (relative to dir) that exists. */
function findFirst(dir: string, candidates: string[]): string | undefined {
  for (const c of candidates) {
    const file = path.join(dir, c);
    if (existsSync(file)) return file;
  }
  return undefined;
}

/** The .onnx files in onnx/ and at the top of a folder, for error messages. */
async function presentOnnx(dir: string): Promise<string> {
  const present: string[] = [];
  for (const sub of ['onnx', '.']) {
    try {
      for (const f of (await readdir(path.join(dir, sub))).sort()) if (f.endsWith('.onnx')) present.push(sub === '.' ? f : `${sub}/${f}`);
    } catch {
      // no such folder: the message says what is expected
    }
  }
  return present.join(', ') || 'none';
}

async function missingEncoder(dir: string, dtype: string): Promise<never> {
  const sfx = suffixOf(dtype);
  throw new ModelError(
    `model folder ${dir}: has a decoder but no image encoder: expected onnx/vision_encoder${sfx}.onnx, onnx/encoder${sfx}.onnx or encoder${sfx}.onnx (dtype ${dtype}); present: ${await presentOnnx(dir)}`,
  );
}

async function onnxFile(dir: string, stem: string, dtype: string, isDecoder: boolean): Promise<string> {
  const suffix = suffixOf(dtype);
  const file = path.join(dir, 'onnx', `${stem}${suffix}.onnx`);
  if (!existsSync(file)) {
    const alt = isDecoder ? ` (or onnx/decoder${suffix}.onnx for a single-decoder export)` : '';
    throw new ModelError(`model folder ${dir}: missing onnx/${stem}${suffix}.onnx${alt} (dtype ${dtype}); present: ${await presentOnnx(dir)}`);
  }
  return file;
}

async function readPreprocessor(dir: string): Promise<PreprocessSpec> {
  const file = path.join(dir, 'preprocessor_config.json');
  const json = await readJson(file);
  try {
    return parsePreprocessorConfig(json, file);
  } catch (err) {
    throw new ModelError(err instanceof Error ? err.message : String(err));
  }
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
