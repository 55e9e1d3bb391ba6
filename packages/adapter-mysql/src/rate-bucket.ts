// A queue's rate limit as a GCRA token bucket on the backend clock, stored in the queue's row
// (origin, tat) and updated under that row's lock inside the claim. Time is counted in units of
// 1/max ms from a recent origin, so with integer limits every step is exact integer arithmetic:
// a full bucket lets exactly `max` claims through, never max − 1 from a rounding error.
import type { RateLimit } from '@baton/core/adapter';

/** Rebase the origin once this many units have passed, so the integers stay far below 2^53. */
const REBASE_UNITS = 2 ** 40;

export interface Bucket extends RateLimit {
  /** Backend ms the unit count starts from. */
  origin: number;
  /** Theoretical arrival time of the next claim, in units since origin; at or before now: full. */
  tat: number;
}

export function fits(b: Bucket, now: number): boolean {
  return b.tat - (now - b.origin) * b.max <= b.perMs * (b.max - 1);
}

/** Spends one claim at `now` (which `fits`). */
export function take(b: Bucket, now: number): void {
  let units = (now - b.origin) * b.max;
  if (b.tat <= units) {
    b.origin = now;
    b.tat = 0;
    units = 0;
  } else if (units > REBASE_UNITS) {
    b.tat -= (now - b.origin) * b.max;
    b.origin = now;
    units = 0;
  }
  b.tat = Math.max(b.tat, units) + b.perMs;
}

/** How many claims (up to `cap`) the bucket lets through at `now`, without spending them. */
export function available(b: Bucket, now: number, cap: number): number {
  const probe = { ...b };
  let n = 0;
  while (n < cap && fits(probe, now)) {
    take(probe, now);
    n++;
  }
  return n;
}

/** The bucket after `configure`: a limit set anew starts full; a changed one keeps what was used. */
export function reconfigure(b: Bucket | null, limit: RateLimit, now: number): Bucket {
  if (b === null) return { max: limit.max, perMs: limit.perMs, origin: now, tat: 0 };
  const aheadMs = Math.max(0, (b.tat - (now - b.origin) * b.max) / b.max);
  return { max: limit.max, perMs: limit.perMs, origin: now, tat: Math.ceil(aheadMs * limit.max) };
}
