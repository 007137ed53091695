/**
 * Sharding a run over many machines: shard K of N (0-based, like JOB_COMPLETION_INDEX and SLURM_ARRAY_TASK_ID)
 * takes one contiguous block of the sorted input list. The partition depends only on the sorted list and N, so
 * N machines that see the same inputs split them the same way, and concatenating the shards in index order gives
 * the single run's order back (which is what makes `sam-amg merge` byte-identical to a single run).
 */

/** One shard of a run. */
export interface Shard {
  /** 0-based index, 0 ≤ index < count. */
  index: number;
  count: number;
}

/** Where a shard came from (for messages). */
export interface ResolvedShard extends Shard {
  source: string;
}

/** A usage error in the shard flags or environment. */
export class ShardError extends Error {}

/** The largest shard count accepted (a guard against typos such as 3/30000000). */
export const MAX_SHARDS = 100_000;

/**
 * The half-open range [start, end) of sorted positions that shard `index` of `count` takes from `total` items:
 * start = ⌊index·total/count⌋, end = ⌊(index+1)·total/count⌋. Blocks differ in size by at most one, and shards
 * past the end of a short list are empty.
 */
export function shardRange(total: number, shard: Shard): [number, number] {
  checkShard(shard);
  if (!Number.isSafeInteger(total) || total < 0) throw new ShardError(`shard: total must be a non-negative integer, got ${total}`);
  // BigInt keeps index·total exact for any list length.
  const start = Number((BigInt(shard.index) * BigInt(total)) / BigInt(shard.count));
  const end = Number((BigInt(shard.index + 1) * BigInt(total)) / BigInt(shard.count));
  return [start, end];
}

/** The items of `sorted` that belong to `shard` (a contiguous block; see {@link shardRange}). */
export function shardItems<T>(sorted: readonly T[], shard: Shard): T[] {
  const [start, end] = shardRange(sorted.length, shard);
  return sorted.slice(start, end);
}

/** Parses "K/N" (0 ≤ K < N). */
export function parseShard(spec: string): Shard {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/u.exec(spec);
  if (!m) throw new ShardError(`--shard: expected K/N with 0 ≤ K < N (0-based, e.g. 0/4), got '${spec}'`);
  const shard = { index: Number(m[1]), count: Number(m[2]) };
  checkShard(shard, '--shard');
  return shard;
}

/** Throws a ShardError unless 0 ≤ index < count ≤ MAX_SHARDS, integers. */
export function checkShard(shard: Shard, what = 'shard'): void {
  const { index, count } = shard;
  if (!Number.isSafeInteger(count) || count < 1 || count > MAX_SHARDS) {
    throw new ShardError(`${what}: the shard count must be an integer from 1 to ${MAX_SHARDS}, got ${count}`);
  }
  if (!Number.isSafeInteger(index) || index < 0 || index >= count) {
    throw new ShardError(`${what}: the shard index must be an integer with 0 ≤ index < ${count} (0-based), got ${index}`);
  }
}

/**
 * The shard a run takes, from `--shard` and `--shard-count` and the environment:
 *
 * - `--shard K/N`: that shard. `--shard none`: no sharding, whatever the environment says.
 * - `--shard auto` or no flag: from the environment when it names a shard, else no sharding:
 *   - `SLURM_ARRAY_TASK_ID` with the count from `--shard-count`, `SAM_AMG_SHARD_COUNT` or
 *     `SLURM_ARRAY_TASK_COUNT` (in that order). Give the count explicitly when resubmitting single tasks
 *     (`sbatch --array=4` has SLURM_ARRAY_TASK_COUNT=1).
 *   - `JOB_COMPLETION_INDEX` (Kubernetes Indexed Job) with the count from `--shard-count` or
 *     `SAM_AMG_SHARD_COUNT` (Kubernetes does not tell a pod the Job's `completions`).
 * - `--shard-count N` alone, outside such an environment, is an error (the index is missing).
 */
export function resolveShard(
  flag: string | undefined,
  countFlag: number | undefined,
  env: NodeJS.ProcessEnv = process.env,
): ResolvedShard | undefined {
  if (countFlag !== undefined && (!Number.isSafeInteger(countFlag) || countFlag < 1 || countFlag > MAX_SHARDS)) {
    throw new ShardError(`--shard-count must be an integer from 1 to ${MAX_SHARDS}, got ${countFlag}`);
  }
  const mode = flag?.trim() ?? 'auto';
  if (mode === 'none') {
    if (countFlag !== undefined) throw new ShardError('--shard-count cannot be used with --shard none');
    return undefined;
  }
  if (mode !== 'auto') {
    const shard = parseShard(mode);
    if (countFlag !== undefined && countFlag !== shard.count) {
      throw new ShardError(`--shard ${mode} says ${shard.count} shards but --shard-count says ${countFlag}`);
    }
    return { ...shard, source: `--shard ${mode}` };
  }
  const envCount = envInt(env, 'SAM_AMG_SHARD_COUNT');
  const slurmId = envInt(env, 'SLURM_ARRAY_TASK_ID');
  if (slurmId !== undefined) {
    const count = countFlag ?? envCount ?? envInt(env, 'SLURM_ARRAY_TASK_COUNT');
    if (count === undefined) throw new ShardError('SLURM_ARRAY_TASK_ID is set but no shard count: give --shard-count N');
    const from = countFlag !== undefined ? '--shard-count' : envCount !== undefined ? 'SAM_AMG_SHARD_COUNT' : 'SLURM_ARRAY_TASK_COUNT';
    const shard = { index: slurmId, count };
    checkShard(shard, `SLURM_ARRAY_TASK_ID=${slurmId} with ${from}=${count}`);
    return { ...shard, source: `SLURM_ARRAY_TASK_ID=${slurmId}, ${from}=${count}` };
  }
  const k8sIndex = envInt(env, 'JOB_COMPLETION_INDEX');
  if (k8sIndex !== undefined) {
    const count = countFlag ?? envCount;
    if (count === undefined) {
      throw new ShardError('JOB_COMPLETION_INDEX is set but no shard count: give --shard-count N (the Job\'s completions) or SAM_AMG_SHARD_COUNT, or --shard none');
    }
    const from = countFlag !== undefined ? '--shard-count' : 'SAM_AMG_SHARD_COUNT';
    const shard = { index: k8sIndex, count };
    checkShard(shard, `JOB_COMPLETION_INDEX=${k8sIndex} with ${from}=${count}`);
    return { ...shard, source: `JOB_COMPLETION_INDEX=${k8sIndex}, ${from}=${count}` };
  }
  if (countFlag !== undefined) {
    throw new ShardError('--shard-count needs a shard index: --shard K/N, or JOB_COMPLETION_INDEX / SLURM_ARRAY_TASK_ID in the environment');
  }
  return undefined;
}

function envInt(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const v = env[name];
  if (v === undefined || v.trim() === '') return undefined;
  if (!/^\s*\d+\s*$/u.test(v)) throw new ShardError(`${name}='${v}' is not a non-negative integer`);
  return Number(v);
}
