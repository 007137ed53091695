/**
 * The images of a box-prompted run (src/run/box-images.ts): detection entries matched to the listed inputs by
 * relative name (exact messages for what cannot be matched), the categories the output carries, the box segmenter's
 * progress as the batch sees it; and the prompted records' fields through the readers, merge and compare.
 */
import { describe, expect, it } from 'vitest';
import type { BoxXYWH } from '../src/base/types.js';
import { compareSets, DEFAULT_LIMITS } from '../src/compare/compare.js';
import { cocoDocument, serializeCoco, type ImageResult } from '../src/output/coco.js';
import { mergedResults, mergeSets } from '../src/output/merge.js';
import { parseMaskSet } from '../src/output/read.js';
import { promptedOptionsRecord, PROMPTED_DESCRIPTION } from '../src/output/run-info.js';
import type { PromptedRecord } from '../src/prompt/box-segmenter.js';
import { parseDetections } from '../src/prompt/detections.js';
import { encodeRowMajor } from '../src/rle/rle.js';
import { detectionName, generateProgress, matchDetections, promptedCategories } from '../src/run/box-images.js';

const item = (relPath: string): { path: string; relPath: string } => ({ path: `/in/${relPath}`, relPath });

describe('matching detection entries to the inputs', () => {
  const file = parseDetections(
    {
      images: [
        { id: 1, file_name: 'a.jpg' },
        { id: 2, file_name: '.\\sub\\b.jpg' },
        { id: 3, file_name: 'b.jpg' },
        { id: 4, file_name: 'a.jpg' },
        { id: 5, file_name: 'gone/x.png' },
      ],
      annotations: [
        { image_id: 1, bbox: [1, 2, 3, 4], category_id: 1 },
        { image_id: 3, bbox: [1, 2, 3, 4], category_id: 1 },
        { image_id: 4, bbox: [1, 2, 3, 4], category_id: 1 },
        { image_id: 4, bbox: [1, 2, 3, 4], category_id: 1 },
        { image_id: 1, bbox: [5, 6, 7, 8], category_id: 2 },
      ],
    },
    'det.json',
  );

  it('takes an entry by the relative name the listing gives its file; says why every other entry gets no records', () => {
    expect(detectionName('.\\sub\\b.jpg')).toBe('sub/b.jpg');
    expect(detectionName('././a.jpg')).toBe('a.jpg');
    const m = matchDetections([item('a.jpg'), item('c.png'), item('sub/b.jpg')], file, 'det.json');
    expect(m.items.map((i) => i.relPath)).toEqual(['a.jpg', 'sub/b.jpg']);
    expect([...m.entries].map(([name, e]) => [name, e.id, e.detections.map((d) => d.index)])).toEqual([
      ['a.jpg', 1, [0, 4]],
      ['sub/b.jpg', 2, []],
    ]);
    expect(m.unnamed).toBe(1);
    expect(m.missing).toEqual([
      {
        file: 'b.jpg',
        stage: 'input',
        message: 'named in det.json (image id 3) but not among the inputs (the input sub/b.jpg has that base name: file_name is relative to the folder given); its 1 detection gets no records',
      },
      { file: 'a.jpg', stage: 'input', message: 'image id 4 of det.json names the same file as image id 1, which is segmented; its 2 detections get no records' },
      { file: 'gone/x.png', stage: 'input', message: 'named in det.json (image id 5) but not among the inputs; its 0 detections get no records' },
    ]);
    expect(m.missingDetections).toBe(3);
    // Nothing lost: every detection kept by the parser is either segmented or counted as missing.
    const segmented = [...m.entries.values()].reduce((n, e) => n + e.detections.length, 0);
    expect(segmented + m.missingDetections).toBe(file.detections);
  });

  it("categories: the file's as given, else one per category id used", () => {
    expect(promptedCategories(file)).toEqual([
      { id: 1, name: '1' },
      { id: 2, name: '2' },
    ]);
    const withCategories = parseDetections({ images: [], annotations: [], categories: [{ id: 7, name: 'car', supercategory: 'vehicle' }, { name: 'no id' }] }, 'd');
    expect(promptedCategories(withCategories)).toEqual([{ id: 7, name: 'car', supercategory: 'vehicle' }]);
  });

  it("the box segmenter's progress as the generator's: one crop, a prompt per box", () => {
    expect(generateProgress({ boxes: 130, boxesDone: 64, encoderMs: 5, decoderMs: 6, postprocessMs: 7, done: false })).toEqual({
      crops: 1,
      cropsDone: 0,
      prompts: 130,
      promptsDone: 64,
      encoderMs: 5,
      decoderMs: 6,
      postprocessMs: 7,
      done: false,
    });
  });
});

/** A 4×3 image's prompted record for detection `id`: the mask is the given pixels (row-major 0/1). */
function record(id: number, bits: number[], extra: Partial<PromptedRecord> = {}): PromptedRecord {
  const mask = Uint8Array.from(bits);
  const area = bits.filter((b) => b === 1).length;
  const xs = bits.flatMap((b, i) => (b ? [i % 4] : []));
  const ys = bits.flatMap((b, i) => (b ? [Math.floor(i / 4)] : []));
  const bbox: BoxXYWH = area === 0 ? [0, 0, 0, 0] : [Math.min(...xs), Math.min(...ys), Math.max(...xs) - Math.min(...xs), Math.max(...ys) - Math.min(...ys)];
  return {
    segmentation: encodeRowMajor(mask, 3, 4),
    area,
    bbox,
    predictedIou: 0.875,
    stabilityScore: 0.5,
    imageId: 9,
    categoryId: 3,
    promptBox: [0.5, 0, 2, 1.5],
    detectionId: id,
    score: 0.25,
    ...extra,
  };
}

const INFO = {
  description: PROMPTED_DESCRIPTION,
  version: '0.1.0',
  date: null,
  model: 'm',
  modelSha256: 'abc',
  options: promptedOptionsRecord({ detections: 'det.json', detectionsSha256: 'f00', multimask: true }),
};

describe('prompted records in the outputs', () => {
  const results: ImageResult[] = [
    {
      relPath: 'x.png',
      width: 4,
      height: 3,
      imageId: 9,
      records: [record(5, [1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0]), record(6, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]), record(5, [0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0], { score: undefined })],
    },
  ];
  const categories = [{ id: 3, name: 'cup', supercategory: 'kitchen' }];
  const text = serializeCoco(cocoDocument(results, { ...INFO, errors: [] }, { categories }));

  it('COCO: the reference layout per record, the detection image id, the categories as given', () => {
    const lines = text.split('\n');
    expect(lines[2]).toBe('{"id":9,"file_name":"x.png","width":4,"height":3}');
    expect(lines[5]).toBe(
      '{"id":1,"image_id":9,"category_id":3,"iscrowd":0,"segmentation":{"size":[3,4],"counts":"02106"},"area":4,"bbox":[0,0,1,1],"predicted_iou":0.875,"stability_score":0.5,"prompt_box":[0.5,0,2,1.5],"detection_id":5,"score":0.25},',
    );
    // The empty mask: area 0, bbox [0, 0, 0, 0]; a detection without a score writes none.
    expect(lines[6]).toContain('"segmentation":{"size":[3,4],"counts":"<"},"area":0,"bbox":[0,0,0,0]');
    expect(lines[7]).toMatch(/"detection_id":5\}$/u);
    expect(lines.at(-2)).toBe('"categories":[{"id":3,"name":"cup","supercategory":"kitchen"}]}');
  });

  it('reads back (COCO, SA-1B, JSONL) and merges to the same bytes; compare pairs the records by detection', () => {
    const set = parseMaskSet(text, 'a.json');
    expect(set.prompted).toBe(true);
    expect(set.categories).toEqual(categories);
    expect(set.images[0].image_id).toBe(9);
    const merged = mergeSets([set]);
    expect(serializeCoco(cocoDocument(mergedResults(merged), { ...INFO, errors: [] }, { categories: merged.categories }))).toBe(text);

    // The same records with the two records of detection 5 swapped in order and one mask changed: by detection, the
    // first 5 pairs with the first 5 (IoU 0 now), the empty masks pair at IoU 1.
    const other = serializeCoco(
      cocoDocument(
        [{ ...results[0], records: [results[0].records[0], results[0].records[1], record(5, [0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0], { score: undefined })] }],
        { ...INFO, errors: [] },
        { categories },
      ),
    );
    const r = compareSets(set, parseMaskSet(other, 'b.json'), DEFAULT_LIMITS);
    expect(r.matching).toBe('by-detection');
    expect(r.images[0].matches).toEqual([
      { expected_id: 1, actual_id: 1, iou: 1 },
      { expected_id: 2, actual_id: 2, iou: 1 },
    ]);
    expect(r.images[0].missing).toEqual([{ file_name: 'x.png', id: 3, index: 2, area: 2, bbox: [3, 0, 0, 1], nearest: { id: 3, iou: 0.5 } }]);
    expect(r.images[0].extra.map((m) => m.id)).toEqual([3]);
    expect(r.failures).toEqual(['recall 2/3 = 0.6667 < --min-recall 1; missing: x.png#3', '1 extra mask > --max-extra 0: x.png#3']);
  });

  it('SA-1B and JSONL: the image id in the image block, the fields per annotation', () => {
    const sa1b = `{"image":{"image_id":9,"width":4,"height":3,"file_name":"x.png"},\n"annotations":[\n{"id":1,"segmentation":{"size":[3,4],"counts":"02106"},"bbox":[0,0,1,1],"area":4,"predicted_iou":0.875,"stability_score":0.5,"category_id":3,"prompt_box":[0.5,0,2,1.5],"detection_id":5,"score":0.25}\n]}\n`;
    const set = parseMaskSet(sa1b, 'x.json');
    expect(set).toMatchObject({ format: 'sa1b', prompted: true, images: [{ file_name: 'x.png', image_id: 9 }] });
    expect(set.images[0].annotations[0]).toMatchObject({ category_id: 3, prompt_box: [0.5, 0, 2, 1.5], detection_id: 5, score: 0.25 });
    const jsonl = parseMaskSet('{"file_name":"y.png","image_id":4,"width":4,"height":3,"annotations":[]}\n', 'y.jsonl');
    expect(jsonl).toMatchObject({ format: 'jsonl', prompted: true, images: [{ file_name: 'y.png', image_id: 4 }] });
    // An automatic output and a prompted one do not merge.
    const amg = parseMaskSet('{"file_name":"z.png","width":4,"height":3,"annotations":[]}\n', 'z.jsonl');
    expect(amg.prompted).toBe(false);
    expect(() => mergeSets([jsonl, amg])).toThrow('cannot merge box-prompted outputs (y.jsonl) with automatic-mask outputs (z.jsonl)');
  });
});
