// Time is injected so retry, lease and timer paths can be tested by advancing a fake
// clock instead of sleeping. Stored due-times use the backend's clock, not this one:
// this clock only paces the engine's own loops.

export interface TimerHandle {
  readonly __timer: true;
}

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /**
   * Runs `fn` after `ms`. Engine loops use unreferenced timers (they must not keep a process
   * alive); `{ keepAlive: true }` is for waits a user awaits (waitFor, retry and delay timers of
   * a backend that lives in this process).
   */
  setTimeout(fn: () => void, ms: number, options?: { keepAlive?: boolean }): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms, options) => {
    const t = setTimeout(fn, ms);
    if (!options?.keepAlive) t.unref?.();
    return t as unknown as TimerHandle;
  },
  clearTimeout: (handle) => clearTimeout(handle as unknown as NodeJS.Timeout),
};

/** Resolves after `ms` on `clock`, or early (without rejecting) when `signal` aborts. */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted || ms <= 0) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clock.clearTimeout(handle);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const handle = clock.setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
