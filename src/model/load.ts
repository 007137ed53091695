/**
 * Loading a model: config, pre-processing rule, ONNX sessions, layout detection and contract checks, all before any
 * image is read. The files come from a ModelFiles source (a folder on disk: src/node/model-folder.ts; a URL:
 * ./url-files.ts) and the sessions from an OrtRuntime, so the same rules hold in Node and in a browser.
 */
import type { InferenceSession } from 'onnxruntime-common';
import { parsePreprocessorConfig, type PreprocessSpec } from '../image/preprocess.js';
import type { ModelAdapter, ModelFamily } from './adapter.js';
import { names } from './contract.js';
import { createDecoder, type Decoder, type DecoderOptions } from './decoder.js';
import { dtypeSuffix, type DtypeChoice } from './dtype.js';
import { createEncoder } from './encoder.js';
import { ModelError } from './errors.js';
import type { ModelFiles } from './files.js';
import { LAYOUTS, type EncoderKind, type LayoutSpec } from './layouts/index.js';
import type { OrtRuntime } from './runtime.js';
import { errorMessage } from '../base/errors.js';

/**
 * Options for loading a model. `optimise: false` runs the encoder and decoder graphs as exported (the CLI's
 * --no-optimise); `onWarning` receives the one line said when an optimised graph is not used.
 */
export interface LoadModelOptions extends DecoderOptions {
  dtype?: DtypeChoice;
}

/** The I/O of one session as its metadata states it, for `models info`. */
export interface SessionIo {
  inputs: readonly InferenceSession.ValueMetadata[];
  outputs: readonly InferenceSession.ValueMetadata[];
}

/** A loaded model and what the output file and `models info` say about it. */
export interface LoadedModel {
  adapter: ModelAdapter;
  /** The folder or URL it was loaded from. */
  dir: string;
  family: ModelFamily;
  /** The layout's name (hf-sam, hf-sam2, reference-export, samexporter-sam2). */
  layout: string;
  files: { encoder: string; decoder: string };
  /** What the decoder graph optimiser did: its passes, or why the original graph runs. */
  decoder: { optimised: boolean; passes: readonly string[]; notOptimised?: string };
  /** What the encoder graph optimiser did: its passes, or why the original graph runs. */
  encoder: { optimised: boolean; passes: readonly string[]; notOptimised?: string };
  /** The exported sessions' I/O and the layout's own notes, for `models info`. */
  description: { encoder: SessionIo; decoder: SessionIo; m2mNote?: string };
}

/** Reads config.json's model_type and maps it to a family. */
export async function readFamily(files: ModelFiles): Promise<ModelFamily> {
  const cfg = await readJson(files, 'config.json');
  const file = files.label('config.json');
  const type = typeof cfg === 'object' && cfg !== null ? (cfg as Record<string, unknown>).model_type : undefined;
  if (typeof type !== 'string') throw new ModelError(`${file}: field 'model_type' is missing`);
  if (type.startsWith('sam2') || type.startsWith('sam3')) return 'sam2';
  if (type === 'sam' || type === 'sam_hq' || type.startsWith('sam')) return 'sam';
  throw new ModelError(`${file}: field 'model_type' is '${type}', not a Segment Anything model (expected 'sam' or 'sam2')`);
}

/**
 * Loads and validates a model, detecting its layout.
 *
 * Detection rules (files first, then the ONNX inputs, never the file names alone):
 * 1. Files, with the dtype suffix `sfx` of `--dtype` (fp32: none):
 *    - Hugging Face layout: `onnx/prompt_encoder_mask_decoder{sfx}.onnx` with `onnx/vision_encoder{sfx}.onnx`;
 *      `config.json` and `preprocessor_config.json` are required.
 *    - Otherwise a single-decoder export: the decoder is `onnx/decoder{sfx}.onnx`, else `decoder{sfx}.onnx`; the
 *      encoder the first of `onnx/vision_encoder{sfx}.onnx`, `onnx/encoder{sfx}.onnx`, `encoder{sfx}.onnx`.
 *      `config.json` is optional (when present its model_type must agree with the layout's family);
 *      `preprocessor_config.json` is optional (default: the layout's own transform).
 * 2. The layout is the first registered one (./layouts) that recognises the decoder's input names; a decoder no
 *    layout recognises is refused, listing its inputs.
 * 3. The encoder's kind is decided by its outputs (`image_embeddings.0` → SAM 2 Hugging Face, `image_embed` +
 *    `high_res_feats_0` → SAM 2 samexporter, `image_embeddings` → SAM 1) and must be the kind the layout reads;
 *    otherwise the pair is refused naming both files.
 * 4. The encoder graph goes through its optimiser for the input size the pre-processing produces (./encoder.ts).
 * 5. The layout then checks every tensor it exchanges by name, element type and rank (contract.ts), and builds the
 *    adapter over the decoder graph optimiser's result (./decoder.ts).
 */
export async function loadModelFrom(files: ModelFiles, runtime: OrtRuntime, opts: LoadModelOptions = {}): Promise<LoadedModel> {
  const dtype = opts.dtype ?? { encoder: 'fp32', decoder: 'fp32' };
  const encSfx = suffixOf(dtype.encoder);
  const decSfx = suffixOf(dtype.decoder);
  const hfNames = await files.exists(`onnx/prompt_encoder_mask_decoder${decSfx}.onnx`);
  const singleDecoder = hfNames ? undefined : await firstPresent(files, [`onnx/decoder${decSfx}.onnx`, `decoder${decSfx}.onnx`]);
  // The Hugging Face layout needs its config files, read (and checked) before any ONNX file.
  let configFamily: ModelFamily | undefined;
  let pre: PreprocessSpec | undefined;
  if (!singleDecoder) {
    configFamily = await readFamily(files);
    pre = await readPreprocessor(files);
  }
  const decoderRel = singleDecoder ?? (await onnxFile(files, 'prompt_encoder_mask_decoder', dtype.decoder, true));
  const encoderRel = singleDecoder
    ? ((await firstPresent(files, [`onnx/vision_encoder${encSfx}.onnx`, `onnx/encoder${encSfx}.onnx`, `encoder${encSfx}.onnx`])) ??
      (await missingEncoder(files, dtype.encoder)))
    : await onnxFile(files, 'vision_encoder', dtype.encoder, false);
  const encoderFile = files.label(encoderRel);
  const decoderFile = files.label(decoderRel);
  // ONNX Runtime's default memory arena: the optimised encoder's tensors are small, and the original's run is
  // ONNX Runtime alone (see docs/performance.md).
  const encoderModel = await files.model(encoderRel);
  const original = await runtime.createSession(encoderModel, encoderFile);
  // The encoder session this function must release on failure (none while the encoder optimiser owns it).
  let encoder: InferenceSession | undefined = original;
  let decoder: InferenceSession;
  // Kept for the graph optimiser when it is bytes (a URL's body is not kept by the files source after model()).
  let decoderModel: Uint8Array | string;
  try {
    decoderModel = await files.model(decoderRel);
    decoder = await runtime.createSession(decoderModel, decoderFile);
  } catch (err) {
    await original.release();
    throw err;
  }
  let encoderInfo: LoadedModel['encoder'] = { optimised: false, passes: [] };
  let decoderOwned: Decoder | undefined;
  try {
    const layout = detectLayout(decoderFile, decoder);
    checkEncoderKind(layout, encoderFile, original, decoderFile);
    if (singleDecoder) {
      if (await files.exists('config.json')) configFamily = await readFamily(files);
      if (await files.exists('preprocessor_config.json')) pre = await readPreprocessor(files);
      pre ??= parsePreprocessorConfig(layout.defaultTransform, `default transform of the ${layout.name} layout`);
    }
    if (configFamily !== undefined && configFamily !== layout.family) {
      throw new ModelError(
        `${files.label('config.json')}: model_type says ${familyName(configFamily)} but ${decoderFile} is a ${familyName(layout.family)} decoder (${layout.name} layout)`,
      );
    }
    // The contract first (from the exported sessions' metadata, before the encoder optimiser's probe runs).
    layout.bind({ encoder: original, decoder, encoderFile, decoderFile }, pre as PreprocessSpec);
    // The exported encoder's I/O for `models info`, then its optimiser (which may replace the session).
    const encoderIo = { inputs: original.inputMetadata, outputs: original.outputMetadata };
    const spec = pre as PreprocessSpec;
    const side = spec.mode === 'square' ? spec.size : spec.padSize;
    encoder = undefined;
    const prepared = await createEncoder(
      {
        file: encoderFile,
        bytes: () => (typeof encoderModel === 'string' ? files.readBytes(encoderRel) : Promise.resolve(encoderModel)),
        model: () => Promise.resolve(encoderModel),
        original,
      },
      original.inputNames.length === 1 ? { input: original.inputNames[0], dims: [1, 3, side, side] } : `the encoder has ${original.inputNames.length} inputs`,
      runtime,
      opts,
    );
    encoder = prepared.session;
    encoderInfo = { optimised: prepared.passes.length > 0, passes: prepared.passes, notOptimised: prepared.notOptimised };
    // The adapter's binding over the session that runs, then the decoder graph optimiser.
    const bound = layout.bind({ encoder: prepared.session, decoder, encoderFile, decoderFile }, spec);
    const description = {
      encoder: encoderIo,
      decoder: { inputs: decoder.inputMetadata, outputs: decoder.outputMetadata },
      ...bound.description,
    };
    // From here on the Decoder owns the exported decoder's session.
    const dec = await createDecoder({ file: decoderFile, bytes: () => (typeof decoderModel === 'string' ? files.readBytes(decoderRel) : Promise.resolve(decoderModel)), original: decoder }, bound.feeds, runtime, opts);
    decoderOwned = dec;
    const adapter = bound.create(dec, runtime);
    const info = { optimised: dec.passes.length > 0, passes: dec.passes, notOptimised: dec.notOptimised };
    return {
      adapter,
      dir: files.location,
      family: layout.family,
      layout: layout.name,
      files: { encoder: encoderFile, decoder: decoderFile },
      decoder: info,
      encoder: encoderInfo,
      description,
    };
  } catch (err) {
    await encoder?.release();
    if (decoderOwned) await decoderOwned.release();
    else await decoder.release();
    throw err;
  } finally {
    files.close();
  }
}

/** Rule 2: the layout of a decoder session, from its input names. */
export function detectLayout(decoderFile: string, decoder: InferenceSession): LayoutSpec {
  const inputs = names(decoder.inputMetadata);
  const layout = LAYOUTS.find((l) => l.matches(inputs));
  if (layout) return layout;
  throw new ModelError(
    `${decoderFile}: not a known SAM decoder layout (Hugging Face: input_points + image_embeddings[.0]; reference export: point_coords + orig_im_size + image_embeddings; samexporter: point_coords + image_embed + high_res_feats_0); inputs: ${[...inputs].join(', ') || '(none)'}`,
  );
}

const ENCODER_KIND_TEXT: Record<EncoderKind, string> = {
  sam1: 'a SAM 1 encoder (image_embeddings)',
  'sam2-hf': 'a SAM 2 encoder in the Hugging Face layout (image_embeddings.0/1/2)',
  'sam2-samexporter': "a SAM 2 encoder in samexporter's layout (high_res_feats_0/1, image_embed)",
};

/** Rule 3: the encoder must produce what the decoder's layout reads; refuses a mismatched pair naming both files. */
function checkEncoderKind(layout: LayoutSpec, encoderFile: string, encoder: InferenceSession, decoderFile: string): void {
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
  if (kind === layout.encoder) return;
  throw new ModelError(
    `${encoderFile} is ${ENCODER_KIND_TEXT[kind]} but ${decoderFile} is a ${familyName(layout.family)} decoder (${layout.name} layout, which needs ${ENCODER_KIND_TEXT[layout.encoder]}): they do not belong together`,
  );
}

/** How messages name a family. */
export function familyName(family: ModelFamily): string {
  return family === 'sam2' ? 'SAM 2' : 'SAM 1';
}

function suffixOf(dtype: string): string {
  const suffix = dtypeSuffix(dtype);
  if (suffix === undefined) throw new ModelError(`--dtype: unknown dtype '${dtype}'`);
  return suffix;
}

/** The first of `candidates` that exists. */
async function firstPresent(files: ModelFiles, candidates: string[]): Promise<string | undefined> {
  for (const c of candidates) if (await files.exists(c)) return c;
  return undefined;
}

/** The .onnx files present, for error messages. */
async function presentOnnx(files: ModelFiles): Promise<string> {
  return (await files.listOnnx()).join(', ') || 'none';
}

async function missingEncoder(files: ModelFiles, dtype: string): Promise<never> {
  const sfx = suffixOf(dtype);
  throw new ModelError(
    `model folder ${files.location}: has a decoder but no image encoder: expected onnx/vision_encoder${sfx}.onnx, onnx/encoder${sfx}.onnx or encoder${sfx}.onnx (dtype ${dtype}); present: ${await presentOnnx(files)}`,
  );
}

async function onnxFile(files: ModelFiles, stem: string, dtype: string, isDecoder: boolean): Promise<string> {
  const suffix = suffixOf(dtype);
  const rel = `onnx/${stem}${suffix}.onnx`;
  if (!(await files.exists(rel))) {
    const alt = isDecoder ? ` (or onnx/decoder${suffix}.onnx for a single-decoder export)` : '';
    throw new ModelError(`model folder ${files.location}: missing ${rel}${alt} (dtype ${dtype}); present: ${await presentOnnx(files)}`);
  }
  return rel;
}

async function readPreprocessor(files: ModelFiles): Promise<PreprocessSpec> {
  const json = await readJson(files, 'preprocessor_config.json');
  try {
    return parsePreprocessorConfig(json, files.label('preprocessor_config.json'));
  } catch (err) {
    throw new ModelError(errorMessage(err));
  }
}

async function readJson(files: ModelFiles, rel: string): Promise<unknown> {
  let text: string;
  try {
    text = await files.readText(rel);
  } catch {
    throw new ModelError(`${files.label(rel)}: missing (a model folder needs config.json, preprocessor_config.json and onnx/)`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new ModelError(`${files.label(rel)}: not valid JSON (${errorMessage(err)})`);
  }
}
