// Field-by-field comparison of a stored record with the one core's transitions compute, so a
// failure names each field a store wrote wrongly (`workerId: stored "w-1", expected null`)
// instead of dumping two whole records.
import { canonicalJson } from '@baton/core/adapter';

function show(value: unknown): string {
  return value === undefined ? 'undefined' : canonicalJson(value);
}

/**
 * One line per field that differs, none when the records are equal. Every field counts: one the
 * store dropped, one it added, and `undefined` where the contract says `null`. Values compare as
 * canonical JSON (key order is not significant, every own key including `__proto__` is).
 */
export function recordDiff(actual: object, expected: object): string[] {
  const a = actual as Record<string, unknown>;
  const e = expected as Record<string, unknown>;
  const diffs: string[] = [];
  const keys = [...new Set([...Object.keys(e), ...Object.keys(a)])];
  for (const key of keys) {
    const inA = Object.prototype.hasOwnProperty.call(a, key);
    const inE = Object.prototype.hasOwnProperty.call(e, key);
    if (!inA) diffs.push(`${key}: missing from the stored record (expected ${show(e[key])})`);
    else if (!inE) diffs.push(`${key}: stored ${show(a[key])}, but the record has no such field`);
    else if (a[key] === undefined || e[key] === undefined ? a[key] !== e[key] : canonicalJson(a[key]) !== canonicalJson(e[key])) {
      diffs.push(`${key}: stored ${show(a[key])}, expected ${show(e[key])}`);
    }
  }
  return diffs;
}
