/**
 * The page's COCO JSON: the CLI's writer (cocoDocument + serializeCoco) with the CLI's info block builder
 * (runInfo: version, date, model as given, model_sha256, every option in snake_case), so that the same records give
 * the same bytes. With date `null` (the CLI's `--date none`) the file has no date_created.
 */
import { cocoDocument, runInfo, serializeCoco, type AmgOptions, type MaskRecord } from '../../src/core/index.js';

/** One image's result as the page keeps it. */
export interface PageResult {
  fileName: string;
  width: number;
  height: number;
  records: MaskRecord[];
}

/** What info says about the run. */
export interface PageRunInfo {
  /** The model as the user named it (the CLI writes its --model argument). */
  model: string;
  sha256: string;
  options: AmgOptions;
  /** ISO 8601, or null to leave date_created out. */
  date: string | null;
}

/** The COCO document of one image, as text. */
export function pageCoco(result: PageResult, info: PageRunInfo): string {
  const doc = cocoDocument(
    [{ relPath: result.fileName, width: result.width, height: result.height, records: result.records }],
    runInfo({ model: info.model, modelSha256: info.sha256, options: info.options, date: info.date }),
  );
  return serializeCoco(doc);
}

/** The download name of an image's masks: `photo.jpg` → `photo.masks.json`. */
export function downloadName(fileName: string): string {
  const base = fileName.split('/').pop() ?? fileName;
  const dot = base.lastIndexOf('.');
  return `${dot > 0 ? base.slice(0, dot) : base}.masks.json`;
}
