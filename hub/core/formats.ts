/**
 * String formats the schemas use, registered with TypeBox once. Pure.
 *
 * `date-time` follows RFC 3339: a full date that exists in the calendar (no 30 February, no 29
 * February in a common year, no 31 April), a time (no leap second) and an offset (`Z` or
 * `±hh:mm`), and it parses as a JavaScript Date, since the hub computes with it. Every value it
 * accepts is accepted by ajv-formats' `date-time`, which the HTTP layer's serializer uses, so
 * nothing the device decoder accepts can later fail in a response (a test checks the two
 * against each other over every edge of every field). It runs for every device message: it
 * reads the digits in place instead of splitting the string.
 */
import { FormatRegistry } from '@sinclair/typebox';

const SHAPE = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/;
const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** The number of the `n` digits at `at` (the shape has been checked: they are digits). */
function digits(s: string, at: number, n: number): number {
  let v = 0;
  for (let i = at; i < at + n; i++) v = v * 10 + s.charCodeAt(i) - 48;
  return v;
}

export function isDateTime(value: string): boolean {
  if (!SHAPE.test(value)) return false;
  const year = digits(value, 0, 4);
  const month = digits(value, 5, 2);
  const day = digits(value, 8, 2);
  if (month < 1 || month > 12 || day < 1) return false;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  if (day > (month === 2 && leap ? 29 : (DAYS_IN_MONTH[month - 1] as number))) return false;
  if (digits(value, 11, 2) > 23 || digits(value, 14, 2) > 59 || digits(value, 17, 2) > 59) return false;
  const last = value.charCodeAt(value.length - 1);
  // An offset ±hh:mm ends the string in a digit; Z or z does not.
  if (last >= 48 && last <= 57 && (digits(value, value.length - 5, 2) > 23 || digits(value, value.length - 2, 2) > 59)) return false;
  return !Number.isNaN(Date.parse(value));
}

if (!FormatRegistry.Has('date-time')) FormatRegistry.Set('date-time', isDateTime);
