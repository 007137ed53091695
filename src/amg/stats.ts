/**
 * Where one generator's work and time go: the lifetime counters (GeneratorStats, read by the benchmark) and each
 * generate() call's progress reports (GenerateProgress, read by the CLI and the web page), kept by one ledger per
 * call that updates both from the same events. The generator owns the ledger; the crop post-processor records its
 * filter counts and its time in it.
 */

/** Work counters and timings of the last generate() calls, for the benchmark and progress display. */
export interface GeneratorStats {
  crops: number;
  prompts: number;
  candidates: number;
  afterIou: number;
  afterStability: number;
  afterEdge: number;
  afterCropNms: number;
  afterCrossCropNms: number;
  final: number;
  postprocessS: number;
  nmsS: number;
  smallRegionsS: number;
  /** Time JavaScript spent waiting for a decoder batch it had nothing else to do for (ORT was the bottleneck). */
  decodeWaitS: number;
}

/**
 * Progress of one MaskGenerator.generate() call, reported after each crop's encoder run, after each decoder
 * batch and once at the end (`done`). Times are this call's own, in milliseconds: encoder runs (pre-processing
 * included), waiting for decoder batches, and post-processing in JavaScript (filters, NMS, small regions).
 */
export interface GenerateProgress {
  crops: number;
  cropsDone: number;
  prompts: number;
  promptsDone: number;
  encoderMs: number;
  decoderMs: number;
  postprocessMs: number;
  done: boolean;
  /**
   * Tiled mode only: `crops` and `cropsDone` count tiles (`cropsDone` when a tile's encoder has run), `finished`
   * the tiles done (reported after each), both including the `restored` tiles (finished by an earlier run); `prompts`
   * counts only the prompts of the tiles this call computes.
   */
  tiles?: { restored: number; finished: number };
}

/** The counters of {@link GeneratorStats} that count masks through the filters. */
export type FilterCounter = 'candidates' | 'afterIou' | 'afterStability' | 'afterEdge' | 'afterCropNms' | 'afterCrossCropNms' | 'final';

export function emptyStats(): GeneratorStats {
  return {
    crops: 0,
    prompts: 0,
    candidates: 0,
    afterIou: 0,
    afterStability: 0,
    afterEdge: 0,
    afterCropNms: 0,
    afterCrossCropNms: 0,
    final: 0,
    postprocessS: 0,
    nmsS: 0,
    smallRegionsS: 0,
    decodeWaitS: 0,
  };
}

/**
 * The ledger of one generate() call: every event adds to the generator's lifetime stats and to this call's
 * progress at once, so the two cannot disagree. Post-processing time in the progress is the sum of the stats'
 * post-processing, NMS and small-region times.
 */
export class CallLedger {
  private encoderS = 0;
  private decoderS = 0;
  private postprocessS = 0;
  private cropsDone = 0;
  private promptsDone = 0;
  private tilesFinished = 0;

  /**
   * @param stats the generator's lifetime stats, added to
   * @param crops crops (or tiles) and prompts this call will run (the progress's totals)
   * @param restoredTiles tiled mode: the tiles an earlier run finished (they count as done); undefined for crops
   */
  constructor(
    private readonly stats: GeneratorStats,
    private readonly crops: number,
    private readonly prompts: number,
    private readonly onProgress?: (p: GenerateProgress) => void,
    private readonly restoredTiles?: number,
  ) {
    if (restoredTiles !== undefined) {
      this.cropsDone = restoredTiles;
      this.tilesFinished = restoredTiles;
    }
  }

  /** Tiled mode: reading a tile's pixels took `seconds` (counted with the encoder, as pre-processing). */
  tileRead(seconds: number): void {
    this.encoderS += seconds;
  }

  /** Tiled mode: a tile is finished (its records kept). */
  tileDone(): void {
    this.tilesFinished++;
    this.report(false);
  }

  /** A crop's encoder run (pre-processing included) took `seconds`. */
  cropEncoded(seconds: number): void {
    this.encoderS += seconds;
    this.stats.crops++;
    this.cropsDone++;
    this.report(false);
  }

  /** Waited `seconds` for a decoder batch with nothing else to do. */
  decoderWaited(seconds: number): void {
    this.stats.decodeWaitS += seconds;
    this.decoderS += seconds;
  }

  /** Spent `seconds` in extra decoder runs of a batch (use_m2m's refinement). */
  decoderRan(seconds: number): void {
    this.decoderS += seconds;
  }

  /** A batch of `count` prompts went through the per-batch filters. */
  batchDone(count: number): void {
    this.stats.prompts += count;
    this.promptsDone += count;
    this.report(false);
  }

  /** Spent `seconds` post-processing candidates (filters, masks, RLE; turns given to the event loop excluded). */
  postprocessed(seconds: number): void {
    this.stats.postprocessS += seconds;
    this.postprocessS += seconds;
  }

  /** Spent `seconds` in NMS (within a crop or across crops). */
  nms(seconds: number): void {
    this.stats.nmsS += seconds;
    this.postprocessS += seconds;
  }

  /** Spent `seconds` removing small regions. */
  smallRegions(seconds: number): void {
    this.stats.smallRegionsS += seconds;
    this.postprocessS += seconds;
  }

  /** `n` masks reached the filter stage `counter`. */
  count(counter: FilterCounter, n = 1): void {
    this.stats[counter] += n;
  }

  /** The call is over: the last progress report. */
  finish(): void {
    this.report(true);
  }

  private report(done: boolean): void {
    this.onProgress?.({
      crops: this.crops,
      cropsDone: this.cropsDone,
      prompts: this.prompts,
      promptsDone: this.promptsDone,
      encoderMs: this.encoderS * 1000,
      decoderMs: this.decoderS * 1000,
      postprocessMs: this.postprocessS * 1000,
      done,
      ...(this.restoredTiles !== undefined ? { tiles: { restored: this.restoredTiles, finished: this.tilesFinished } } : {}),
    });
  }
}
