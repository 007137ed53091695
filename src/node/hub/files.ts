import { DTYPE_SUFFIX, type DtypeChoice, type ModelDtype } from '../../model/dtype.js';

export { DTYPE_SUFFIX, type DtypeChoice, type ModelDtype };

export const DEFAULT_DTYPE: DtypeChoice = { encoder: 'fp32', decoder: 'fp32' };

export const ENCODER_STEM = 'onnx/vision_encoder';
export const DECODER_STEM = 'onnx/prompt_encoder_mask_decoder';
export const CONFIG_FILES = ['config.json', 'preprocessor_config.json'] as const;

function isDtype(name: string): name is ModelDtype {
  return Object.hasOwn(DTYPE_SUFFIX, name);
}

/** The suffix for a dtype name; throws on names outside {@link DTYPE_SUFFIX}. */
export function dtypeSuffix(name: string): string {
  if (!isDtype(name)) {
    throw new RangeError(`unknown dtype '${name}'; expected one of ${Object.keys(DTYPE_SUFFIX).join(', ')}`);
  }
  return DTYPE_SUFFIX[name];
}

/** The two ONNX files a dtype choice needs, encoder first. */
export function onnxFiles(dtype: DtypeChoice): [string, string] {
  return [`${ENCODER_STEM}${dtypeSuffix(dtype.encoder)}.onnx`, `${DECODER_STEM}${dtypeSuffix(dtype.decoder)}.onnx`];
}

/** Every file a model folder must contain for a dtype choice (external data aside). */
export function requiredFiles(dtype: DtypeChoice): string[] {
  return [...CONFIG_FILES, ...onnxFiles(dtype)];
}

/**
 * External-data files that belong to an ONNX file: `x.onnx_data`, the chunked `x.onnx_data_1`, …
 * (transformers.js naming) and `x.onnx.data` (onnx's default).
 */
export function isExternalDataOf(onnxPath: string, candidate: string): boolean {
  return (
    candidate === `${onnxPath}_data` || candidate.startsWith(`${onnxPath}_data_`) || candidate === `${onnxPath}.data`
  );
}

/** dtypes whose encoder is present in a repository listing, for "available: …" hints. */
export function availableDtypes(paths: Iterable<string>): ModelDtype[] {
  const set = new Set(paths);
  return (Object.keys(DTYPE_SUFFIX) as ModelDtype[]).filter((d) => set.has(`${ENCODER_STEM}${DTYPE_SUFFIX[d]}.onnx`));
}
