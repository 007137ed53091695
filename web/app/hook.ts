/**
 * `window.samAmg`: what a script (the browser test, test/browser/amg.test.ts) uses to drive the page. `run` fills in
 * the page's own controls and goes through the same code as a user's click: decode the image, load the model when it
 * changed, generate with a progress bar, draw, and build the COCO file the download button saves.
 */
import type { AmgOptions } from '../../src/core/index.js';
import type { Backend } from './engine.js';

/** One run as a script asks for it. */
export interface HookRequest {
  /** The model folder URL (relative to the page or absolute). */
  model: string;
  /** The image URL; its last path segment becomes file_name. */
  image: string;
  /** AMG options; those not given take the family's defaults. */
  options?: Partial<AmgOptions>;
  backend?: Backend;
  /** `info.model` (default: the folder URL). */
  modelLabel?: string;
  /** Leave `info.date_created` out (the CLI's --date none). */
  noDate?: boolean;
}

/** What the run gave. */
export interface HookResult {
  /** The COCO file's text, as the download button saves it. */
  coco: string;
  masks: number;
  backend: Backend;
  threads: number;
  isolated: boolean;
  /** Milliseconds: loading the model (0 when it was already loaded), decoding the image, generate(). */
  loadMs: number;
  decodeMs: number;
  generateMs: number;
  /** generate()'s own split of its time (its last progress report): encoder runs, decoder waits, post-processing. */
  encoderMs: number;
  decoderMs: number;
  postprocessMs: number;
  /** Progress reports received, and the last one's prompt counts. */
  progressReports: number;
  promptsDone: number;
  prompts: number;
}

/** The page's hook. */
export interface SamAmgHook {
  run(req: HookRequest): Promise<HookResult>;
}

declare global {
  interface Window {
    samAmg?: SamAmgHook;
  }
}
