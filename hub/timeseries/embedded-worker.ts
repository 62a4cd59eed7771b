/**
 * The worker thread that holds the embedded time-series file (see embedded.ts): answers each
 * `{ id, method, args }` with `{ id, result }` or `{ id, error }`, one at a time, in order.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { EmbeddedSeriesFile, type Method } from './embedded.ts';

const file = new EmbeddedSeriesFile((workerData as { dataDir: string }).dataDir);
type Call = { id: number; method: Method; args: unknown[] };

parentPort?.on('message', (m: Call) => {
  void (async () => {
    try {
      const result = await (file[m.method] as (...a: unknown[]) => Promise<unknown>).apply(file, m.args);
      parentPort?.postMessage({ id: m.id, result });
    } catch (err) {
      parentPort?.postMessage({ id: m.id, error: err instanceof Error ? err.message : String(err) });
    }
  })();
});
