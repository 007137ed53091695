/**
 * sam-amg as a Node library: everything of `sam-amg/core`, plus model folders on disk, onnxruntime-node sessions,
 * image decoding with sharp, the Hugging Face hub and post-processing on worker threads.
 *
 * ```ts
 * const gen = await MaskGenerator.load('fixtures/models/sam1-tiny', { pointsPerSide: 16 });
 * const records = await gen.generate(await decodeImage('photo.jpg'));
 * ```
 */
export * from './core/index.js';
// The Node generator adds MaskGenerator.load(folder); it takes the core's name here.
export { MaskGenerator } from './node/mask-generator.js';
// BoxSegmenter.load(folder), likewise.
export { BoxSegmenter, type BoxSegmenterLoadOptions } from './node/box-segmenter.js';
export { loadModel, modelSha256, FolderModelFiles, type NodeLoadModelOptions } from './node/model-folder.js';
export { nodeRuntime, checkDevice, type RuntimeOptions } from './node/session.js';
export { decodeImage, ImageDecodeError, IMAGE_EXTENSIONS } from './node/decode.js';
export { openImageSource, type FileImageSource, type OpenImageOptions } from './node/image-source.js';
export { createCandidateEvaluator, postprocessWorkerCount } from './node/postprocess-pool.js';
export { resolveModel, HubError, DEFAULT_MODEL_ID, KNOWN_MODELS } from './node/hub/index.js';
export { parseCocoDocument } from './output/index.js';
