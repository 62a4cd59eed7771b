/**
 * The worker thread that holds the embedded time-series file (see embedded.ts): answers each
 * `{ id, method, args }` with `{ id, result }` or `{ id, error }`, in order. Writes that arrive
 * together (the slices of one flush) are committed together, before any later call runs.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { EmbeddedSeriesFile, type Method } from './embedded.ts';
import type { Point } from './types.ts';

const file = new EmbeddedSeriesFile((workerData as { dataDir: string }).dataDir);
type Call = { id: number; method: Method; args: unknown[] };

let writes: Call[] = [];

/** How a failed call is answered: its message. */
const failure = (id: number, err: unknown) => parentPort?.postMessage({ id, error: err instanceof Error ? err.message : String(err) });

function commitWrites(): void {
  if (writes.length === 0) return;
  const batch = writes;
  writes = [];
  try {
    file.writeMany(batch.map((c) => c.args[0] as Point[]));
    for (const c of batch) parentPort?.postMessage({ id: c.id, result: undefined });
  } catch (err) {
    for (const c of batch) failure(c.id, err);
  }
}

parentPort?.on('message', (m: Call) => {
  if (m.method === 'write') {
    writes.push(m);
    if (writes.length === 1) setImmediate(commitWrites);
    return;
  }
  // What was written before a call is there for it.
  commitWrites();
  void (async () => {
    try {
      const result = await (file[m.method] as (...a: unknown[]) => Promise<unknown>).apply(file, m.args);
      parentPort?.postMessage({ id: m.id, result });
    } catch (err) {
      failure(m.id, err);
    }
  })();
});
