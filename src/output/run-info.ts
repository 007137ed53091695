/**
 * The info block of a run, built in one place for the CLI (src/cli/run-command.ts) and the browser page
 * (web/app/coco.ts), so that the same model, options and records give the same bytes from both. Browser-safe.
 */
import { optionsRecord, type AmgOptions } from '../amg/options.js';
import { VERSION } from '../base/version.js';
import type { RunInfo, ShardInfo } from './coco.js';

/** What the info block says about a run, before its errors are known. */
export interface RunInfoParams {
  /** The model as the user named it (the CLI's --model argument: a folder or a hub id). */
  model: string;
  /** sha256 of the model's encoder and decoder files (src/node/model-folder.ts `modelSha256`). */
  modelSha256: string;
  /** The options the generator runs with (resolved: every value set); written in snake_case. */
  options: AmgOptions;
  /** ISO 8601, or null to leave date_created out (byte-identical reruns). */
  date: string | null;
  /** Only for one shard of a larger run. */
  shard?: ShardInfo;
}

/** The info block without errors: this package's version, the date, the model and every option. */
export function runInfo(p: RunInfoParams): Omit<RunInfo, 'errors'> {
  return {
    version: VERSION,
    date: p.date,
    model: p.model,
    modelSha256: p.modelSha256,
    options: optionsRecord(p.options),
    ...(p.shard ? { shard: p.shard } : {}),
  };
}
