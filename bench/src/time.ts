// Bounded waiting: every loop in the harness has a count or a deadline, so a stuck system
// shows up as "timeout" in the table instead of hanging the run.

export const now = (): number => performance.now();

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}

/** Polls `cond` every `pollMs` until it holds (true) or the deadline (a `now()` value) passes (false). */
export async function waitUntil(cond: () => boolean | Promise<boolean>, deadline: number, pollMs = 5): Promise<boolean> {
  for (;;) {
    if (await cond()) return true;
    if (now() >= deadline) return false;
    await sleep(Math.min(pollMs, Math.max(1, deadline - now())));
  }
}

export class DeadlineError extends Error {
  constructor(what: string, ms: number) {
    super(`${what} did not finish within ${Math.round(ms)} ms`);
    this.name = 'DeadlineError';
  }
}

/** Resolves with `p`, or rejects with DeadlineError after `ms` (the promise keeps running; callers clean up). */
export async function withDeadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DeadlineError(what, ms)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Best effort with a bound: errors and overruns are reported through `onError`, never thrown. */
export async function bounded(p: () => Promise<unknown>, ms: number, what: string, onError: (message: string) => void): Promise<void> {
  try {
    await withDeadline(p(), ms, what);
  } catch (err) {
    onError(`${what}: ${err instanceof Error ? err.message : String(err)}`);
  }
}
