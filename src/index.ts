/**
 * sam-amg as a library:
 *
 * ```ts
 * const gen = await MaskGenerator.load('fixtures/models/sam1-tiny', { pointsPerSide: 16 });
 * const records = await gen.generate(await decodeImage('photo.jpg'));
 * ```
 */
export { MaskGenerator, type GeneratorStats, type GenerateOptions, type GenerateProgress } from './amg/generator.js';
export { defaultOptions, resolveOptions, optionsRecord, OptionsError, OPTION_BOUNDS, type AmgOptions, type OptionBound } from './amg/options.js';
export { InlineEvaluator, type CandidateEvaluator } from './mask/evaluator.js';
export { createCandidateEvaluator, postprocessWorkerCount } from './node/postprocess-pool.js';
export type { MaskRecord, RgbImage, BoxXYXY, BoxXYWH } from './core/types.js';
export { decodeImage, ImageDecodeError, IMAGE_EXTENSIONS } from './image/decode.js';
export { loadModel, type LoadedModel, type LoadModelOptions } from './model/load.js';
export type { ModelAdapter, ModelFamily } from './model/adapter.js';
export { ModelError } from './model/session.js';
export { resolveModel, HubError, DEFAULT_MODEL_ID, KNOWN_MODELS } from './hub/index.js';
export * from './rle/rle.js';
export { cocoDocument, serializeCoco, parseCocoDocument, type ImageResult } from './output/index.js';
export { VERSION } from './version.js';
