/**
 * Onboarding by the hundred: a CSV file of devices checked row by row. Pure: text and look-ups
 * in, rows to create or every error by line out (the look-ups are the caller's).
 *
 * A header row names the columns `tenantId, kind, serial, residentId, heartbeatIntervalSeconds`
 * (the last two optional), in any order; UTF-8 with or without a byte-order mark; comma or
 * semicolon as the separator (Norwegian spreadsheets write semicolons), told from the header.
 * Every error has a code and its values, so the dashboard can say it in Norwegian, and a reason
 * in English for the API.
 */
import { parse } from 'csv-parse/sync';
import { DEVICE_KINDS, type DeviceKind } from './events.ts';

export const IMPORT_COLUMNS = ['tenantId', 'kind', 'serial', 'residentId', 'heartbeatIntervalSeconds'] as const;
const REQUIRED = ['tenantId', 'kind', 'serial'] as const;
export const MAX_IMPORT_ROWS = 5000;
const MIN_INTERVAL = 10;
const MAX_INTERVAL = 7 * 24 * 3600;

export const IMPORT_ERROR_CODES = [
  'empty_file', 'not_csv', 'too_many_rows', 'unknown_column', 'missing_column', 'field_count', 'missing_field',
  'bad_tenant', 'unknown_tenant', 'bad_kind', 'serial_too_long', 'duplicate_serial_in_file', 'serial_taken', 'unknown_resident', 'bad_interval',
] as const;
export type ImportErrorCode = (typeof IMPORT_ERROR_CODES)[number];
export type ImportError = { line: number; code: ImportErrorCode; reason: string; params: Record<string, string | number> };
export type ImportRow = { line: number; tenantId: string; kind: DeviceKind; serial: string; residentId?: string; heartbeatIntervalSeconds?: number };

export type ImportLookups = {
  /** Whether the municipality exists and the importing user serves it. */
  tenantUsable(tenantId: string): boolean;
  residentIn(tenantId: string, residentId: string): boolean;
  serialTaken(tenantId: string, serial: string): boolean;
};

const err = (line: number, code: ImportErrorCode, reason: string, params: Record<string, string | number> = {}): ImportError => ({ line, code, reason, params });

export function checkImport(text: string, look: ImportLookups): { rows: ImportRow[]; errors: ImportError[] } {
  const body = text.replace(/^\uFEFF/, '');
  const headerLine = body.split(/\r?\n/, 1)[0] ?? '';
  if (body.trim() === '') return { rows: [], errors: [err(1, 'empty_file', 'the file is empty; it needs a header row and a row per device')] };
  const delimiter = headerLine.includes(';') ? ';' : ',';
  let records: { record: Record<string, string>; info: { lines: number } }[];
  let raw: string[][];
  try {
    raw = parse(body, { delimiter, relax_column_count: true, skip_empty_lines: true, trim: true }) as string[][];
    records = parse(body, { delimiter, columns: true, relax_column_count: true, skip_empty_lines: true, trim: true, info: true }) as typeof records;
  } catch (e) {
    const line = (e as { lines?: number }).lines ?? 1;
    return { rows: [], errors: [err(line, 'not_csv', `not readable as CSV: ${(e as Error).message}`)] };
  }
  const header = raw[0] ?? [];
  const errors: ImportError[] = [];
  for (const c of header) {
    if (!(IMPORT_COLUMNS as readonly string[]).includes(c)) errors.push(err(1, 'unknown_column', `unknown column "${c}"; the columns are ${IMPORT_COLUMNS.join(', ')}`, { column: c }));
  }
  for (const c of REQUIRED) if (!header.includes(c)) errors.push(err(1, 'missing_column', `the column "${c}" is missing`, { column: c }));
  if (errors.length > 0) return { rows: [], errors };
  if (records.length > MAX_IMPORT_ROWS) return { rows: [], errors: [err(1, 'too_many_rows', `${records.length} rows; at most ${MAX_IMPORT_ROWS} in one file`, { rows: records.length, max: MAX_IMPORT_ROWS })] };

  const rows: ImportRow[] = [];
  const serials = new Map<string, number>();
  records.forEach(({ record: r, info }, i) => {
    const line = info.lines;
    const fields = raw[i + 1]?.length ?? 0;
    if (fields !== header.length) {
      errors.push(err(line, 'field_count', `${fields} fields; the header has ${header.length}`, { fields, expected: header.length }));
      return;
    }
    const before = errors.length;
    const tenantId = r.tenantId ?? '';
    const kind = r.kind ?? '';
    const serial = r.serial ?? '';
    for (const c of REQUIRED) if (!r[c]) errors.push(err(line, 'missing_field', `${c} is empty`, { column: c }));
    if (tenantId && !/^[0-9]{4}$/.test(tenantId)) errors.push(err(line, 'bad_tenant', `tenantId "${tenantId}" is not a municipality number (four digits)`, { tenantId }));
    else if (tenantId && !look.tenantUsable(tenantId)) errors.push(err(line, 'unknown_tenant', `municipality ${tenantId} is unknown, or not one you serve`, { tenantId }));
    if (kind && !(DEVICE_KINDS as readonly string[]).includes(kind)) errors.push(err(line, 'bad_kind', `kind "${kind}" is not one of ${DEVICE_KINDS.join(', ')}`, { kind }));
    if (serial.length > 100) errors.push(err(line, 'serial_too_long', 'serial is longer than 100 characters', { max: 100 }));
    if (serial) {
      const key = `${tenantId}|${serial}`;
      const first = serials.get(key);
      if (first !== undefined) errors.push(err(line, 'duplicate_serial_in_file', `serial ${serial} is also on line ${first}`, { serial, other: first }));
      else serials.set(key, line);
      if (first === undefined && /^[0-9]{4}$/.test(tenantId) && look.serialTaken(tenantId, serial)) {
        errors.push(err(line, 'serial_taken', `serial ${serial} is already registered in ${tenantId}`, { serial, tenantId }));
      }
    }
    const residentId = r.residentId || undefined;
    if (residentId && /^[0-9]{4}$/.test(tenantId) && !look.residentIn(tenantId, residentId)) {
      errors.push(err(line, 'unknown_resident', `no resident ${residentId} in municipality ${tenantId}`, { residentId, tenantId }));
    }
    let interval: number | undefined;
    if (r.heartbeatIntervalSeconds) {
      interval = Number(r.heartbeatIntervalSeconds);
      if (!Number.isInteger(interval) || interval < MIN_INTERVAL || interval > MAX_INTERVAL) {
        errors.push(err(line, 'bad_interval', `heartbeatIntervalSeconds "${r.heartbeatIntervalSeconds}" is not a whole number from ${MIN_INTERVAL} to ${MAX_INTERVAL}`, { value: r.heartbeatIntervalSeconds, min: MIN_INTERVAL, max: MAX_INTERVAL }));
      }
    }
    if (errors.length > before) return;
    rows.push({ line, tenantId, kind: kind as DeviceKind, serial, ...(residentId ? { residentId } : {}), ...(interval !== undefined ? { heartbeatIntervalSeconds: interval } : {}) });
  });
  if (rows.length === 0 && errors.length === 0) errors.push(err(1, 'empty_file', 'the file has a header but no devices'));
  return { rows, errors };
}
