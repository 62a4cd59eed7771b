/**
 * The operator's list of open and acknowledged alarms, kept from the live channel's messages.
 * Pure: a state and a message in, the next state out. The list is only as fresh as the last
 * message; `synced` says whether it is known to be complete.
 */
import { type Alarm, byUrgency } from '../../../hub/core/alarms.ts';
import type { LiveMessage } from '../../../hub/live/live.ts';

export type AlarmsState = {
  alarms: Map<string, Alarm>;
  epoch: string | null;
  seq: number;
  /** True between a snapshot or resume and the loss of the connection. */
  synced: boolean;
};

export const EMPTY: AlarmsState = { alarms: new Map(), epoch: null, seq: 0, synced: false };

export function apply(state: AlarmsState, m: LiveMessage): AlarmsState {
  switch (m.type) {
    case 'snapshot':
      return { alarms: new Map(m.alarms.map((a) => [a.id, a])), epoch: m.epoch, seq: m.seq, synced: true };
    case 'resume':
      return { ...state, epoch: m.epoch, seq: m.seq, synced: true };
    case 'alarm': {
      if (m.seq <= state.seq) return state; // already applied
      const alarms = new Map(state.alarms);
      const known = alarms.get(m.alarm.id);
      // Messages arrive in order; an older copy never replaces a newer one.
      if (!known || Date.parse(m.alarm.updatedAt) >= Date.parse(known.updatedAt)) {
        if (m.alarm.state === 'resolved') alarms.delete(m.alarm.id);
        else alarms.set(m.alarm.id, m.alarm);
      }
      return { ...state, alarms, seq: m.seq };
    }
  }
}

/** The connection is gone: keep the list, but it is no longer known to be complete. */
export function disconnected(state: AlarmsState): AlarmsState {
  return { ...state, synced: false };
}

/** Most urgent first: priority, then the oldest. */
export function queue(state: AlarmsState): Alarm[] {
  return [...state.alarms.values()].sort(byUrgency);
}

/** Alarms in `next` that were not in `prev`: the ones to announce. */
export function newlyRaised(prev: AlarmsState, next: AlarmsState): Alarm[] {
  return [...next.alarms.values()].filter((a) => !prev.alarms.has(a.id) && a.state === 'open');
}
