/**
 * The detection-file parser: every documented rule, with the exact lines it reports, and the shared conformance file
 * read without a problem.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DetectionFileError, imageProblems, parseDetections, parseDetectionsText } from '../src/prompt/detections.js';

const SHARED_DETECTIONS = path.resolve(new URL('..', import.meta.url).pathname, '../shared/conformance/prompts/detections.json');

const image = (id: number, file_name: string, extra: object = {}) => ({ id, file_name, ...extra });
const ann = (id: number, image_id: number, bbox: number[], extra: object = {}) => ({ id, image_id, category_id: 1, bbox, ...extra });

describe('parseDetections', () => {
  it('reads images in file order with their detections in annotation order', () => {
    const f = parseDetections(
      {
        images: [image(7, 'b.jpg', { width: 640, height: 480 }), image(3, 'a.jpg'), image(9, 'empty.jpg')],
        annotations: [ann(10, 3, [1, 2, 3, 4], { score: 0.5 }), ann(11, 7, [5, 6, 7, 8]), ann(12, 3, [0, 0, 10, 10], { category_id: 4 })],
        categories: [{ id: 1, name: 'car' }, { id: 4, name: 'dog' }, { name: 'no id' }],
      },
      'det.json',
    );
    expect(f.problems).toEqual([]);
    expect(f.detections).toBe(3);
    expect(f.skipped).toBe(0);
    expect(f.categories).toEqual([{ id: 1, name: 'car' }, { id: 4, name: 'dog' }]);
    expect(f.images).toEqual([
      { id: 7, fileName: 'b.jpg', width: 640, height: 480, detections: [{ index: 1, id: 11, imageId: 7, categoryId: 1, bbox: [5, 6, 7, 8] }] },
      {
        id: 3,
        fileName: 'a.jpg',
        detections: [
          { index: 0, id: 10, imageId: 3, categoryId: 1, bbox: [1, 2, 3, 4], score: 0.5 },
          { index: 2, id: 12, imageId: 3, categoryId: 4, bbox: [0, 0, 10, 10] },
        ],
      },
      { id: 9, fileName: 'empty.jpg', detections: [] },
    ]);
  });

  it('numbers annotations without an id by their position + 1, as pycocotools does for results', () => {
    const f = parseDetections({ images: [image(1, 'a.jpg')], annotations: [{ image_id: 1, category_id: 2, bbox: [0, 0, 1, 1] }, ann(5, 1, [0, 0, 2, 2])] }, 'det.json');
    expect(f.images[0].detections.map((d) => d.id)).toEqual([1, 5]);
  });

  it('skips unusable annotations with one line per kind: count and first case', () => {
    const f = parseDetections(
      {
        images: [image(1, 'a.jpg')],
        annotations: [
          ann(1, 99, [0, 0, 1, 1]),
          ann(2, 98, [0, 0, 1, 1]),
          ann(3, 1, [0, 0, 1]),
          ann(4, 1, [0, 0, Number.NaN, 1]),
          ann(5, 1, [0, 0, -1, 4]),
          { id: 6, image_id: 1, bbox: [0, 0, 1, 1] },
          ann(7, 1, [0, 0, 1, 1], { score: 'high' }),
          ann(8.5, 1, [0, 0, 1, 1]),
          'not an object',
          { id: 10, image_id: '1', category_id: 1, bbox: [0, 0, 1, 1] },
          ann(11, 1, [1, 1, 2, 2]),
        ],
      },
      'det.json',
    );
    expect(f.detections).toBe(1);
    expect(f.skipped).toBe(10);
    expect(f.problems).toEqual([
      { level: 'error', message: "det.json: annotation skipped: its image_id has no usable entry in 'images' (2 annotations; first: annotations[0] id 1)" },
      { level: 'error', message: 'det.json: annotation skipped: no bbox of four finite numbers [x, y, w, h] (2 annotations; first: annotations[2] id 3)' },
      { level: 'error', message: 'det.json: annotation skipped: bbox with a negative width or height (1 annotation; first: annotations[4] id 5)' },
      { level: 'error', message: 'det.json: annotation skipped: no integer category_id (1 annotation; first: annotations[5] id 6)' },
      { level: 'error', message: 'det.json: annotation skipped: score not a finite number (1 annotation; first: annotations[6] id 7)' },
      { level: 'error', message: 'det.json: annotation skipped: id not an integer (1 annotation; first: annotations[7])' },
      { level: 'error', message: 'det.json: annotation skipped: not an object (1 annotation; first: annotations[8])' },
      { level: 'error', message: 'det.json: annotation skipped: no integer image_id (1 annotation; first: annotations[9] id 10)' },
    ]);
  });

  it('skips unusable image entries; their annotations then have no image', () => {
    const f = parseDetections(
      {
        images: [image(1, 'a.jpg'), image(1, 'b.jpg'), { file_name: 'c.jpg' }, image(4, ''), null, image(5, 'a.jpg'), image(6, 'd.jpg', { width: 0, height: 10 })],
        annotations: [ann(1, 4, [0, 0, 1, 1])],
      },
      'det.json',
    );
    expect(f.images.map((i) => [i.id, i.fileName, i.width])).toEqual([
      [1, 'a.jpg', undefined],
      [5, 'a.jpg', undefined],
      [6, 'd.jpg', undefined],
    ]);
    expect(f.problems.map((p) => `${p.level}: ${p.message}`)).toEqual([
      "error: det.json: image entry skipped: its id repeats an earlier entry's (the first is used) (1 image entry; first: images[1] id 1)",
      'error: det.json: image entry skipped: no integer id (1 image entry; first: images[2])',
      'error: det.json: image entry skipped: no file_name (1 image entry; first: images[3] id 4)',
      'error: det.json: image entry skipped: not an object (1 image entry; first: images[4])',
      'warning: det.json: file named by an earlier entry too (1 image entry; first: images[5] id 5 and id 1: a.jpg)',
      'warning: det.json: width or height not a positive integer, size ignored (1 image entry; first: images[6] id 6)',
      "error: det.json: annotation skipped: its image_id has no usable entry in 'images' (1 annotation; first: annotations[0] id 1)",
    ]);
  });

  it('keeps zero-size boxes, repeated ids and unknown categories, with a warning each', () => {
    const f = parseDetections(
      {
        images: [image(1, 'a.jpg')],
        annotations: [ann(1, 1, [5, 5, 0, 3]), ann(1, 1, [5, 5, 4, 0]), ann(2, 1, [1, 1, 1, 1], { category_id: 9 })],
        categories: [{ id: 1 }],
      },
      'det.json',
    );
    expect(f.detections).toBe(3);
    expect(f.images[0].detections.map((d) => d.bbox)).toEqual([
      [5, 5, 0, 3],
      [5, 5, 4, 0],
      [1, 1, 1, 1],
    ]);
    expect(f.problems).toEqual([
      { level: 'warning', message: 'det.json: zero width or height, prompted as given (2 boxes; first: annotations[0] id 1 bbox [5, 5, 0, 3])' },
      { level: 'warning', message: "det.json: id repeats an earlier annotation's, both kept (1 annotation; first: annotations[1] id 1, as annotations[0])" },
      { level: 'warning', message: "det.json: category_id not in 'categories', kept (1 annotation; first: annotations[2] id 2 category_id 9)" },
    ]);
  });

  it('refuses files it cannot use at all', () => {
    expect(() => parseDetectionsText('{', 'det.json')).toThrow(DetectionFileError);
    expect(() => parseDetectionsText('{', 'det.json')).toThrow(/^det\.json: not valid JSON/);
    expect(() => parseDetections([{ image_id: 1, bbox: [0, 0, 1, 1] }], 'det.json')).toThrow(/a bare list of detections \(COCO results format\) names no image files/);
    expect(() => parseDetections({ annotations: [] }, 'det.json')).toThrow("det.json: no 'images' array");
    expect(() => parseDetections({ images: [] }, 'det.json')).toThrow("det.json: no 'annotations' array");
    expect(() => parseDetections('text', 'det.json')).toThrow("det.json: expected a JSON object with 'images' and 'annotations'");
  });

  it('reads the shared conformance detections without a problem: 31 boxes on three photos', () => {
    const f = parseDetectionsText(readFileSync(SHARED_DETECTIONS, 'utf8'), 'detections.json');
    expect(f.problems).toEqual([]);
    expect(f.detections).toBe(31);
    expect(f.images.map((i) => [i.fileName, i.detections.length])).toEqual([
      ['truck.jpg', 7],
      ['dog.jpg', 11],
      ['groceries.jpg', 13],
    ]);
    expect(f.images[0].detections[6]).toEqual({ index: 6, id: 7, imageId: 1, categoryId: 2, bbox: [900, 600, 5, 5], score: 0.5 });
  });
});

describe('imageProblems', () => {
  it('warns about boxes reaching outside the decoded image and a stated size that differs from it', () => {
    const entry = {
      id: 1,
      fileName: 'a.jpg',
      width: 100,
      height: 50,
      detections: [
        { index: 0, id: 1, imageId: 1, categoryId: 1, bbox: [0, 0, 100, 50] as [number, number, number, number] },
        { index: 1, id: 2, imageId: 1, categoryId: 1, bbox: [-1, 0, 10, 10] as [number, number, number, number] },
        { index: 2, id: 3, imageId: 1, categoryId: 1, bbox: [95, 45, 5.5, 1] as [number, number, number, number] },
      ],
    };
    expect(imageProblems('det.json', entry, 100, 50)).toEqual([
      { level: 'warning', message: 'det.json: box reaches outside a.jpg (100×50), prompted as given (2 boxes; first: annotations[1] id 2 bbox [-1, 0, 10, 10])' },
    ]);
    expect(imageProblems('det.json', { ...entry, detections: [] }, 50, 100)).toEqual([
      { level: 'warning', message: "det.json: a.jpg is 50×100 but the detection file states 100×50; boxes are taken in the decoded image's pixels (1 file)" },
    ]);
  });
});
