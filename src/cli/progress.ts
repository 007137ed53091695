/**
 * Progress display. On a TTY: a live line (images done/total, masks, crops and prompts of the image in progress,
 * prompt throughput, elapsed time, an ETA from prompt throughput — known after the first decoder batch — and the
 * current file), with one line per finished image left in the scrollback. Off a TTY: those per-image lines only.
 * A terminal that reports no width (0 columns: `script`, some container and CI ptys) or one narrower than
 * MIN_LIVE_COLUMNS gets the per-image lines too: a live line is redrawn by moving the cursor up over the rows the
 * last one took, which cannot be known without a width (ora then cleared an unbounded number of lines per frame).
 * The live line is cut to the terminal's width, so it always takes exactly one row. With --quiet: errors only.
 * Every run ends with a summary line and, when images were computed, a speed line.
 * Tiled runs (--tile) show the tile in progress and an ETA from the prompts of the tiles left; off a TTY (or a
 * terminal without a width), a long tiled image also prints a line at every twentieth of its tiles.
 * Errors always go to stderr as one line naming the file. A closed stream never stops the run (streams.ts).
 */
import ora, { type Ora } from 'ora';
import type { GenerateProgress } from '../amg/generator.js';
import type { ImageTiming } from '../run/batch.js';
import { count, fmtDuration, plural } from '../output/text.js';
import { safeWrite } from './streams.js';

export { count, fmtDuration, plural };

/** A finished image as the progress display shows it. */
export interface FinishedImage {
  width: number;
  height: number;
  timing: ImageTiming;
}

/** Where the CLI reports progress. */
export interface Progress {
  /**
   * `total` images in the run, of which `alreadyDone` were restored from a journal (no work); each of the others
   * takes `promptsPerImage` prompts (0 when unknown: the ETA then comes from the image rate).
   */
  start(total: number, alreadyDone?: number, promptsPerImage?: number): void;
  imageStarted(file: string): void;
  /** Progress inside an image. */
  imageProgress(file: string, p: GenerateProgress): void;
  imageDone(file: string, masks: number, seconds: number, detail?: FinishedImage): void;
  imageFailed(file: string, stage: string, message: string): void;
  info(message: string): void;
  warn(message: string): void;
  finish(summary: string): void;
}

/** The narrowest terminal that gets the live line; a narrower one, or one of unknown width, gets plain lines. */
export const MIN_LIVE_COLUMNS = 20;

/** The terminal's width when a live line fits it, else undefined (0 columns means the width is unknown). */
function liveColumns(stream: NodeJS.WriteStream): number | undefined {
  const c = stream.columns;
  return Number.isInteger(c) && c >= MIN_LIVE_COLUMNS ? c : undefined;
}

/** Chooses the display for the current stream and flags; NO_COLOR (any non-empty value) turns colour off. */
export function createProgress(opts: { quiet: boolean; stream?: NodeJS.WriteStream; env?: NodeJS.ProcessEnv }): Progress {
  const stream = opts.stream ?? process.stderr;
  const env = opts.env ?? process.env;
  if (opts.quiet) return new QuietProgress(stream);
  const live = stream.isTTY && liveColumns(stream) !== undefined;
  return live ? new TtyProgress(stream, !(env.NO_COLOR !== undefined && env.NO_COLOR !== '')) : new PlainProgress(stream);
}

/**
 * `text` cut to at most `width` terminal columns (an ellipsis marks the cut), with control characters (a newline in
 * a file name) shown as `?`. Code points from U+1100 on count as two columns: that over-counts some narrow ones, so
 * the text may be cut a little early but never takes more than `width` columns.
 */
export function fitWidth(text: string, width: number): string {
  const clean = text.replace(/[\u0000-\u001f\u007f-\u009f]/gu, '?');
  const cols = (ch: string): number => ((ch.codePointAt(0) ?? 0) >= 0x1100 ? 2 : 1);
  let used = 0;
  for (const ch of clean) used += cols(ch);
  if (used <= width) return clean;
  let out = '';
  used = 0;
  for (const ch of clean) {
    if (used + cols(ch) > width - 1) break;
    out += ch;
    used += cols(ch);
  }
  return width >= 1 ? `${out}…` : '';
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
  /** False when the output could not be written (the summary then says so instead of pointing to it). */
  written?: boolean;
  interrupted?: 'SIGINT' | 'SIGTERM';
}

/** `12 images ok (5 from the journal), 1 failed, 0 skipped; 340 masks in 1 min 01 s → masks.json`. */
export function formatSummary(s: RunSummary): string {
  const restored = s.restored > 0 ? ` (${count(s.restored)} from the journal)` : '';
  const head = s.interrupted ? `interrupted (${s.interrupted}): ` : '';
  const where = s.written === false ? `; ${s.out} was not written` : ` → ${s.out}`;
  return `${head}${plural(s.ok, 'image')} ok${restored}, ${count(s.failed)} failed, ${count(s.skipped)} skipped; ${plural(s.masks, 'mask')} in ${fmtDuration(s.seconds)}${where}`;
}

/** `96x72; encoder 120 ms, decoder 80 ms, post-processing 30 ms`. */
function detailText(d: FinishedImage): string {
  const t = d.timing;
  return `${d.width}x${d.height}; encoder ${fmtDuration(t.encoderMs / 1000)}, decoder ${fmtDuration(t.decoderMs / 1000)}, post-processing ${fmtDuration(t.postprocessMs / 1000)}`;
}

class PlainProgress implements Progress {
  protected total = 0;
  /** Images finished, restored ones included. */
  protected done = 0;
  /** Images restored from the journal (they do not count towards the rate). */
  protected restored = 0;
  protected computed = 0;
  protected masks = 0;
  protected promptsPerImage = 0;
  /** Prompts of finished images and of images in progress. */
  protected promptsFinished = 0;
  /** Prompts that will never run (failed images). */
  protected promptsDropped = 0;
  /** Prompts of the images computed (tiled runs: each image's own count). */
  protected computedPrompts = 0;
  protected inFlight = new Map<string, GenerateProgress>();
  protected t0 = performance.now();
  protected time = { encoderMs: 0, decoderMs: 0, postprocessMs: 0 };
  constructor(protected readonly stream: NodeJS.WriteStream) {}
  start(total: number, alreadyDone = 0, promptsPerImage = 0): void {
    this.total = total;
    this.done = alreadyDone;
    this.restored = alreadyDone;
    this.promptsPerImage = promptsPerImage;
    this.t0 = performance.now();
  }
  imageStarted(_file: string): void {}
  imageProgress(file: string, p: GenerateProgress): void {
    const before = this.inFlight.get(file)?.tiles?.finished;
    this.inFlight.set(file, p);
    // A tiled image off a TTY: a line at every twentieth of its tiles (hours without a line look like a hang).
    if (p.tiles !== undefined && before !== undefined && p.tiles.finished > before && p.crops >= TILE_LINE_MIN) {
      const step = Math.ceil(p.crops / 20);
      if (Math.floor(p.tiles.finished / step) > Math.floor(before / step) && p.tiles.finished < p.crops) this.tileLine(file, p);
    }
  }
  /** `big.tif: tile 40/441 (9 %), ETA 1 h 02 min`. */
  protected tileLine(file: string, p: GenerateProgress): void {
    const finished = p.tiles?.finished ?? 0;
    this.write(`${file}: tile ${count(finished)}/${count(p.crops)} (${Math.floor((100 * finished) / p.crops)} %), ETA ${fmtDuration(this.eta())}\n`);
  }
  /**
   * Seconds left, from the prompt rate so far: the prompts of every image not started (promptsPerImage, or in
   * tiled runs, where it depends on the image's size, the mean of the images computed or in flight) and the prompts
   * left in the images in flight. NaN before the first prompt.
   */
  protected eta(): number {
    const prompts = this.promptsDone();
    if (prompts === 0) return NaN;
    const rate = prompts / Math.max((performance.now() - this.t0) / 1000, 1e-9);
    if (this.promptsPerImage > 0) {
      const todo = (this.total - this.restored) * this.promptsPerImage - this.promptsDropped - prompts;
      return Math.max(0, todo) / rate;
    }
    let left = 0;
    let sizes = this.computedPrompts;
    for (const p of this.inFlight.values()) {
      left += Math.max(0, p.prompts - p.promptsDone);
      sizes += p.prompts;
    }
    const started = this.computed + this.inFlight.size;
    const notStarted = Math.max(0, this.total - this.done - this.inFlight.size);
    return (left + (started > 0 ? (notStarted * sizes) / started : 0)) / rate;
  }
  imageDone(file: string, masks: number, seconds: number, detail?: FinishedImage): void {
    this.settle(file, true, masks, detail);
    this.write(`[${count(this.done)}/${count(this.total)}] ${file}: ${plural(masks, 'mask')} in ${fmtDuration(seconds)}${detail ? ` (${detailText(detail)})` : ''}\n`);
  }
  imageFailed(file: string, stage: string, message: string): void {
    this.settle(file, false, 0);
    this.write(`sam-amg: error: ${file}: ${message} (${stage})\n`);
  }
  info(message: string): void {
    this.write(`${message}\n`);
  }
  warn(message: string): void {
    this.write(`sam-amg: warning: ${message}\n`);
  }
  finish(summary: string): void {
    this.write(`${summary}\n`);
    const speed = this.speedLine();
    if (speed) this.write(`${speed}\n`);
  }
  protected write(text: string): void {
    safeWrite(this.stream, text);
  }
  protected settle(file: string, ok: boolean, masks: number, detail?: FinishedImage): void {
    this.done++;
    const p = this.inFlight.get(file);
    this.inFlight.delete(file);
    if (!ok) {
      // A failed image's remaining prompts never run: the work left shrinks by them.
      this.promptsFinished += p?.promptsDone ?? 0;
      this.promptsDropped += Math.max(0, this.promptsPerImage - (p?.promptsDone ?? 0));
      return;
    }
    this.computed++;
    this.masks += masks;
    this.promptsFinished += detail?.timing.prompts ?? p?.promptsDone ?? this.promptsPerImage;
    this.computedPrompts += p?.prompts ?? detail?.timing.prompts ?? this.promptsPerImage;
    if (detail) {
      this.time.encoderMs += detail.timing.encoderMs;
      this.time.decoderMs += detail.timing.decoderMs;
      this.time.postprocessMs += detail.timing.postprocessMs;
    }
  }
  /** Prompts run so far (finished images and those in progress). */
  protected promptsDone(): number {
    let n = this.promptsFinished;
    for (const p of this.inFlight.values()) n += p.promptsDone;
    return n;
  }
  /** `speed: 2.31 s per image (0.43 images/s), 1,234 prompts/s; time in encoder 41 %, decoder 47 %, post-processing 12 %`. */
  protected speedLine(): string | undefined {
    if (this.computed === 0) return undefined;
    const elapsed = (performance.now() - this.t0) / 1000;
    const perImage = elapsed / this.computed;
    const prompts = this.promptsDone();
    const parts = [`speed: ${fmtDuration(perImage)} per image (${(this.computed / elapsed).toFixed(2)} images/s)`];
    if (prompts > 0) parts[0] += `, ${count(Math.round(prompts / elapsed))} prompts/s`;
    const sum = this.time.encoderMs + this.time.decoderMs + this.time.postprocessMs;
    if (sum > 0) {
      const pct = (x: number): string => `${Math.round((100 * x) / sum)} %`;
      parts.push(`time in encoder ${pct(this.time.encoderMs)}, decoder ${pct(this.time.decoderMs)}, post-processing ${pct(this.time.postprocessMs)}`);
    }
    return parts.join('; ');
  }
}

/** Tiled images with fewer tiles than this print no tile lines off a TTY. */
const TILE_LINE_MIN = 20;

class QuietProgress extends PlainProgress {
  protected override tileLine(): void {}
  override imageDone(file: string, masks: number, _seconds: number, detail?: FinishedImage): void {
    this.settle(file, true, masks, detail);
  }
  override info(): void {}
  override warn(): void {}
  override finish(): void {}
}

class TtyProgress extends PlainProgress {
  private spinner: Ora;
  private current = '';
  private timer: NodeJS.Timeout | undefined;
  /** False once the terminal became too narrow (or lost its width): plain lines from then on. */
  private live = true;
  private readonly onResize = (): void => {
    if (!this.live) return;
    if (liveColumns(this.stream) === undefined) this.goPlain();
    else this.redraw();
  };
  constructor(stream: NodeJS.WriteStream, colour: boolean) {
    super(stream);
    this.spinner = ora({ stream, isEnabled: true, color: colour ? 'cyan' : false });
  }
  override start(total: number, alreadyDone = 0, promptsPerImage = 0): void {
    super.start(total, alreadyDone, promptsPerImage);
    // Node updates `columns` and then emits 'resize', before ora's next frame measures the line.
    this.stream.on('resize', this.onResize);
    this.spinner.start(this.text());
    this.timer = setInterval(() => this.redraw(), 500);
    this.timer.unref();
  }
  /** The live line shows the tile in progress. */
  protected override tileLine(): void {}
  override imageStarted(file: string): void {
    this.current = file;
    this.redraw();
  }
  override imageProgress(file: string, p: GenerateProgress): void {
    super.imageProgress(file, p);
    this.redraw();
  }
  override imageDone(file: string, masks: number, seconds: number, detail?: FinishedImage): void {
    // The finished image's line stays in the scrollback, above the live line.
    this.above(() => super.imageDone(file, masks, seconds, detail));
  }
  override imageFailed(file: string, stage: string, message: string): void {
    this.above(() => super.imageFailed(file, stage, message));
  }
  override warn(message: string): void {
    this.above(() => super.warn(message));
  }
  override info(message: string): void {
    this.above(() => super.info(message));
  }
  override finish(summary: string): void {
    this.stopLive();
    super.finish(summary);
  }
  private stopLive(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.stream.off('resize', this.onResize);
    if (this.spinner.isSpinning) this.spinner.stop();
  }
  private goPlain(): void {
    this.stopLive();
    this.live = false;
  }
  private above(write: () => void): void {
    if (!this.live) return write();
    this.spinner.clear();
    write();
    this.redraw();
  }
  private redraw(): void {
    if (this.live && this.spinner.isSpinning) this.spinner.text = this.text();
  }
  /** The live line, cut so that with ora's spinner and space before it it leaves the last column free. */
  private text(): string {
    return fitWidth(this.fullText(), (liveColumns(this.stream) ?? MIN_LIVE_COLUMNS) - 3);
  }
  private fullText(): string {
    const elapsed = (performance.now() - this.t0) / 1000;
    const parts = [`${count(this.done)}/${count(this.total)} images`, plural(this.masks, 'mask')];
    const p = this.inFlight.get(this.current);
    if (p && !p.done) {
      const where = p.tiles !== undefined ? `tile ${count(Math.min(p.tiles.finished + 1, p.crops))}/${count(p.crops)}` : `crop ${p.cropsDone}/${p.crops}`;
      parts.push(`${where}, prompts ${count(p.promptsDone)}/${count(p.prompts)}`);
    }
    const prompts = this.promptsDone();
    let eta = NaN;
    const tiled = this.promptsPerImage === 0 && [...this.inFlight.values()].some((q) => q.tiles !== undefined);
    if ((this.promptsPerImage > 0 || tiled) && prompts > 0) {
      eta = this.eta();
      parts.push(`${count(Math.round(prompts / Math.max(elapsed, 1e-9)))} prompts/s`);
    } else if (this.computed > 0) {
      const rate = this.computed / Math.max(elapsed, 1e-9);
      eta = (this.total - this.done) / rate;
      parts.push(`${rate.toFixed(2)} images/s`);
    }
    parts.push(`${fmtDuration(elapsed)} elapsed`, `ETA ${fmtDuration(eta)}`);
    if (this.current) parts.push(this.current);
    return parts.join(' · ');
  }
}
