/**
 * The journal side of a run: reuse what an earlier run of the same output finished (`--resume`), or start a new
 * journal. An entry is reused only when the run's fingerprint is the journal's and its file still has the size and
 * modification time recorded; everything else is recomputed.
 */
import { promises as fsp } from 'node:fs';
import type { RunError } from '../output/coco.js';
import type { InputItem } from './inputs.js';
import { countJournalEntries, fingerprintDifferences, Journal, readJournal, type JournalEntry, type JournalFingerprint, type PartialImage } from './journal.js';

/** What the journal side reports as it goes (the CLI words it). */
export interface ResumeReporter {
  /** `--resume` but no journal: the run starts from the beginning. */
  journalMissing(journal: string): void;
  /** A journal line was ignored (its image is recomputed); `warning` says which and why. */
  journalLineIgnored(warning: string): void;
  /** Without `--resume`, the journal of an earlier run (`done` images) is replaced. */
  journalReplaced(journal: string, done: number): void;
  /** A torn last line of `bytes` bytes was cut when reopening; that image is recomputed. */
  journalTruncated(bytes: number): void;
}

/** The journal was written by a different run (model, options, version, format or device): not resumable. */
export class ResumeMismatch extends Error {
  constructor(
    readonly journal: string,
    /** `name: journal value ≠ this run's value`, one per difference. */
    readonly differences: string[],
  ) {
    super(`the journal ${journal} was written by a different run (${differences.join('; ')})`);
    this.name = 'ResumeMismatch';
  }
}

/** Options of {@link resumeJournal}. */
export interface ResumeOptions {
  journalFile: string;
  /** This run's fingerprint. */
  fingerprint: JournalFingerprint;
  items: InputItem[];
  /** Items failed before any work: never restored. */
  early: ReadonlyMap<number, RunError>;
  /** Reuse the journal (`--resume`). */
  resume: boolean;
  /** Write a journal (off with `--no-journal` and for stdout). */
  journal: boolean;
  report: ResumeReporter;
}

/** The journal this run appends to (when it keeps one) and the entries it reuses, by item index. */
export interface Resumed {
  journal?: Journal;
  restored: Map<number, JournalEntry>;
  /** Finished tiles of images not restored (tiled runs), by item index: those images continue at their first missing tile. */
  partial: Map<number, PartialImage>;
}

/**
 * Opens the journal. Throws {@link ResumeMismatch} for another run's journal, a JournalError for a file that is not
 * a usable journal when resuming, and file-system errors as they come.
 */
export async function resumeJournal(o: ResumeOptions): Promise<Resumed> {
  const restored = new Map<number, JournalEntry>();
  const partial = new Map<number, PartialImage>();
  let reopen = false;
  if (o.resume) {
    const existing = await readJournal(o.journalFile);
    if (existing === null) {
      o.report.journalMissing(o.journalFile);
    } else {
      const diff = fingerprintDifferences(existing.fingerprint, o.fingerprint);
      if (diff.length > 0) throw new ResumeMismatch(o.journalFile, diff);
      for (const w of existing.warnings) o.report.journalLineIgnored(w);
      await matchJournal(o.items, existing.entries, o.early, restored);
      await matchJournal(o.items, existing.partial, o.early, partial, restored);
      reopen = true;
    }
  } else if (o.journal) {
    // Only the warning needs the old journal: count its images without decoding them. A file we cannot read as a
    // journal is simply replaced.
    const done = await countJournalEntries(o.journalFile).catch(() => null);
    if (done !== null && done > 0) o.report.journalReplaced(o.journalFile, done);
  }
  if (!o.journal) return { restored, partial };
  const journal = reopen ? await Journal.reopen(o.journalFile) : await Journal.create(o.journalFile, o.fingerprint);
  if (journal.truncatedBytes > 0) o.report.journalTruncated(journal.truncatedBytes);
  return { journal, restored, partial };
}

/** Moves journal entries (images, or tiles of images) whose file is unchanged (same size and mtime) into `restored`. */
async function matchJournal<E extends { file: { size: number; mtimeMs: number } }>(
  items: InputItem[],
  entries: Map<string, E>,
  early: ReadonlyMap<number, RunError>,
  restored: Map<number, E>,
  done: ReadonlyMap<number, unknown> = new Map(),
): Promise<void> {
  if (entries.size === 0) return;
  for (const [index, item] of items.entries()) {
    if (early.has(index) || done.has(index)) continue;
    const entry = entries.get(item.relPath);
    if (entry === undefined) continue;
    try {
      const st = await fsp.stat(item.path);
      if (st.size === entry.file.size && st.mtimeMs === entry.file.mtimeMs) restored.set(index, entry);
    } catch {
      // Gone or unreadable: processing reports it.
    }
  }
}
