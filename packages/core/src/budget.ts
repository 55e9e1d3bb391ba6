// Budgets: validated once (enqueue and phase plans share the rule) and split evenly across a
// phase's tasks.
import { ValidationError } from './errors.js';
import type { Budget } from './ports/task-store.js';

const FIELDS = ['costUsd', 'tokens', 'timeMs'] as const;

/** Checks a budget; `what` names its owner in the message ("task \"summarize\"", "phase p1"). */
export function validateBudget(what: string, b: unknown): Budget | null {
  if (b === undefined || b === null) return null;
  if (typeof b !== 'object' || Array.isArray(b)) throw new ValidationError(`budget of ${what} must be an object { costUsd?, tokens?, timeMs? }.`);
  const out: Budget = {};
  for (const field of FIELDS) {
    const v = (b as Record<string, unknown>)[field];
    if (v === undefined) continue;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > Number.MAX_SAFE_INTEGER) {
      throw new ValidationError(`budget.${field} of ${what} must be a finite number from 0 to ${Number.MAX_SAFE_INTEGER}; got ${String(v)}.`);
    }
    out[field] = v;
  }
  return out;
}

/** Splits `budget` into `n` shares: money to micro-dollars, tokens and ms as integers, remainders to the first shares. */
export function splitBudget(budget: Budget | null | undefined, n: number): (Budget | undefined)[] {
  if (!budget || n <= 0) return Array.from({ length: Math.max(0, n) }, () => budget ?? undefined);
  const splitInt = (total: number | undefined, i: number) => {
    if (total === undefined) return undefined;
    const base = Math.floor(total / n);
    return base + (i < total - base * n ? 1 : 0);
  };
  const micros = budget.costUsd === undefined ? undefined : Math.round(budget.costUsd * 1_000_000);
  return Array.from({ length: n }, (_, i) => {
    const share: Budget = {};
    if (micros !== undefined) share.costUsd = splitInt(micros, i)! / 1_000_000;
    if (budget.tokens !== undefined) share.tokens = splitInt(Math.floor(budget.tokens), i)!;
    if (budget.timeMs !== undefined) share.timeMs = splitInt(Math.floor(budget.timeMs), i)!;
    return share;
  });
}
