/**
 * YOLO (`--format yolo`): per image the label file (atomically, the image's done marker) after the link to the input
 * under images/; at finish the dataset's data.yaml and info.json (src/output/yolo.ts).
 */
import path from 'node:path';
import { writeFileAtomic } from '../../fs/atomic.js';
import { ensureLink } from '../../fs/link.js';
import type { RunInfo } from '../coco.js';
import { plural } from '../text.js';
import { MaskTracer, polygonNotes, type PolygonNote } from '../segmentation.js';
import {
  YOLO_DATA_YAML,
  YOLO_INFO,
  yoloDataYaml,
  yoloInfoText,
  yoloLabelPathFor,
  yoloLabels,
  type YoloClasses,
} from '../yolo.js';
import { writeImageFile, type ImageFileFormat } from './per-image.js';

/** What the YOLO files need of the run. */
export interface YoloFilesOptions {
  /** The dataset folder. */
  dir: string;
  tolerance: number;
  /** The info block without errors (info.json). */
  info: Omit<RunInfo, 'errors'>;
  /** Each image's link under images/ and the input it names, by output position (a run's plan). */
  links?: ReadonlyMap<number, { link: string; input: string }>;
  /** The classes (default: the one class `object` of automatic masks; a box-prompted run: its categories'). */
  classes?: YoloClasses;
}

/** The YOLO per-image files and the dataset files. */
export function yoloFiles(o: YoloFilesOptions): ImageFileFormat {
  const tracer = new MaskTracer(o.tolerance);
  const duplicates: { file: string; lines: number }[] = [];
  const link = async (index: number): Promise<void> => {
    const l = o.links?.get(index);
    if (l) await ensureLink(l.link, l.input);
  };
  return {
    format: 'yolo',
    maskIdBase: 1,
    pathFor: yoloLabelPathFor,
    doneMarker: (file) => file,
    async write(file, result, index) {
      await link(index);
      const labels = yoloLabels(result, tracer, o.classes);
      await writeImageFile(file, labels.text);
      if (labels.duplicates > 0) duplicates.push({ file: result.relPath, lines: labels.duplicates });
    },
    restored: (_file, _result, index) => link(index),
    async finish(results, errors) {
      const labels = results.map((r) => path.relative(o.dir, yoloLabelPathFor(o.dir, r.relPath)).split(path.sep).join('/'));
      const info = { ...o.info, segmentation: { type: 'polygon' as const, tolerance: o.tolerance, holes: 'fill' as const } };
      await writeFileAtomic(path.join(o.dir, YOLO_INFO), yoloInfoText(results, labels, info, errors));
      await writeFileAtomic(path.join(o.dir, YOLO_DATA_YAML), yoloDataYaml(o.dir, o.classes));
    },
    notes(): PolygonNote[] {
      const notes = polygonNotes(tracer.tally, { tolerance: o.tolerance, holes: 'fill', format: 'yolo', where: null });
      if (duplicates.length > 0) {
        const n = duplicates.reduce((s, d) => s + d.lines, 0);
        const sorted = [...duplicates].sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
        const names = sorted.slice(0, 5).map((d) => `${d.file} (${d.lines})`).join(', ');
        notes.push({
          level: 'warn',
          text:
            `yolo: ${plural(n, 'label')} in ${plural(duplicates.length, 'image')} repeat${n === 1 ? 's' : ''} the box of another mask of the same image, ` +
            `and Ultralytics keeps one label per box ("duplicate labels removed"): ${names}${duplicates.length > 5 ? ', …' : ''}`,
        });
      }
      return notes;
    },
  };
}
