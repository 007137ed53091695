/**
 * `sam-amg segment --format yolo`: the detection file's categories are the dataset's classes (class k = the k-th
 * category by id, named by its name; category ids the list lacks come after, named by their id), in the label lines
 * and data.yaml; automatic masks stay class 0 `object`.
 */
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCocoDocument } from '../src/output/coco-parse.js';
import { MaskTracer } from '../src/output/segmentation.js';
import { yoloClassesOf, yoloDataYaml } from '../src/output/yolo.js';
import { yoloSegmentLine } from '../src/polygon/index.js';
import { fromCoco } from '../src/rle/rle.js';
import { MODEL, runCli, writeShapeImages } from './helpers/batch.js';
import { readUltralyticsSegmentLabels } from './oracle/ultralytics-labels.js';

let tmp: string;
beforeAll(async () => {
  tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'sam-amg-segment-yolo-'));
});
afterAll(async () => {
  await fsp.rm(tmp, { recursive: true, force: true });
});

describe('YOLO classes of a box-prompted run', () => {
  it('are the categories by id, then the ids the list lacks; names that YAML would misread are quoted', () => {
    const classes = yoloClassesOf(
      [{ id: 7, name: 'dog' }, { id: 3, name: 'traffic light' }, { id: 5, name: 'yes' }, { id: 4 }, { id: 6, name: 'a: b' }],
      [9, 3, 2, 9],
    );
    expect(classes.names).toEqual(['traffic light', '4', 'yes', 'a: b', 'dog', '2', '9']);
    expect([...classes.byCategory]).toEqual([[3, 0], [4, 1], [5, 2], [6, 3], [7, 4], [2, 5], [9, 6]]);
    expect(yoloDataYaml('/data/ds', classes)).toBe(
      [
        '# YOLO segmentation dataset written by sam-amg',
        '# labels/<image path>.txt holds the masks of images/<image path> (links to the inputs), one line per mask;',
        '# train and val are the same images: split them for training. Delete `path` when moving the folder.',
        'path: "/data/ds"',
        'train: images',
        'val: images',
        'names:',
        '  0: traffic light',
        '  1: "4"',
        '  2: "yes"',
        '  3: "a: b"',
        '  4: dog',
        '  5: "2"',
        '  6: "9"',
        '',
      ].join('\n'),
    );
    // A file without categories: one class per id used.
    expect(yoloClassesOf([], [12, 1]).names).toEqual(['1', '12']);
  });

  it('writes each detection with its category as class, and data.yaml names them', async () => {
    const photos = path.join(tmp, 'photos');
    await writeShapeImages(photos, 2);
    const detections = path.join(tmp, 'det.json');
    await fsp.writeFile(
      detections,
      JSON.stringify({
        images: [
          { id: 10, file_name: 'img-00.png' },
          { id: 11, file_name: 'img-01.png' },
        ],
        annotations: [
          { image_id: 10, bbox: [8, 8, 40, 36], category_id: 7 },
          { image_id: 10, bbox: [40, 16, 48, 44], category_id: 3 },
          { image_id: 11, bbox: [4, 4, 60, 60], category_id: 9 },
          { image_id: 11, bbox: [30, 20, 50, 40], category_id: 5 },
        ],
        categories: [
          { id: 7, name: 'dog' },
          { id: 3, name: 'traffic light' },
          { id: 5, name: 'yes' },
        ],
      }),
    );
    const flags = ['segment', photos, '--boxes', detections, '--model', MODEL, '--date', 'none'];
    const ds = path.join(tmp, 'ds');
    const r = await runCli([...flags, '--format', 'yolo', '--out', ds]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`sam-amg: warning: ${detections}: category_id not in 'categories', kept (1 annotation; first: annotations[2] id 3 category_id 9)`);
    expect(await fsp.readFile(path.join(ds, 'data.yaml'), 'utf8')).toBe(
      [
        '# YOLO segmentation dataset written by sam-amg',
        '# labels/<image path>.txt holds the masks of images/<image path> (links to the inputs), one line per mask;',
        '# train and val are the same images: split them for training. Delete `path` when moving the folder.',
        `path: ${JSON.stringify(ds)}`,
        'train: images',
        'val: images',
        'names:',
        '  0: traffic light',
        '  1: "yes"',
        '  2: dog',
        '  3: "9"',
        '',
      ].join('\n'),
    );

    // The same records as COCO: each label line is its mask's polygon (tolerance 0.5) with its category's class.
    const out = path.join(tmp, 'masks.json');
    expect((await runCli([...flags, '--out', out])).code).toBe(0);
    const doc = parseCocoDocument(await fsp.readFile(out, 'utf8'), out);
    const tracer = new MaskTracer(0.5);
    const classOf = new Map([[3, 0], [5, 1], [7, 2], [9, 3]]);
    for (const [name, id, classes] of [['img-00', 10, ['2', '0']], ['img-01', 11, ['3', '1']]] as const) {
      const anns = doc.annotations.filter((a) => a.image_id === id);
      expect(anns.every((a) => a.area > 0)).toBe(true);
      const expected = anns.map((a) => {
        if (Array.isArray(a.segmentation)) throw new Error('expected RLE');
        const rle = fromCoco(a.segmentation);
        return `${yoloSegmentLine(classOf.get(a.category_id) as number, tracer.trace(rle).polygons)}\n`;
      });
      const text = await fsp.readFile(path.join(ds, 'labels', `${name}.txt`), 'utf8');
      expect(text).toBe(expected.join(''));
      expect(text.split('\n').slice(0, -1).map((l) => l.split(' ')[0])).toEqual(classes);
      // Ultralytics' reader takes them with the dataset's four classes.
      expect(readUltralyticsSegmentLabels(text, 4).labels.map((l) => l.cls)).toEqual(classes.map(Number));
    }
  }, 120_000);
});
