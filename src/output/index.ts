/** Public surface of the output writers. */
export * from './coco.js';
export * from './coco-parse.js';
export * from './jsonl.js';
export * from './records.js';
export * from './sa1b.js';
