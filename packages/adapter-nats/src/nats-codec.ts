// Bytes in and out of the server. Every stored value is decoded per record: a value that is not
// what this adapter writes comes back as `Undecodable` (reason and raw text) instead of throwing,
// so the caller can quarantine that one record and carry on with the rest.
import { parseJson } from '@baton/core/adapter';

export interface Undecodable {
  ok: false;
  reason: string;
  /** The stored text as found (capped by the caller where it is kept). */
  raw: string;
}

export type Decoded<T> = { ok: true; value: T } | Undecodable;

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: false });

export function encodeJson(value: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(value));
}

export function encodeText(text: string): Uint8Array {
  return encoder.encode(text);
}

export function decodeText(data: Uint8Array): string {
  return decoder.decode(data);
}

/** Parses JSON text; `check` says whether the value has the shape the caller stores. */
export function decodeJsonText<T>(text: string, check: (v: unknown) => v is T): Decoded<T> {
  let value: unknown;
  try {
    value = parseJson<unknown>(text);
  } catch (err) {
    return { ok: false, reason: `not JSON: ${(err as Error).message}`, raw: text };
  }
  return check(value) ? { ok: true, value } : { ok: false, reason: 'JSON of an unexpected shape', raw: text };
}

export function decodeJson<T>(data: Uint8Array, check: (v: unknown) => v is T): Decoded<T> {
  return decodeJsonText(decodeText(data), check);
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
export const isString = (v: unknown): v is string => typeof v === 'string';
export const isNullableString = (v: unknown): v is string | null => v === null || typeof v === 'string';
export const isNullableNumber = (v: unknown): v is number | null => v === null || isNumber(v);
