// Copies JSON in and out of the memory stores so callers never share objects with them.
import type { JsonValue } from '@baton/core/adapter';

/**
 * A deep copy of JSON. Hand-rolled because structuredClone costs several times more on the small
 * objects of the hot path. A `__proto__` key is copied as an own property (as JSON.parse makes
 * it), never as a prototype; values with `toJSON` (a Date) become what JSON would make of them,
 * as in any serialising backend.
 */
export function cloneJson<T extends JsonValue | undefined>(value: T): T {
  return (value !== null && typeof value === 'object' ? copy(value) : value) as T;
}

function copy(value: JsonValue): JsonValue {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    const out: JsonValue[] = new Array<JsonValue>(value.length);
    for (let i = 0; i < value.length; i++) out[i] = copy(value[i]!);
    return out;
  }
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === 'function') return copy((toJSON as () => JsonValue).call(value));
  const out: { [key: string]: JsonValue } = {};
  // for…in over own keys visits what Object.keys lists, in its order, without allocating the list.
  for (const key in value) {
    if (!Object.prototype.hasOwnProperty.call(value, key)) continue;
    const v = copy(value[key]!);
    if (key === '__proto__') Object.defineProperty(out, key, { value: v, enumerable: true, writable: true, configurable: true });
    else out[key] = v;
  }
  return out;
}
