/**
 * Progress display: a live line on a TTY (images i/n, masks, elapsed, ETA, current file), one plain line per image
 * otherwise, nothing but errors with --quiet. Errors always go to stderr as one line naming the file.
 */
import ora, { type Ora } from 'ora';

/** Where the CLI reports progress. */
export interface Progress {
  /** `total` images in the run, of which `alreadyDone` were restored from a journal (no work). */
  start(total: number, alreadyDone?: number): void;
  imageStarted(file: string): void;
  imageDone(file: string, masks: number, seconds: number): void;
  imageFailed(file: string, stage: string, message: string): void;
  info(message: string): void;
  warn(message: string): void;
  finish(summary: string): void;
}

/** Chooses the display for the current stream and flags; NO_COLOR (any non-empty value) turns colour off. */
export function createProgress(opts: { quiet: boolean; stream?: NodeJS.WriteStream; env?: NodeJS.ProcessEnv }): Progress {
  const stream = opts.stream ?? process.stderr;
  const env = opts.env ?? process.env;
  if (opts.quiet) return new QuietProgress(stream);
  return stream.isTTY ? new TtyProgress(stream, !(env.NO_COLOR !== undefined && env.NO_COLOR !== '')) : new PlainProgress(stream);
}

/** What the final summary line reports. */
export interface RunSummary {
  ok: number;
  /** Of `ok`, images restored from the journal. */
  restored: number;
  failed: number;
  skipped: number;
  masks: number;
  seconds: number;
  /** Where the output went. */
  out: string;
  interrupted?: 'SIGINT' | 'SIGTERM';
}

/** `12 images ok (5 from the journal), 1 failed, 0 skipped; 340 masks in 61.2 s → masks.json`. */
export function formatSummary(s: RunSummary): string {
  const restored = s.restored > 0 ? ` (${s.restored} from the journal)` : '';
  const head = s.interrupted ? `interrupted (${s.interrupted}): ` : '';
  return `${head}${s.ok} images ok${restored}, ${s.failed} failed, ${s.skipped} skipped; ${s.masks} masks in ${fmtSeconds(s.seconds)} → ${s.out}`;
}

/** Seconds as `4.2s`, `3m07s` or `2h05m`; `?` when unknown. */
export function fmtSeconds(s: number): string {
  if (!Number.isFinite(s)) return '?';
  if (s < 60) return `${s.toFixed(1)}s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m}m${String(Math.round(s % 60)).padStart(2, '0')}s` : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

class PlainProgress implements Progress {
  protected total = 0;
  /** Images finished, restored ones included. */
  protected done = 0;
  /** Images restored from the journal (they do not count towards the rate). */
  protected restored = 0;
  protected masks = 0;
  protected t0 = performance.now();
  constructor(protected readonly stream: NodeJS.WriteStream) {}
  start(total: number, alreadyDone = 0): void {
    this.total = total;
    this.done = alreadyDone;
    this.restored = alreadyDone;
    this.t0 = performance.now();
  }
  imageStarted(_file: string): void {}
  imageDone(file: string, masks: number, seconds: number): void {
    this.done++;
    this.masks += masks;
    this.stream.write(`[${this.done}/${this.total}] ${file}: ${masks} masks in ${seconds.toFixed(2)} s\n`);
  }
  imageFailed(file: string, stage: string, message: string): void {
    this.done++;
    this.stream.write(`sam-amg: error: ${file}: ${message} (${stage})\n`);
  }
  info(message: string): void {
    this.stream.write(`${message}\n`);
  }
  warn(message: string): void {
    this.stream.write(`sam-amg: warning: ${message}\n`);
  }
  finish(summary: string): void {
    this.stream.write(`${summary}\n`);
  }
}

class QuietProgress extends PlainProgress {
  override imageDone(): void {
    this.done++;
  }
  override info(): void {}
  override warn(): void {}
  override finish(): void {}
}

class TtyProgress extends PlainProgress {
  private spinner: Ora;
  private current = '';
  private timer: NodeJS.Timeout | undefined;
  constructor(stream: NodeJS.WriteStream, colour: boolean) {
    super(stream);
    this.spinner = ora({ stream, isEnabled: true, color: colour ? 'cyan' : false });
  }
  override start(total: number, alreadyDone = 0): void {
    super.start(total, alreadyDone);
    this.spinner.start(this.text());
    this.timer = setInterval(() => (this.spinner.text = this.text()), 500);
    this.timer.unref();
  }
  override imageStarted(file: string): void {
    this.current = file;
    this.spinner.text = this.text();
  }
  override imageDone(_file: string, masks: number): void {
    this.done++;
    this.masks += masks;
    this.spinner.text = this.text();
  }
  override imageFailed(file: string, stage: string, message: string): void {
    this.spinner.clear();
    super.imageFailed(file, stage, message);
    this.spinner.render();
  }
  override warn(message: string): void {
    this.spinner.clear();
    super.warn(message);
    this.spinner.render();
  }
  override info(message: string): void {
    this.spinner.clear();
    super.info(message);
    this.spinner.render();
  }
  override finish(summary: string): void {
    if (this.timer) clearInterval(this.timer);
    this.spinner.stop();
    super.finish(summary);
  }
  private text(): string {
    const elapsed = (performance.now() - this.t0) / 1000;
    const worked = this.done - this.restored;
    const rate = worked / Math.max(elapsed, 1e-9);
    const eta = worked > 0 ? (this.total - this.done) / rate : NaN;
    return `${this.done}/${this.total} images · ${this.masks} masks · ${rate.toFixed(2)} img/s · ${fmtSeconds(elapsed)} elapsed · ETA ${fmtSeconds(eta)} · ${this.current}`;
  }
}
