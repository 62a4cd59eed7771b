import { describe, expect, it } from 'vitest';
import { HealthMonitor } from '../../hub/health.ts';
import { tempDir } from '../helpers/hub.ts';

const quiet = { timeseriesPending: 0, timeseriesThreshold: 1000, scheduler: { lastPassAt: null, lastError: null, tickMs: 250 } };

function monitor() {
  let now = 1_000_000;
  const m = new HealthMonitor(tempDir('health-'), () => now);
  return { m, advance: (ms: number) => { now += ms; }, at: () => now };
}
const full = Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });

describe('health', () => {
  it('is ok with nothing to say', () => {
    expect(monitor().m.report(quiet)).toEqual({ status: 'ok', reasons: [] });
  });
  it('is failing while the last write failed, and degraded for five minutes once writes succeed again', () => {
    const { m, advance } = monitor();
    m.storeOk();
    advance(10);
    m.storeFailed(full);
    expect(m.report(quiet)).toMatchObject({ status: 'failing', reasons: [expect.stringContaining('SQLITE_FULL')] });
    advance(10);
    m.storeOk();
    expect(m.report(quiet).status).toBe('degraded');
    advance(5 * 60_000 + 1);
    expect(m.report(quiet).status).toBe('ok');
  });
  it('is failing when writes keep failing though small ones succeed between them', () => {
    const { m, advance } = monitor();
    for (let i = 0; i < 3; i++) { m.storeFailed(full); advance(100); m.storeOk(); advance(100); }
    expect(m.report(quiet).status).toBe('failing');
    advance(6000);
    expect(m.report(quiet).status).toBe('degraded');
  });
  it('is degraded by a time-series backlog, a late or failing scheduler; failing while shutting down', () => {
    const { m, at, advance } = monitor();
    expect(m.report({ ...quiet, timeseriesPending: 1001 }).reasons[0]).toMatch(/1001 points/);
    const passed = at();
    advance(10_000);
    expect(m.report({ ...quiet, scheduler: { lastPassAt: passed, lastError: null, tickMs: 250 } })).toMatchObject({ status: 'degraded', reasons: [expect.stringMatching(/no pass for 10000 ms/)] });
    expect(m.report({ ...quiet, scheduler: { lastPassAt: at(), lastError: 'boom', tickMs: 250 } }).reasons).toEqual([expect.stringContaining('boom')]);
    m.stopping();
    expect(m.report(quiet).status).toBe('failing');
  });
});
