/**
 * The run journal: what makes an interrupted run resumable (`--resume`).
 *
 * Layout (JSON Lines, UTF-8):
 *
 *   line 1   {"sam_amg_journal":1,"fingerprint":{version, model, model_sha256, format, device, options}}
 *   line 2…  {"file":"<relPath>","size":<bytes>,"mtime_ms":<ms>,"width":W,"height":H,["geo":{…},]"records":[…]}
 *            (a box-prompted run adds "image_id":<the detection file's id> after "height")
 *   tiles    {"tile_of":"<relPath>","size":…,"mtime_ms":…,"width":W,"height":H,"tile":k,"tiles":n,"records":[…]}
 *
 * Tile lines (tiled runs only) make a long image resumable inside itself: after each tile of an image the tile's
 * records — after the NMS inside the tile, in the image frame, before the NMS across tiles — are appended, so that a
 * resumed run reads the tiles already done instead of computing them and continues at the first one missing; the
 * records are the same numbers and masks, so the image's final records (and the output) are byte-identical. Once
 * the image is done its `file` line supersedes them. A tile line counts for its image only while the file still has
 * the size and modification time recorded, and only the latest run's lines of an image count.
 *
 * A new journal is created atomically with its header alone; every finished image is then appended as one line
 * and fdatasync'ed before the image counts as done (JsonlWriter). A line holds the image's complete result (the
 * records in the output's snake_case form, masks as compressed RLE strings), so a resumed run rebuilds any output
 * format byte for byte without recomputing anything. Numbers round-trip exactly: JSON.stringify writes the
 * shortest decimal that reads back to the same double.
 *
 * On reading, a torn last line (no newline: the process died mid-write) is cut off, and a line that does not
 * parse or does not hold a valid result is ignored with a warning: its image is simply recomputed. Records are
 * checked by the same parser as every output reader (types, mask size, area and bbox agree with the RLE). An entry is
 * used only when its file still has the size and modification time recorded; a changed file is recomputed.
 * Failed images are not journaled, so a resumed run retries them.
 */
import { createReadStream, promises as fsp } from 'node:fs';
import { createInterface } from 'node:readline';
import path from 'node:path';
import type { GeoReference, MaskRecord } from '../base/types.js';
import type { ImageResult } from '../output/coco.js';
import { writeFileAtomic } from '../fs/atomic.js';
import { describeFsError, errorCode } from '../fs/errno.js';
import { JsonlWriter } from '../output/jsonl.js';
import { isPromptedRecord, maskRecordOf, outputFields, parseMaskFields, recordFields, type OutputRecord } from '../output/records.js';
import { geoField, parseGeo } from '../output/geo.js';
import { isFolderFormat, type OutputFormat } from '../output/sink.js';
import type { FileIdentity } from './batch.js';
import { errorMessage } from '../base/errors.js';

/** The journal layout version written in the header. */
export const JOURNAL_VERSION = 1;

/** Everything that decides the bytes of a result; a journal is only reused when all of it is equal. */
export interface JournalFingerprint {
  version: string;
  /** The model id or folder as written into the output. */
  model: string;
  model_sha256: string;
  format: string;
  /** Execution provider: results of different providers may differ in the last bits. */
  device: string;
  /** The options record written into the output (snake_case). */
  options: Record<string, unknown>;
  /** How masks are written as polygons (tolerance, holes); absent when they are written as RLE. */
  polygons?: Record<string, unknown>;
}

/** One journaled image. */
export interface JournalEntry {
  result: ImageResult;
  file: FileIdentity;
}

/** The finished tiles of an image that was not finished (tiled runs). */
export interface PartialImage {
  file: FileIdentity;
  width: number;
  height: number;
  /** How many tiles the image has. */
  tiles: number;
  /** Records of each finished tile (after the NMS inside it, image frame), by tile index. */
  done: Map<number, MaskRecord[]>;
}

/** What {@link readJournal} found. */
export interface JournalContents {
  fingerprint: JournalFingerprint;
  /** Entries by relPath (a later line for the same file wins). */
  entries: Map<string, JournalEntry>;
  /** Finished tiles of images without an entry, by relPath (tiled runs). */
  partial: Map<string, PartialImage>;
  /** Lines that were ignored, with why (the images are recomputed). */
  warnings: string[];
}

/** A journal that is not ours, or one written for a different run. */
export class JournalError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'JournalError';
  }
}

/** The journal's name inside the output folder of a folder format. */
export const JOURNAL_FILE_NAME = '.sam-amg.journal.jsonl';

/** How every journal starts (its header line, see {@link journalHeader}): how a file is recognised as one. */
export const JOURNAL_HEADER_PREFIX = '{"sam_amg_journal":';

/** Where the journal of an output lives: inside DIR for sa1b and amg-png, next to the file otherwise. */
export function journalPathFor(format: OutputFormat, out: string): string {
  return isFolderFormat(format) ? path.join(out, JOURNAL_FILE_NAME) : `${out}.journal.jsonl`;
}

/** The header line of a journal. */
export function journalHeader(fp: JournalFingerprint): string {
  return `${JSON.stringify({ sam_amg_journal: JOURNAL_VERSION, fingerprint: fingerprintInOrder(fp) })}\n`;
}

/** One image as a journal line. */
export function journalLine(result: ImageResult, file: FileIdentity): string {
  const records = result.records.map((r, i) => outputFields(r, `${result.relPath}: record ${i}`));
  return `${JSON.stringify({
    file: result.relPath,
    size: file.size,
    mtime_ms: file.mtimeMs,
    width: result.width,
    height: result.height,
    ...(result.imageId !== undefined ? { image_id: result.imageId } : {}),
    ...geoField(result.geo),
    records,
  })}\n`;
}

/** One finished tile of an image (`tile` of `tiles`, 0-based) as a journal line. */
export function journalTileLine(tile: TileEntry): string {
  const where = `${tile.relPath}: tile ${tile.tile}`;
  const records = tile.records.map((r, i) => recordFields(r, `${where}: record ${i}`));
  return `${JSON.stringify({
    tile_of: tile.relPath,
    size: tile.file.size,
    mtime_ms: tile.file.mtimeMs,
    width: tile.width,
    height: tile.height,
    tile: tile.tile,
    tiles: tile.tiles,
    records,
  })}\n`;
}

/** One finished tile, as {@link Journal.appendTile} takes it. */
export interface TileEntry {
  relPath: string;
  file: FileIdentity;
  width: number;
  height: number;
  tile: number;
  tiles: number;
  records: MaskRecord[];
}

/**
 * The differences between two fingerprints as `name: journal value ≠ this run's value`, empty when they are equal.
 * Options are compared key by key so that the message names the option.
 */
export function fingerprintDifferences(journal: JournalFingerprint, run: JournalFingerprint): string[] {
  const out: string[] = [];
  const show = (v: unknown): string => {
    const s = v === undefined ? 'unset' : JSON.stringify(v);
    return s.length > 40 ? `${s.slice(0, 37)}…` : s;
  };
  for (const key of ['version', 'model', 'model_sha256', 'format', 'device'] as const) {
    if (journal[key] !== run[key]) out.push(`${key}: ${show(journal[key])} ≠ ${show(run[key])}`);
  }
  if (JSON.stringify(journal.polygons) !== JSON.stringify(run.polygons)) out.push(`polygons: ${show(journal.polygons)} ≠ ${show(run.polygons)}`);
  const keys = new Set([...Object.keys(journal.options ?? {}), ...Object.keys(run.options)]);
  for (const k of keys) {
    const a = JSON.stringify(journal.options?.[k]);
    const b = JSON.stringify(run.options[k]);
    if (a !== b) out.push(`options.${k}: ${show(journal.options?.[k])} ≠ ${show(run.options[k])}`);
  }
  return out;
}

/**
 * Reads a journal. Returns null when the file does not exist. Throws JournalError when the first line is not a
 * sam-amg journal header (the file is then not touched by anything else either).
 */
export async function readJournal(file: string): Promise<JournalContents | null> {
  const entries = new Map<string, JournalEntry>();
  const partial = new Map<string, PartialImage>();
  const warnings: string[] = [];
  const fingerprint = await scanJournal(file, (line, lineNo) => {
    if (line.trim() === '') return;
    try {
      if (line.startsWith(TILE_LINE_PREFIX)) {
        addTile(partial, parseTile(line));
        return;
      }
      const entry = parseEntry(line);
      entries.set(entry.result.relPath, entry);
    } catch (err) {
      const what = line.startsWith(TILE_LINE_PREFIX) ? 'that tile' : 'that image';
      warnings.push(`journal ${file} line ${lineNo} ignored (${errorMessage(err)}); ${what} is recomputed`);
    }
  });
  if (fingerprint === null) return null;
  for (const name of entries.keys()) partial.delete(name);
  return { fingerprint, entries, partial, warnings };
}

/**
 * How many images a journal holds, without decoding their results: the distinct file names of its complete lines
 * (read from the start of each line, where {@link journalLine} puts them). Only a damaged line whose name is intact
 * but whose result is not would count here and not in {@link readJournal}. Returns null and throws as
 * {@link readJournal} does.
 */
export async function countJournalEntries(file: string): Promise<number | null> {
  const names = new Set<string>();
  const fingerprint = await scanJournal(file, (line) => {
    const m = /^\{"file":("(?:[^"\\]|\\.)*")/u.exec(line);
    if (m === null) return;
    try {
      const name = JSON.parse(m[1] as string) as unknown;
      if (typeof name === 'string' && name !== '') names.add(name);
    } catch {
      // not a name: the full read ignores this line too
    }
  });
  return fingerprint === null ? null : names.size;
}

/**
 * Reads a journal line by line: checks the header and hands each complete line after it to `onLine` (a torn last
 * line, without its newline, is left out). Returns the header's fingerprint, or null when the file does not exist.
 */
async function scanJournal(file: string, onLine: (line: string, lineNo: number) => void): Promise<JournalFingerprint | null> {
  let stream;
  try {
    await fsp.access(file);
    stream = createReadStream(file, { encoding: 'utf8' });
  } catch (err) {
    if (errorCode(err) === 'ENOENT') return null;
    throw new JournalError(`cannot read journal ${file}: ${describeFsError(err)}`, { cause: err });
  }
  const lines = createInterface({ input: stream, crlfDelay: Infinity });
  let fingerprint: JournalFingerprint | undefined;
  let n = 0;
  let pendingLine: string | undefined;
  try {
    for await (const line of lines) {
      n++;
      if (n === 1) {
        fingerprint = parseHeader(line, file);
        continue;
      }
      // The last line is only complete if the file ends with a newline; readline cannot tell, so hold one back.
      if (pendingLine !== undefined) onLine(pendingLine, n - 1);
      pendingLine = line;
    }
  } catch (err) {
    if (err instanceof JournalError) throw err;
    throw new JournalError(`cannot read journal ${file}: ${describeFsError(err)}`, { cause: err });
  } finally {
    lines.close();
    stream.destroy();
  }
  if (fingerprint === undefined) throw new JournalError(`${file} is empty, not a sam-amg journal`);
  if (pendingLine !== undefined && (await endsWithNewline(file))) onLine(pendingLine, n);
  return fingerprint;
}

/** An open journal being appended to. */
export class Journal {
  private constructor(
    readonly path: string,
    private readonly writer: JsonlWriter,
    /** Bytes of a torn last line cut off when the journal was reopened. */
    readonly truncatedBytes: number,
  ) {}

  /** Starts a new journal (replacing any file at `file` atomically, so a crash leaves the old one or the new one). */
  static async create(file: string, fp: JournalFingerprint): Promise<Journal> {
    await writeFileAtomic(file, journalHeader(fp));
    const writer = await JsonlWriter.open(file, { append: true });
    return new Journal(file, writer, 0);
  }

  /** Reopens an existing journal for appending, cutting a torn last line. */
  static async reopen(file: string): Promise<Journal> {
    const writer = await JsonlWriter.open(file, { append: true });
    return new Journal(file, writer, writer.truncatedBytes);
  }

  /** Appends one finished image; resolves once the line is on disk. */
  append(result: ImageResult, file: FileIdentity): Promise<void> {
    return this.writer.append(journalLine(result, file));
  }

  /** Appends one finished tile of an image in progress; resolves once the line is on disk. */
  appendTile(tile: TileEntry): Promise<void> {
    return this.writer.append(journalTileLine(tile));
  }

  /** Waits for pending lines and closes the file. */
  close(): Promise<void> {
    return this.writer.close();
  }

  /** Closes and deletes the journal (after a complete run). */
  async remove(): Promise<void> {
    await this.close();
    await fsp.rm(this.path, { force: true });
  }
}

function parseHeader(line: string, file: string): JournalFingerprint {
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch {
    throw new JournalError(`${file} is not a sam-amg journal (its first line is not JSON)`);
  }
  const obj = raw as Record<string, unknown> | null;
  if (typeof obj !== 'object' || obj === null || !('sam_amg_journal' in obj)) {
    throw new JournalError(`${file} is not a sam-amg journal (no header)`);
  }
  if (obj.sam_amg_journal !== JOURNAL_VERSION) {
    throw new JournalError(`${file} is a version ${String(obj.sam_amg_journal)} journal; this sam-amg reads version ${JOURNAL_VERSION}`);
  }
  const fp = obj.fingerprint as Record<string, unknown> | undefined;
  if (typeof fp !== 'object' || fp === null || typeof fp.options !== 'object' || fp.options === null) {
    throw new JournalError(`${file}: journal header has no fingerprint`);
  }
  return {
    version: String(fp.version),
    model: String(fp.model),
    model_sha256: String(fp.model_sha256),
    format: String(fp.format),
    device: String(fp.device),
    options: fp.options as Record<string, unknown>,
    ...(typeof fp.polygons === 'object' && fp.polygons !== null ? { polygons: fp.polygons as Record<string, unknown> } : {}),
  };
}

/** What image and tile lines both start with: the object, the image's path (under `pathKey`) and its size. */
function lineHead(line: string, pathKey: 'file' | 'tile_of'): { o: Record<string, unknown>; relPath: string; width: number; height: number } {
  const raw = JSON.parse(line) as unknown;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error('not an object');
  const o = raw as Record<string, unknown>;
  const relPath = o[pathKey];
  if (typeof relPath !== 'string' || relPath === '') throw new Error('no file name');
  return { o, relPath, width: posInt(o.width, 'width'), height: posInt(o.height, 'height') };
}

function parseEntry(line: string): JournalEntry {
  const { o, relPath, width, height } = lineHead(line, 'file');
  const size = nonNegative(o.size, 'size');
  const mtimeMs = nonNegative(o.mtime_ms, 'mtime_ms');
  if (!Array.isArray(o.records)) throw new Error('no records');
  const imageId = o.image_id === undefined ? undefined : integer(o.image_id, 'image_id');
  // The same record parser as every output reader: a line whose area or bbox disagrees with its mask is not used.
  const records: OutputRecord[] = o.records.map((r: unknown, i: number) => maskRecordOf(parseMaskFields(r, `record ${i}`, { width, height }), imageId));
  if (records.some((r) => isPromptedRecord(r) !== (imageId !== undefined))) throw new Error('records of the wrong kind for the image');
  const geo: GeoReference | undefined = parseGeo(o, 'image');
  return {
    result: { relPath, width, height, ...(geo !== undefined ? { geo } : {}), records, ...(imageId !== undefined ? { imageId } : {}) },
    file: { size, mtimeMs },
  };
}

/** How every tile line starts (journalTileLine writes `tile_of` first), so that it is told from an image line. */
const TILE_LINE_PREFIX = '{"tile_of":';

function parseTile(line: string): TileEntry {
  const { o, relPath, width, height } = lineHead(line, 'tile_of');
  const tiles = posInt(o.tiles, 'tiles');
  const tile = nonNegative(o.tile, 'tile');
  if (!Number.isInteger(tile) || tile >= tiles) throw new Error(`tile ${tile} is not one of ${tiles}`);
  const file = { size: nonNegative(o.size, 'size'), mtimeMs: nonNegative(o.mtime_ms, 'mtime_ms') };
  if (!Array.isArray(o.records)) throw new Error('no records');
  // Tiles are automatic mask generation's only (box-prompted runs are not tiled).
  const records = o.records.map((r: unknown, i: number) => {
    const record = maskRecordOf(parseMaskFields(r, `record ${i}`, { width, height }));
    if (isPromptedRecord(record)) throw new Error(`record ${i}: a box-prompted record in a tile line`);
    return record;
  });
  return { relPath, file, width, height, tile, tiles, records };
}

/** Adds a tile to its image's partial entry; a tile of another version of the file (or grid) starts it afresh. */
function addTile(partial: Map<string, PartialImage>, t: TileEntry): void {
  const p = partial.get(t.relPath);
  const same = p !== undefined && p.file.size === t.file.size && p.file.mtimeMs === t.file.mtimeMs && p.width === t.width && p.height === t.height && p.tiles === t.tiles;
  if (same) {
    p.done.set(t.tile, t.records);
    return;
  }
  partial.set(t.relPath, { file: t.file, width: t.width, height: t.height, tiles: t.tiles, done: new Map([[t.tile, t.records]]) });
}

function posInt(v: unknown, where: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new Error(`${where} is not a positive integer`);
  return v;
}

function integer(v: unknown, where: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw new Error(`${where} is not an integer`);
  return v;
}

function nonNegative(v: unknown, where: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new Error(`${where} is not a number ≥ 0`);
  return v;
}

function fingerprintInOrder(fp: JournalFingerprint): JournalFingerprint {
  return {
    version: fp.version,
    model: fp.model,
    model_sha256: fp.model_sha256,
    format: fp.format,
    device: fp.device,
    options: fp.options,
    ...(fp.polygons === undefined ? {} : { polygons: fp.polygons }),
  };
}

async function endsWithNewline(file: string): Promise<boolean> {
  const fh = await fsp.open(file, 'r');
  try {
    const { size } = await fh.stat();
    if (size === 0) return false;
    const b = Buffer.alloc(1);
    await fh.read(b, 0, 1, size - 1);
    return b[0] === 0x0a;
  } finally {
    await fh.close();
  }
}
