// A queue's rate limit as a GCRA token bucket on the backend clock: `max` claims at once when
// full, then one per perMs/max ms. Time is counted in units of 1/max ms from a recent origin, so
// with integer limits and clock every step is exact integer arithmetic: a full bucket lets
// exactly `max` claims through, never max − 1 from a rounding error.
import type { RateLimit } from '@baton/core/adapter';

/** Rebase the origin once this many units have passed, so the integers stay far below 2^53. */
const REBASE_UNITS = 2 ** 40;

export class RateBucket {
  /** Backend ms the unit count starts from. */
  private origin = 0;
  /** Theoretical arrival time of the next claim, in units since `origin`; at or before now: the bucket is full. */
  private tat = 0;

  constructor(private limit: RateLimit) {}

  /** The first whole backend ms from which a claim fits (with an integer origin: the ceil is of an exact quotient). */
  allowedAt(): number {
    const { max, perMs } = this.limit;
    return this.origin + Math.ceil((this.tat - perMs * (max - 1)) / max);
  }

  fits(now: number): boolean {
    const { max, perMs } = this.limit;
    return this.tat - (now - this.origin) * max <= perMs * (max - 1);
  }

  /** Spends one claim at `now` (which `fits`). */
  take(now: number): void {
    const { max, perMs } = this.limit;
    let units = (now - this.origin) * max;
    if (this.tat <= units) {
      // Full again: start counting from now.
      this.origin = now;
      this.tat = 0;
      units = 0;
    } else if (units > REBASE_UNITS) {
      const shift = now - this.origin;
      this.origin = now;
      this.tat -= shift * max;
      units = 0;
    }
    this.tat = Math.max(this.tat, units) + perMs;
  }

  /** Takes a new limit, keeping how far ahead of `now` the used claims reach. */
  setLimit(limit: RateLimit, now: number): void {
    const aheadMs = Math.max(0, (this.tat - (now - this.origin) * this.limit.max) / this.limit.max);
    this.limit = limit;
    this.origin = now;
    this.tat = Math.ceil(aheadMs * limit.max);
  }
}
