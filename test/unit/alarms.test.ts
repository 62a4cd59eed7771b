import { describe, expect, it } from 'vitest';
import { say } from '../../hub/core/said.ts';
import {
  type Alarm, type AlarmPolicy, acknowledge, byUrgency, clear, DEFAULT_POLICY, escalate, raise, repeat, residentCancel, resolve,
} from '../../hub/core/alarms.ts';
import type { RaiseSpec } from '../../hub/core/rules.ts';

const t0 = new Date('2026-11-22T02:00:00Z');
const at = (s: number) => new Date(t0.getTime() + s * 1000);
const care: RaiseSpec = { ruleId: 'r1', alarmType: 'button_pressed', priority: 3, category: 'care' };
const tech: RaiseSpec = { ruleId: 'r2', alarmType: 'device_offline', priority: 2, category: 'technical' };
const ola = { id: 'u1', name: 'ola' };
const kari = { id: 'u2', name: 'kari' };
const policy: AlarmPolicy = { ...DEFAULT_POLICY, ackDeadlineSeconds: [60, 120, 300, 900, 3600], escalationRepeatSeconds: 30, cancelGraceSeconds: 60 };
const open = (spec = care, now = t0): Alarm => raise({ id: 'a1', tenantId: '0301', residentId: 'r', deviceId: 'd', spec }, now, policy).alarm;

describe('raising and repeats', () => {
  it('opens with a deadline by priority and a raised transition by the system', () => {
    const s = raise({ id: 'a1', tenantId: '0301', residentId: 'r', deviceId: 'd', spec: care }, t0, policy);
    expect(s.alarm).toMatchObject({ state: 'open', priority: 3, count: 1, nextEscalationAt: at(300).toISOString(), escalationLevel: 0 });
    expect(s.transitions).toEqual([{ at: t0.toISOString(), actor: { type: 'system', name: 'system' }, action: 'raised', fromState: null, toState: 'open', priority: 3, detail: null, said: null }]);
  });
  it('counts repeats on the same alarm and never lowers urgency', () => {
    const a = open();
    const r1 = repeat(a, { ...care, priority: 4 }, at(5));
    expect(r1.alarm).toMatchObject({ count: 2, priority: 3 });
    const r2 = repeat(r1.alarm, { ...care, priority: 1 }, at(6));
    expect(r2.alarm).toMatchObject({ count: 3, priority: 1 });
    expect(r2.transitions[0]).toMatchObject({ action: 'repeated', toState: 'open' });
  });
});

describe('acknowledge and resolve', () => {
  it('lets one operator claim; a second gets a refusal naming the holder; the holder again is a no-op', () => {
    const first = acknowledge(open(), ola, at(20));
    expect(first.ok).toBe(true);
    if (!first.ok) return;
    expect(first.alarm).toMatchObject({ state: 'acknowledged', acknowledgedBy: ola, acknowledgedAt: at(20).toISOString(), nextEscalationAt: null });
    expect(first.transitions[0]).toMatchObject({ action: 'acknowledged', actor: { type: 'user', id: 'u1', name: 'ola' }, fromState: 'open', toState: 'acknowledged' });
    const second = acknowledge(first.alarm, kari, at(21));
    expect(second).toMatchObject({ ok: false, code: 'held_by_other' });
    expect(!second.ok && second.message).toContain('ola');
    expect(acknowledge(first.alarm, ola, at(22))).toMatchObject({ ok: true, transitions: [] });
  });
  it('resolves with reason and note; an open alarm is claimed and resolved in one go, both recorded', () => {
    const r = resolve(open(), kari, 'resolved_by_phone', 'Snakket med bruker, alt i orden', at(40));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.alarm).toMatchObject({ state: 'resolved', acknowledgedBy: kari, resolvedBy: kari, resolution: { reason: 'resolved_by_phone', note: 'Snakket med bruker, alt i orden' } });
    expect(r.transitions.map((t) => t.action)).toEqual(['acknowledged', 'resolved']);
    expect(resolve(r.alarm, kari, 'other', 'again', at(41))).toMatchObject({ ok: false, code: 'already_resolved' });
    expect(acknowledge(r.alarm, ola, at(42))).toMatchObject({ ok: false, code: 'already_resolved' });
  });
  it('refuses to resolve an alarm another operator holds', () => {
    const held = acknowledge(open(), ola, at(5));
    if (!held.ok) throw new Error('unexpected');
    expect(resolve(held.alarm, kari, 'false_alarm', 'n', at(6))).toMatchObject({ ok: false, code: 'held_by_other' });
  });
});

describe('escalation', () => {
  it('fires at the deadline, raises the priority one step at a time, repeats, and stops on acknowledge', () => {
    let a = open();
    expect(escalate(a, at(299), policy)).toBeNull();
    const steps: { at: number; priority: number }[] = [];
    for (let s = 300; s <= 420; s += 1) {
      const e = escalate(a, at(s), policy);
      if (e) {
        a = e.alarm;
        steps.push({ at: s, priority: a.priority });
        expect(e.transitions[0]).toMatchObject({ action: 'escalated', actor: { type: 'system' } });
      }
    }
    expect(steps).toEqual([{ at: 300, priority: 2 }, { at: 330, priority: 1 }, { at: 360, priority: 1 }, { at: 390, priority: 1 }, { at: 420, priority: 1 }]);
    expect(a.escalationLevel).toBe(5);
    const acked = acknowledge(a, ola, at(421));
    if (!acked.ok) throw new Error('unexpected');
    expect(escalate(acked.alarm, at(10_000), policy)).toBeNull();
  });
  it('orders the queue by urgency, then age', () => {
    const list = [
      { priority: 3, createdAt: at(0).toISOString(), id: 'c' },
      { priority: 1, createdAt: at(10).toISOString(), id: 'b' },
      { priority: 1, createdAt: at(5).toISOString(), id: 'a' },
    ];
    expect([...list].sort(byUrgency).map((x) => x.id)).toEqual(['a', 'b', 'c']);
  });
});

describe('resident cancel and automatic clearing', () => {
  it('within the grace period closes an open care alarm as cancelled by the resident', () => {
    const s = residentCancel(open(), at(45), policy);
    expect(s?.alarm).toMatchObject({ state: 'resolved', resolution: { reason: 'cancelled_by_resident' } });
    expect(s?.transitions[0]).toMatchObject({ action: 'cancelled_by_resident', actor: { type: 'system', name: 'resident' } });
  });
  it('after the grace period is recorded and the alarm stays for an operator', () => {
    const s = residentCancel(open(), at(61), policy);
    expect(s?.alarm.state).toBe('open');
    expect(s?.transitions[0]).toMatchObject({ action: 'resident_cancelled_late' });
  });
  it('leaves a claimed alarm with its operator', () => {
    const held = acknowledge(open(), ola, at(5));
    if (!held.ok) throw new Error('unexpected');
    expect(residentCancel(held.alarm, at(10), policy)?.alarm.state).toBe('acknowledged');
  });
  it('clears technical alarms only', () => {
    const step = clear(open(tech), say('reported_again', { eventType: 'heartbeat' }), at(100));
    expect(step?.alarm).toMatchObject({ state: 'resolved', resolvedBy: { id: null, name: 'system' }, resolution: { reason: 'condition_cleared', note: 'device reported again (heartbeat)' } });
    expect(step?.transitions[0]).toMatchObject({ detail: 'device reported again (heartbeat)', said: { code: 'reported_again', params: { eventType: 'heartbeat' } } });
    expect(clear(open(care), say('connected_again'), at(100))).toBeNull();
  });
});
