/**
 * Ends the run with one plain line, "N passed, N failed, N skipped", that any CI can read. A file
 * or suite that failed outside its tests (an import, a hook) counts as failed too, with its
 * tests that never ran counted as skipped, so the line never says "0 failed" on a red run.
 */
import type { Reporter, TestModule } from 'vitest/node';

export default class SummaryReporter implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    for (const m of modules) {
      if (m.state() === 'failed' && m.errors().length > 0) failed++;
      for (const s of m.children.allSuites()) if (s.state() === 'failed' && s.errors().length > 0) failed++;
      for (const t of m.children.allTests()) {
        const state = t.result().state;
        if (state === 'passed') passed++;
        else if (state === 'failed') failed++;
        else skipped++;
      }
    }
    process.stdout.write(`\n${passed} passed, ${failed} failed, ${skipped} skipped\n`);
  }
}
