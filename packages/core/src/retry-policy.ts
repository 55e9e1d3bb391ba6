// Delay before retry n (0-based): min(baseMs · 2^n, maxMs), optionally jittered. Compiled once
// (the baton's policy with the options, each type's at register()) with the same checks as every
// other option.
import { ConfigError, isRetryable } from './errors.js';
import { intOption, numberOption } from './option-helpers.js';

export type ErrorClass = 'permanent' | 'retryable';

export interface RetryPolicyOptions {
  /** First retry delay. @default 1_000 */
  baseMs?: number;
  /** Largest delay. @default 300_000 (5 min), at most 365 days */
  maxMs?: number;
  /** Retries after the first failed run (3 → delays 1 s, 2 s, 4 s, then dead). @default 3 */
  maxRetries?: number;
  /** Fraction of the delay randomised away (0: exact, 0.5: delay × [0.5, 1]). @default 0 */
  jitter?: number;
  /** Overrides the default classification (PermanentError and non-retryable BatonErrors are permanent). */
  classify?: (err: unknown) => ErrorClass | undefined;
}

export interface CompiledRetryPolicy {
  readonly baseMs: number;
  readonly maxMs: number;
  readonly maxRetries: number;
  readonly jitter: number;
  /** Delay before retry number `attempt` (0 for the first retry). */
  delayMs(attempt: number): number;
  classify(err: unknown): ErrorClass;
  /** Whether a task that has failed `attempt` times before this failure may run again. */
  shouldRetry(err: unknown, attempt: number, maxRetries?: number): boolean;
}

const YEAR_MS = 365 * 24 * 3_600_000;

/** Compiles retry options (merged over `base` for per-type policies); `field` prefixes error messages. */
export function compileRetryPolicy(field: string, options: RetryPolicyOptions = {}, base?: CompiledRetryPolicy, random: () => number = Math.random): CompiledRetryPolicy {
  if (typeof options !== 'object' || options === null) throw new ConfigError(`${field} must be an object { baseMs?, maxMs?, maxRetries?, jitter?, classify? }.`);
  const baseMs = intOption(`${field}.baseMs`, options.baseMs, base?.baseMs ?? 1_000, 0, YEAR_MS);
  const maxMs = intOption(`${field}.maxMs`, options.maxMs, Math.max(base?.maxMs ?? 300_000, baseMs), baseMs, YEAR_MS);
  const maxRetries = intOption(`${field}.maxRetries`, options.maxRetries, base?.maxRetries ?? 3, 0, 1_000_000);
  const jitter = numberOption(`${field}.jitter`, options.jitter, base?.jitter ?? 0, 0, 1);
  const classifier = options.classify ?? (base ? (err: unknown) => base.classify(err) : undefined);
  if (classifier !== undefined && typeof classifier !== 'function') throw new ConfigError(`${field}.classify must be a function (err) => 'permanent' | 'retryable' | undefined.`);
  const classify = (err: unknown): ErrorClass => classifier?.(err) ?? (isRetryable(err) ? 'retryable' : 'permanent');
  return Object.freeze({
    baseMs,
    maxMs,
    maxRetries,
    jitter,
    delayMs(attempt: number): number {
      const exact = Math.min(baseMs * 2 ** Math.min(attempt, 52), maxMs);
      return jitter === 0 ? exact : Math.round(exact * (1 - jitter * random()));
    },
    classify,
    shouldRetry(err: unknown, attempt: number, max = maxRetries): boolean {
      return classify(err) === 'retryable' && attempt < max;
    },
  });
}
