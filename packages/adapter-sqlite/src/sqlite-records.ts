// Decoding stored text safely. Each stored record is decoded on its own: a column that cannot be
// decoded makes a `Corruption` for that record (its field, why, and the text as found) instead of
// an exception, so the store can quarantine that record and keep every other one flowing.
import { parseJson, transitions, type Corruption, type JsonValue } from '@baton/core/adapter';

/** Why `value` (a column as the driver returned it) is not JSON text, or null when it parsed; the parsed value in `out`. */
export function parseColumn(value: unknown, out: { value: JsonValue }): string | null {
  if (typeof value !== 'string') return value instanceof Uint8Array ? `stored as a ${value.byteLength}-byte BLOB, not JSON text` : `stored as ${describeType(value)}, not JSON text`;
  try {
    out.value = parseJson<JsonValue>(value);
    return null;
  } catch (err) {
    return `invalid JSON: ${err instanceof Error ? err.message : String(err)}`;
  }
}

/** The stored text as found, capped at `max` UTF-16 units without splitting a surrogate pair (which storage would alter). */
export function rawText(value: unknown, max = transitions.MAX_CORRUPT_RAW): string {
  const text = typeof value === 'string' ? value : value instanceof Uint8Array ? `x'${Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex')}'` : String(value);
  if (text.length <= max) return text;
  const code = text.charCodeAt(max - 1);
  return text.slice(0, code >= 0xd800 && code <= 0xdbff ? max - 1 : max);
}

export function corruption(field: string, reason: string, value: unknown): Corruption {
  return { field, reason, raw: rawText(value) };
}

export function describeType(value: unknown): string {
  if (value === null) return 'NULL';
  if (value instanceof Uint8Array) return 'a BLOB';
  return `a ${typeof value}`;
}

export const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
