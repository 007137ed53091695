/**
 * The batch part of the main command, as the user sees it: the session's events as progress lines and messages,
 * SIGINT/SIGTERM, the closing summary and the exit code. The work itself (journal, resume, the ordered results and
 * the writes through the output plan) is src/run/session.ts; run-command.ts lists the inputs, plans and checks the
 * output paths, loads the model, then hands over here.
 */
import { JournalError } from '../run/journal.js';
import { ResumeMismatch } from '../run/resume.js';
import { BatchSession, SessionRefused, type SessionParams, type SessionReporter } from '../run/session.js';
import { count, formatSummary, plural, type Progress } from './progress.js';
import { EXIT_SIGNAL, type SignalGuard, type StopSignal } from './signals.js';
import { say } from './streams.js';

export { EXIT_SIGNAL } from './signals.js';

/** Everything the batch part needs. */
export interface BatchRunParams extends SessionParams {
  progress: Progress;
  /** SIGINT/SIGTERM handling of the run: the first signal stops the batch gracefully. */
  signals?: SignalGuard;
}

/** Runs the batch and writes the output; resolves to the exit code. */
export async function runBatchFlow(p: BatchRunParams): Promise<number> {
  const { progress } = p;
  const t0 = performance.now();
  let session: BatchSession;
  try {
    session = await BatchSession.open(p, reporter(progress));
  } catch (err) {
    if (!(err instanceof SessionRefused)) throw err;
    say(refusalMessage(err));
    return 2;
  }

  // Signals: the first one stops new images and lets the ones in flight finish; a second one exits at once
  // (signals.ts), and the journal is then usable as it is.
  const abort = new AbortController();
  let caught: StopSignal | undefined;
  p.signals?.onStop((sig) => {
    caught = sig;
    abort.abort();
    const tiled = p.segmenter.tiled !== undefined;
    const hint = session.journaled ? `; the journal keeps every finished image${tiled ? ' and tile' : ''}` : '';
    const what = tiled ? 'the tiles in progress' : 'the images in flight';
    progress.warn(`${sig}: finishing ${what}, then writing the output${hint} (${sig === 'SIGINT' ? 'Ctrl-C' : 'the signal'} again to stop at once)`);
  });

  const s = await session.run(abort.signal);
  progress.finish(
    formatSummary({
      ok: s.results.length,
      restored: s.restored,
      failed: s.errors.length,
      skipped: s.skipped,
      masks: s.results.reduce((n, r) => n + r.records.length, 0),
      seconds: (performance.now() - t0) / 1000,
      out: p.outLabel,
      written: s.written,
      interrupted: caught,
    }),
  );
  for (const n of s.notes) (n.level === 'warn' ? progress.warn : progress.info).call(progress, n.text);
  if (s.errors.length > 0) {
    const byStage = new Map<string, number>();
    for (const e of s.errors) byStage.set(e.stage, (byStage.get(e.stage) ?? 0) + 1);
    const stages = [...byStage].map(([st, n]) => `${n} ${st}`).join(', ');
    // Only a list that was actually written is pointed to.
    const where = s.errorsListed !== undefined ? `listed in ${s.errorsListed}` : 'the list could not be written: see the error lines above';
    progress.warn(`${plural(s.errors.length, 'image')} failed (${stages}); ${where}`);
  }
  if (caught) return EXIT_SIGNAL[caught];
  return s.writeFailed || s.fatal || s.errors.length > 0 || s.skipped > 0 ? 1 : 0;
}

/** The session's events in words: progress lines on the display, failures as `sam-amg: …` lines. */
function reporter(progress: Progress): SessionReporter {
  return {
    start: (total, done, prompts) => progress.start(total, done, prompts),
    imageStarted: (file) => progress.imageStarted(file),
    imageProgress: (file, pr) => progress.imageProgress(file, pr),
    imageDone: (file, masks, seconds, detail) => progress.imageDone(file, masks, seconds, detail),
    imageFailed: (file, stage, message) => progress.imageFailed(file, stage, message),
    journalMissing: (journal) => progress.info(`no journal at ${journal}: starting from the beginning`),
    journalLineIgnored: (warning) => progress.warn(warning),
    journalReplaced: (journal, done) =>
      progress.warn(`starting over: the journal ${journal} of an earlier run (${plural(done, 'image')} done) is replaced; use --resume to continue it`),
    journalTruncated: (bytes) => progress.info(`journal: cut a partly written last line (${bytes} bytes); that image is recomputed`),
    resuming: (done, total, journal) => progress.info(`resuming: ${count(done)} of ${plural(total, 'image')} already done (journal ${journal})`),
    tilesResumed: (file, done, tiles) => progress.info(`resuming ${file} at tile ${count(done + 1)} of ${count(tiles)}: ${plural(done, 'tile')} already done`),
    overlaySkipped: (file, reason) => progress.warn(`${file}: ${reason}`),
    imageWarning: (file, message) => progress.warn(`${file}: ${message}`),
    stopping: (fatal) => say(`stopping: ${fatal.message}`),
    outputFailed: (error, previousKept) => say(`${error.message}${previousKept ? '; the previous output is unchanged' : ''}`),
    errorListFailed: (error) => say(error.message),
    journalCloseFailed: (journal, error) => say(`journal ${journal}: ${error.message}`),
    journalKept: (journal, complete) =>
      progress.info(`journal kept at ${journal}: ${complete ? 'rerun with --resume to retry only the failed images' : 'rerun with --resume to continue'}`),
  };
}

/** Why the run could not start, in one line. */
function refusalMessage(r: SessionRefused): string {
  const e = r.reason;
  if (e instanceof ResumeMismatch) {
    return (
      `cannot resume: the journal ${e.journal} was written by a different run (${e.differences.join('; ')}). ` +
      `Rerun with the same model and options, or delete the journal (or drop --resume) to start over.`
    );
  }
  if (r.part === 'journal') return e instanceof JournalError ? e.message : `journal ${r.journal}: ${e.message}`;
  return e.message;
}
