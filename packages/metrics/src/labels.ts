// Keeps every label bounded. Queue names and task types are the application's, but nothing stops
// an application from minting a queue per tenant: past `max` distinct values of one label, new
// values are reported as "other" instead of growing the series count without end.
import type { LabelKey } from './definitions.js';

export const OVERFLOW = 'other';

export class LabelGuard {
  private readonly seen = new Map<LabelKey, Set<string>>();

  constructor(private readonly max: number) {}

  value(key: LabelKey, value: string): string {
    let set = this.seen.get(key);
    if (!set) this.seen.set(key, (set = new Set()));
    if (set.has(value)) return value;
    if (set.size >= this.max) return OVERFLOW;
    set.add(value);
    return value;
  }
}

const CODE = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;

/**
 * The error_code label of a failure: the Baton error code (VALIDATION, BUDGET_EXCEEDED, …), else
 * the error's own string `code` (ECONNRESET, …) when it looks like one, else ERROR. The label
 * guard bounds what applications put in `code`.
 */
export function errorCodeOf(code: unknown): string {
  return typeof code === 'string' && CODE.test(code) ? code : 'ERROR';
}
