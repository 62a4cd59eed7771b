/**
 * Turns a device's raw MQTT payload into a validated event, or a reason it was rejected.
 * Pure: bytes and the device's kind in, a decision out. The reasons are written for the
 * technician who reads a device's health, so they name the field and what was wrong.
 */
import type { TSchema } from '@sinclair/typebox';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import './formats.ts';
import { type DeviceEvent, type DeviceKind, DEVICE_KINDS, schemaFor } from './events.ts';

/** Payloads larger than this are refused without being parsed. */
export const MAX_PAYLOAD_BYTES = 16 * 1024;

export type RejectCode = 'too_large' | 'bad_json' | 'not_an_object' | 'unknown_type' | 'wrong_kind' | 'invalid_fields';
export type Decoded =
  | { ok: true; event: DeviceEvent }
  | { ok: false; code: RejectCode; reason: string };

const checkers = new Map<TSchema, TypeCheck<TSchema>>();
function checkerFor(schema: TSchema): TypeCheck<TSchema> {
  let c = checkers.get(schema);
  if (!c) {
    c = TypeCompiler.Compile(schema);
    checkers.set(schema, c);
  }
  return c;
}

function firstError(schema: TSchema, value: unknown): string {
  // A union (e.g. `unlocked` by staff or by resident) reports each alternative's first problem.
  const alternatives: TSchema[] = Array.isArray(schema.anyOf) ? schema.anyOf : [schema];
  return alternatives
    .map((s) => {
      const e = checkerFor(s).Errors(value).First();
      return e ? `${e.path || '/'}: ${e.message}` : '';
    })
    .filter(Boolean)
    .join(' | or | ');
}

export function decodeEvent(kind: DeviceKind, payload: Uint8Array): Decoded {
  if (payload.byteLength > MAX_PAYLOAD_BYTES) {
    return { ok: false, code: 'too_large', reason: `payload is ${payload.byteLength} bytes; the limit is ${MAX_PAYLOAD_BYTES}` };
  }
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('utf8'));
  } catch (err) {
    return { ok: false, code: 'bad_json', reason: `payload is not JSON: ${(err as Error).message}` };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, code: 'not_an_object', reason: 'payload must be a JSON object' };
  }
  const type = (value as { type?: unknown }).type;
  if (typeof type !== 'string') {
    return { ok: false, code: 'unknown_type', reason: 'field "type" is missing or not a string' };
  }
  const schema = schemaFor(kind, type);
  if (!schema) {
    const owners = DEVICE_KINDS.filter((k) => schemaFor(k, type));
    return owners.length > 0
      ? { ok: false, code: 'wrong_kind', reason: `event type "${type}" belongs to ${owners.join(', ')}, not ${kind}` }
      : { ok: false, code: 'unknown_type', reason: `unknown event type "${type}"` };
  }
  if (!checkerFor(schema).Check(value)) {
    return { ok: false, code: 'invalid_fields', reason: `${type}: ${firstError(schema, value)}` };
  }
  return { ok: true, event: value as DeviceEvent };
}

/** `devices/{id}/status` carries the plain strings `online` or `offline`. */
export function decodeStatus(payload: Uint8Array): 'online' | 'offline' | null {
  const s = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('utf8').trim();
  return s === 'online' || s === 'offline' ? s : null;
}
