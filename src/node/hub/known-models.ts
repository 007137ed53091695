/** A published SAM repository in the transformers.js ONNX layout. */
export interface KnownModel {
  id: string;
  /** `model_type` family the adapter dispatches on. */
  family: 'sam' | 'sam2';
  /** Human-readable summary for `models list`. */
  description: string;
  /**
   * Approximate download size (encoder + decoder) in MB, for telling users what they are about to
   * fetch. Rounded estimates from parameter counts and published file sizes, not exact figures;
   * the repository listing at download time is authoritative.
   */
  approxSizeMB: { fp32: number; q8: number };
  /** dtypes expected to be published; the repository listing at download time is authoritative. */
  dtypes: readonly string[];
}

const XENOVA_DTYPES = ['fp32', 'q8'] as const;
const ONNX_COMMUNITY_DTYPES = ['fp32', 'fp16', 'q8', 'int8', 'uint8', 'q4', 'q4f16', 'bnb4'] as const;

/** Public SAM repositories known to work (see the model contract). */
export const KNOWN_MODELS: readonly KnownModel[] = [
  {
    id: 'Xenova/slimsam-77-uniform',
    family: 'sam',
    description: 'SlimSAM, 77% pruned ViT-B: smallest and fastest SAM 1',
    approxSizeMB: { fp32: 55, q8: 15 },
    dtypes: XENOVA_DTYPES,
  },
  {
    id: 'Xenova/slimsam-50-uniform',
    family: 'sam',
    description: 'SlimSAM, 50% pruned ViT-B',
    approxSizeMB: { fp32: 120, q8: 35 },
    dtypes: XENOVA_DTYPES,
  },
  {
    id: 'Xenova/sam-vit-base',
    family: 'sam',
    description: 'SAM 1 ViT-B',
    approxSizeMB: { fp32: 375, q8: 105 },
    dtypes: XENOVA_DTYPES,
  },
  {
    id: 'Xenova/sam-vit-large',
    family: 'sam',
    description: 'SAM 1 ViT-L',
    approxSizeMB: { fp32: 1250, q8: 320 },
    dtypes: XENOVA_DTYPES,
  },
  {
    id: 'Xenova/sam-vit-huge',
    family: 'sam',
    description: 'SAM 1 ViT-H',
    approxSizeMB: { fp32: 2560, q8: 650 },
    dtypes: XENOVA_DTYPES,
  },
  {
    id: 'onnx-community/sam2.1-hiera-tiny-ONNX',
    family: 'sam2',
    description: 'SAM 2.1 Hiera-T',
    approxSizeMB: { fp32: 155, q8: 45 },
    dtypes: ONNX_COMMUNITY_DTYPES,
  },
  {
    id: 'onnx-community/sam2.1-hiera-small-ONNX',
    family: 'sam2',
    description: 'SAM 2.1 Hiera-S',
    approxSizeMB: { fp32: 185, q8: 50 },
    dtypes: ONNX_COMMUNITY_DTYPES,
  },
  {
    id: 'onnx-community/sam2.1-hiera-base-plus-ONNX',
    family: 'sam2',
    description: 'SAM 2.1 Hiera-B+',
    approxSizeMB: { fp32: 325, q8: 85 },
    dtypes: ONNX_COMMUNITY_DTYPES,
  },
  {
    id: 'onnx-community/sam2.1-hiera-large-ONNX',
    family: 'sam2',
    description: 'SAM 2.1 Hiera-L',
    approxSizeMB: { fp32: 900, q8: 235 },
    dtypes: ONNX_COMMUNITY_DTYPES,
  },
];

/**
 * Model used when `--model` is omitted: SlimSAM-77 is the smallest published SAM (tens of MB)
 * and the fastest on CPU, so a first run downloads and finishes quickly.
 */
export const DEFAULT_MODEL_ID = 'Xenova/slimsam-77-uniform';

/** The known entry for an id (case-insensitive, as the hub treats ids), if any. */
export function knownModel(id: string): KnownModel | undefined {
  const lower = id.toLowerCase();
  return KNOWN_MODELS.find((m) => m.id.toLowerCase() === lower);
}
