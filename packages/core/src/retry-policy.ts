// Delay before retry n (0-based): min(baseMs · 2^n, maxMs), optionally jittered.
import { ConfigError, isRetryable } from './errors.js';

export type ErrorClass = 'permanent' | 'retryable';

export interface RetryPolicyOptions {
  /** First retry delay. @default 1_000 */
  baseMs?: number;
  /** Largest delay. @default 300_000 (5 min) */
  maxMs?: number;
  /** Retries after the first failed run (seed: 3 → delays 1 s, 2 s, 4 s, then dead). @default 3 */
  maxRetries?: number;
  /** Fraction of the delay randomised away (0: exact, 0.5: delay × [0.5, 1]). @default 0 */
  jitter?: number;
  /** Overrides the default classification (PermanentError and non-retryable BatonErrors are permanent). */
  classify?: (err: unknown) => ErrorClass | undefined;
}

export class RetryPolicy {
  readonly baseMs: number;
  readonly maxMs: number;
  readonly maxRetries: number;
  readonly jitter: number;
  private readonly classifier: RetryPolicyOptions['classify'];

  constructor(options: RetryPolicyOptions = {}, private readonly random: () => number = Math.random) {
    this.baseMs = check('retry.baseMs', options.baseMs ?? 1_000, 0);
    this.maxMs = check('retry.maxMs', options.maxMs ?? 300_000, this.baseMs);
    this.maxRetries = check('retry.maxRetries', options.maxRetries ?? 3, 0);
    const jitter = options.jitter ?? 0;
    if (!(jitter >= 0 && jitter <= 1)) throw new ConfigError(`retry.jitter must be from 0 to 1; got ${String(options.jitter)}.`);
    this.jitter = jitter;
    this.classifier = options.classify;
  }

  /** Delay before retry number `attempt` (0 for the first retry). */
  delayMs(attempt: number): number {
    const exact = Math.min(this.baseMs * 2 ** Math.min(attempt, 52), this.maxMs);
    if (this.jitter === 0) return exact;
    return Math.round(exact * (1 - this.jitter * this.random()));
  }

  classify(err: unknown): ErrorClass {
    return this.classifier?.(err) ?? (isRetryable(err) ? 'retryable' : 'permanent');
  }

  /** Whether a task that has failed `attempt` times before this failure may run again. */
  shouldRetry(err: unknown, attempt: number, maxRetries = this.maxRetries): boolean {
    return this.classify(err) === 'retryable' && attempt < maxRetries;
  }
}

function check(field: string, v: number, min: number): number {
  if (!Number.isInteger(v) || v < min) throw new ConfigError(`${field} must be an integer ≥ ${min}; got ${String(v)}.`);
  return v;
}
