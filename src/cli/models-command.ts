/**
 * `sam-amg models list | pull <id> | info <id|folder>`.
 */
import { Command } from 'commander';
import { cachedSnapshot, DEFAULT_MODEL_ID, formatProgress, hubCacheDir, KNOWN_MODELS, parseHubId, resolveModel } from '../node/hub/index.js';
import { parseDtype } from '../model/dtype.js';
import { describeModel } from '../node/describe.js';
import { errorMessage } from '../base/errors.js';

/** The `models` command group; `setCode` receives each subcommand's exit code. */
export function buildModelsCommand(setCode: (code: number) => void): Command {
  const models = new Command('models').description('list, download and inspect models');
  const guard = async (fn: () => Promise<void>): Promise<void> => {
    try {
      await fn();
      setCode(0);
    } catch (err) {
      process.stderr.write(`sam-amg: ${errorMessage(err)}\n`);
      setCode(2);
    }
  };
  models
    .command('list')
    .description('known hub models with sizes and dtypes')
    .action(() =>
      guard(async () => {
        const cache = hubCacheDir();
        const rows = KNOWN_MODELS.map((m) => {
          const cached = cachedSnapshot(m.id, 'main', cache) ? 'cached' : '';
          return `${m.id === DEFAULT_MODEL_ID ? '*' : ' '} ${m.id.padEnd(42)} ${m.family.padEnd(5)} ${`~${m.approxSizeMB.fp32} MB fp32, ~${m.approxSizeMB.q8} MB q8`.padEnd(28)} ${m.dtypes.join(',').padEnd(40)} ${cached}`;
        });
        process.stdout.write(`${rows.join('\n')}\n(* default; sizes are approximate)\n`);
      }),
    );
  models
    .command('pull <id>')
    .description('download a model into the Hugging Face cache (no images processed)')
    .option('--dtype <name>', 'dtype to fetch', 'fp32')
    .action((id: string, o: { dtype: string }) =>
      guard(async () => {
        const r = await resolveModel(id, { dtype: parseDtype(o.dtype), onProgress: (p) => process.stderr.write(`${formatProgress(p)}\r${p.done ? '\n' : ''}`) });
        process.stdout.write(`${r.id}${r.commit ? `@${r.commit}` : ''} → ${r.dir}${r.fromCache ? ' (already cached)' : ''}\n`);
      }),
    );
  models
    .command('info <model>')
    .description('family, layout, inputs/outputs, dtype files present, cache path')
    .option('--dtype <name>', 'dtype to inspect', 'fp32')
    .action((spec: string, o: { dtype: string }) =>
      guard(async () => {
        const hub = parseHubId(spec);
        const dir = hub && !cachedSnapshot(hub.id, hub.revision ?? 'main', hubCacheDir()) ? undefined : (await resolveModel(spec, { offline: true, dtype: parseDtype(o.dtype) })).dir;
        if (!dir) throw new Error(`model ${spec} is not in the local cache (${hubCacheDir()}); run 'sam-amg models pull ${spec}' first`);
        process.stdout.write(`${await describeModel(dir, parseDtype(o.dtype))}\n`);
      }),
    );
  return models;
}
