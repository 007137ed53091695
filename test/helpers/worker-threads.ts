/**
 * Setup file of every test worker (vitest.config.ts): one ONNX Runtime intra-op thread per session.
 *
 * Two forks share the two cores of the CI machine, so a session with a thread per core (the CLI's and library's
 * default, from os.availableParallelism()) puts four busy threads on two cores, and ONNX Runtime's pool spins while
 * it waits: the same records cost 15–30 % more CPU. Records do not depend on the thread count (the fixture and
 * conformance models give byte-identical records with 1, 2 and 4 threads), so the tests run with one. Child
 * processes of bin/sam-amg.js are told with `--threads 1` where a test passes FAST (test/helpers/batch.ts, scale.ts).
 */
import os from 'node:os';

os.availableParallelism = (): number => 1;
