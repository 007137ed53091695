/**
 * The process's stdout and stderr as a batch run needs them: a reader that goes away (`sam-amg … 2>&1 | head -1`,
 * a closed terminal) must never cost the output. Node reports a write to a closed pipe as an 'error' event on
 * the stream, which ends the process when nobody listens; here a listener notes it and later writes are dropped.
 */

const closed = new WeakSet<NodeJS.WritableStream>();
const guarded = new WeakSet<NodeJS.WritableStream>();

/** Listens for write errors on `streams` (default stdout and stderr), once per stream. */
export function guardStdStreams(streams: NodeJS.WritableStream[] = [process.stdout, process.stderr]): void {
  for (const s of streams) {
    if (guarded.has(s)) continue;
    guarded.add(s);
    s.on('error', () => closed.add(s));
  }
}

/** Whether a write to `stream` has failed (EPIPE and the like): nothing more reaches its reader. */
export function isClosed(stream: NodeJS.WritableStream): boolean {
  return closed.has(stream) || ('destroyed' in stream && stream.destroyed === true);
}

/** Writes `text` unless the stream is closed; never throws. */
export function safeWrite(stream: NodeJS.WritableStream, text: string): void {
  if (isClosed(stream)) return;
  try {
    stream.write(text);
  } catch {
    closed.add(stream);
  }
}

/** Writes one `sam-amg: …` line to stderr. */
export function say(message: string): void {
  safeWrite(process.stderr, `sam-amg: ${message}\n`);
}
