/**
 * ONNX file-name suffixes of the dtypes published in Hugging Face ONNX repositories.
 */
export const DTYPE_SUFFIX = Object.freeze({
  fp32: '',
  fp16: '_fp16',
  q8: '_quantized',
  int8: '_int8',
  uint8: '_uint8',
  q4: '_q4',
  q4f16: '_q4f16',
  bnb4: '_bnb4',
} as const satisfies Record<string, string>);

/** A dtype name of the table above. */
export type ModelDtype = keyof typeof DTYPE_SUFFIX;

/** The file suffix of a dtype name, or undefined for an unknown name. */
export function dtypeSuffix(name: string): string | undefined {
  return Object.hasOwn(DTYPE_SUFFIX, name) ? DTYPE_SUFFIX[name as ModelDtype] : undefined;
}

/** Encoder and decoder dtypes; `--dtype q8` sets both, `--dtype fp32,q8` sets them apart. */
export interface DtypeChoice {
  encoder: string;
  decoder: string;
}

/** Parses `--dtype` ("fp32", "q8", "fp16,q8"); throws naming the flag for unknown names. */
export function parseDtype(value: string): DtypeChoice {
  const parts = value.split(',').map((s) => s.trim());
  if (parts.length > 2 || parts.some((p) => !(p in DTYPE_SUFFIX))) {
    throw new Error(`--dtype: '${value}' is not one of ${Object.keys(DTYPE_SUFFIX).join(', ')} (or encoder,decoder)`);
  }
  return { encoder: parts[0], decoder: parts[1] ?? parts[0] };
}
