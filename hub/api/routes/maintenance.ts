import { MAX_MAINTENANCE_DAYS } from '../../core/model.ts';
import { badRequest } from '../errors.ts';

/**
 * Checks a maintenance end: in the future (or now, to end it) and never more than
 * MAX_MAINTENANCE_DAYS ahead. A door alarm switched off "for a while" and forgotten for months
 * is how a resident with dementia walked out unnoticed; maintenance always ends by itself.
 */
export function maintenanceUntil(until: string, now: Date): Date | null {
  const t = new Date(until);
  if (t.getTime() <= now.getTime()) return null;
  if (t.getTime() - now.getTime() > MAX_MAINTENANCE_DAYS * 86_400_000) {
    throw badRequest(`body/until: maintenance may last at most ${MAX_MAINTENANCE_DAYS} days`);
  }
  return t;
}
