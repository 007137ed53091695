/**
 * Node side: the worker-thread entry of the post-processing pool (postprocess-pool.ts). It runs the same
 * evaluateCandidates as inline evaluation, so outcomes are identical wherever they are computed. A task's logits are
 * a view of memory shared with the pool (read in place, never written); what comes back is the worker's own.
 */
import { parentPort } from 'node:worker_threads';
import { evaluateCandidates, MaskerCache, type CandidateOutcome, type EvaluationRequest } from '../mask/evaluator.js';
import { errorMessage } from '../base/errors.js';

/** A task from the pool, and the reply. */
export interface WorkerTask {
  id: number;
  request: EvaluationRequest;
}
export type WorkerReply = { id: number; outcomes: CandidateOutcome[] } | { id: number; error: string };

const cache = new MaskerCache();
const port = parentPort;
if (port === null) throw new Error('postprocess-worker: must run as a worker thread');
port.on('message', (task: WorkerTask) => {
  try {
    const outcomes = evaluateCandidates(task.request, cache);
    // The masks' runs and kept logits move to the main thread without a copy.
    const transfer: ArrayBuffer[] = [];
    for (const o of outcomes) {
      if (o.kind === 'evaluated' && o.mask !== null) transfer.push(o.mask.rle.counts.buffer as ArrayBuffer);
      if (o.kind === 'deferred') transfer.push(o.logits.buffer as ArrayBuffer);
    }
    const reply: WorkerReply = { id: task.id, outcomes };
    port.postMessage(reply, transfer);
  } catch (err) {
    const reply: WorkerReply = { id: task.id, error: errorMessage(err) };
    port.postMessage(reply);
  }
});
