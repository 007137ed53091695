/**
 * `sam-amg/core`: the automatic mask generator without Node. Nothing in this entry's import graph uses a Node
 * built-in, sharp or onnxruntime-node; ONNX Runtime comes in through the caller (onnxruntime-web in a browser,
 * onnxruntime-node elsewhere):
 *
 * ```ts
 * import * as ort from 'onnxruntime-web';
 * import { createRuntime, loadModelFromUrl, MaskGenerator, rgbFromRgba } from 'sam-amg/core';
 *
 * const runtime = createRuntime(ort, { sessionOptions: () => ({ executionProviders: ['wasm'] }) });
 * const gen = await MaskGenerator.fromModel(loadModelFromUrl('/models/sam-vit-base/', runtime), { pointsPerSide: 16 });
 * const records = await gen.generate(rgbFromRgba(imageData.data, imageData.width, imageData.height));
 * ```
 */
export {
  MaskGenerator,
  TileReadError,
  GenerationStopped,
  type GeneratorStats,
  type GenerateOptions,
  type GenerateProgress,
  type TileHooks,
} from '../amg/generator.js';
export {
  BoxSegmenter,
  promptedRecord,
  type BoxMask,
  type BoxSegmenterOptions,
  type PromptedRecord,
  type SegmentOptions,
  type SegmentProgress,
} from '../prompt/box-segmenter.js';
export {
  parseDetections,
  parseDetectionsText,
  imageProblems,
  DetectionFileError,
  type Detection,
  type DetectionFile,
  type DetectionImage,
  type DetectionProblem,
} from '../prompt/detections.js';
export {
  defaultOptions,
  resolveOptions,
  optionsRecord,
  OptionsError,
  OPTION_BOUNDS,
  type AmgOptions,
  type OptionBound,
} from '../amg/options.js';
export { buildPointGrid, buildLayerGrids } from '../amg/point-grid.js';
export { generateCropBoxes, cropBoxToXYWH, isBoxNearCropEdge, type CropPlan } from '../crop/crop-boxes.js';
export { generateTileBoxes, tileStarts, tileCount, MIN_TILE, MAX_TILE } from '../crop/tiles.js';
export { wholeImageSource, type ImageSource } from '../image/source.js';
export { boxNms } from '../nms/nms.js';
export * from '../rle/rle.js';
export { InlineEvaluator, type CandidateEvaluator } from '../mask/evaluator.js';
export { preprocess, cropImage, parsePreprocessorConfig, type Preprocessed, type PreprocessSpec } from '../image/preprocess.js';
export { rgbFromRgba } from '../image/rgba.js';
export type { MaskRecord, RgbImage, BoxXYXY, BoxXYWH, LogitGeometry, GeoReference } from '../base/types.js';
export type { ModelAdapter, ModelFamily, EncodedCrop, DecodedBatch, DecodeOptions } from '../model/adapter.js';
export { createRuntime, type OrtRuntime, type OrtBinding, type RuntimeSettings, type SessionMemory } from '../model/runtime.js';
export type { ModelFiles } from '../model/files.js';
export { loadModelFrom, type LoadedModel, type LoadModelOptions } from '../model/load.js';
export { UrlModelFiles, loadModelFromUrl, type FetchLike } from '../model/url-files.js';
export { LAYOUTS, type LayoutSpec } from '../model/layouts/index.js';
export { ModelError } from '../model/errors.js';
export { cocoDocument, serializeCoco, type CocoDocument, type ImageResult, type RunInfo } from '../output/coco.js';
export { runInfo, type RunInfoParams } from '../output/run-info.js';
export {
  CocoPolygonEncoder,
  MaskTracer,
  RLE_SEGMENTATION,
  DEFAULT_POLYGON_TOLERANCE,
  type PolygonOptions,
  type PolygonHoles,
  type PolygonLoss,
  type Segmentation,
  type SegmentationEncoder,
  type SegmentationInfo,
} from '../output/segmentation.js';
export * from '../polygon/index.js';
export { VERSION } from '../base/version.js';
