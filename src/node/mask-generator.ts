/**
 * The generator as the Node library exports it: the core MaskGenerator plus loading a model folder from disk.
 */
import { MaskGenerator as CoreMaskGenerator } from '../amg/generator.js';
import type { AmgOptions } from '../amg/options.js';
import { loadModel, type NodeLoadModelOptions } from './model-folder.js';

/** Automatic mask generation with one loaded model and one set of options (see the core MaskGenerator). */
export class MaskGenerator extends CoreMaskGenerator {
  /** Loads a model folder and builds a generator; options not given take the family's reference defaults. */
  static async load(modelDir: string, options: Partial<AmgOptions> = {}, load: NodeLoadModelOptions = {}): Promise<MaskGenerator> {
    return MaskGenerator.fromModel(loadModel(modelDir, load), options);
  }
}
