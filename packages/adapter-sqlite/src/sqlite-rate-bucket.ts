// A queue's rate limit as a GCRA token bucket on the backend clock, stored in its baton_queues
// row: `max` claims at once when full, then one per perMs/max ms. Time is counted in units of
// 1/max ms from a recent origin, so with integer limits and clock every step is exact integer
// arithmetic: a full bucket lets exactly `max` claims through, never max − 1 from rounding.
import type { RateLimit } from '@baton/core/adapter';

/** Rebase the origin once this many units have passed, so the integers stay far below 2^53. */
const REBASE_UNITS = 2 ** 40;

export interface BucketState {
  /** Backend ms the unit count starts from. */
  origin: number;
  /** When the next claim is due, in units since `origin`; at or before now: the bucket is full. */
  tat: number;
}

/** A full bucket for a limit set anew. */
export const fullBucket = (now: number): BucketState => ({ origin: now, tat: 0 });

export function fits(limit: RateLimit, b: BucketState, now: number): boolean {
  return b.tat - (now - b.origin) * limit.max <= limit.perMs * (limit.max - 1);
}

/** Spends one claim at `now` (which `fits`). */
export function take(limit: RateLimit, b: BucketState, now: number): void {
  let units = (now - b.origin) * limit.max;
  if (b.tat <= units) {
    // Full again: start counting from now.
    b.origin = now;
    b.tat = 0;
    units = 0;
  } else if (units > REBASE_UNITS) {
    b.tat -= units;
    b.origin = now;
    units = 0;
  }
  b.tat = Math.max(b.tat, units) + limit.perMs;
}

/** How many claims the bucket lets through at `now`, at most `want`, without spending them. */
export function available(limit: RateLimit, b: BucketState, now: number, want: number): number {
  const probe = { origin: b.origin, tat: b.tat };
  let n = 0;
  while (n < want && fits(limit, probe, now)) {
    take(limit, probe, now);
    n++;
  }
  return n;
}

/** The bucket under a changed limit, keeping how far ahead of `now` the claims already made reach. */
export function rescale(from: RateLimit, to: RateLimit, b: BucketState, now: number): BucketState {
  const aheadMs = Math.max(0, (b.tat - (now - b.origin) * from.max) / from.max);
  return { origin: now, tat: Math.ceil(aheadMs * to.max) };
}
