/**
 * String formats the schemas use, registered with TypeBox once. Pure.
 *
 * `date-time` follows RFC 3339: a full date that exists in the calendar (no 30 February, no 29
 * February in a common year, no 31 April), a time and an offset (`Z` or `±hh:mm`). The calendar
 * check is ajv-formats' own, the very function the HTTP layer's validator and serializer use, so
 * nothing the device decoder accepts can later fail to serialize in a response. On top of it the
 * value must parse as a JavaScript Date, since the hub computes with it.
 */
import { FormatRegistry } from '@sinclair/typebox';
import { fullFormats } from 'ajv-formats/dist/formats.js';

const SHAPE = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/;
const calendar = (fullFormats['date-time'] as { validate: (s: string) => boolean }).validate;

export function isDateTime(value: string): boolean {
  return SHAPE.test(value) && calendar(value) && !Number.isNaN(Date.parse(value));
}

if (!FormatRegistry.Has('date-time')) FormatRegistry.Set('date-time', isDateTime);
