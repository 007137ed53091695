/** amg-png (`--format amg-png`): the reference scripts/amg.py folder per image, complete once metadata.csv is in it. */
import path from 'node:path';
import { AMG_PNG_METADATA, amgPngFolderFor, writeAmgPngFolder } from '../amg-png.js';
import type { ImageFileFormat } from './per-image.js';

/** The amg-png per-image folders. */
export const AMG_PNG_FILES: ImageFileFormat = {
  format: 'amg-png',
  maskIdBase: 0,
  pathFor: amgPngFolderFor,
  doneMarker: (folder) => path.join(folder, AMG_PNG_METADATA),
  write: (folder, result) => writeAmgPngFolder(folder, result),
};
