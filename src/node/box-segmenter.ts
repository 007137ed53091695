/**
 * The box segmenter as the Node library exports it: the core BoxSegmenter plus loading a model folder from disk and
 * post-processing on worker threads.
 */
import { BoxSegmenter as CoreBoxSegmenter, type BoxSegmenterOptions } from '../prompt/box-segmenter.js';
import { loadModel, type NodeLoadModelOptions } from './model-folder.js';
import { createCandidateEvaluator } from './postprocess-pool.js';

/** Options for loading: the model folder's (threads, device, dtype, optimise) and the post-processing threads. */
export interface BoxSegmenterLoadOptions extends NodeLoadModelOptions {
  /** Worker threads for post-processing (default 0: on this thread; see postprocessWorkerCount for a good number). */
  postprocessWorkers?: number;
}

/** Box-prompted segmentation with one loaded model (see the core BoxSegmenter). */
export class BoxSegmenter extends CoreBoxSegmenter {
  /**
   * Loads a model folder and builds a segmenter. A layout that cannot take box prompts is refused (ModelError) and
   * the model released.
   *
   * ```ts
   * const seg = await BoxSegmenter.load('fixtures/models/sam1-tiny');
   * const masks = await seg.segment(await decodeImage('photo.jpg'), [[10, 20, 100, 80]]);
   * await seg.release();
   * ```
   */
  static async load(modelDir: string, options: Partial<BoxSegmenterOptions> = {}, load: BoxSegmenterLoadOptions = {}): Promise<BoxSegmenter> {
    const { postprocessWorkers = 0, ...modelOptions } = load;
    return BoxSegmenter.fromModel(loadModel(modelDir, modelOptions), options, createCandidateEvaluator(postprocessWorkers));
  }
}
