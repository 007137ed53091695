/** Public surface of the COCO RLE module. */
export * from './rle.js';
