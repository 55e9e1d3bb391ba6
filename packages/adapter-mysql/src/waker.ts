// In-process wake-ups for waiting claims: a write of this process that may make work claimable
// (enqueue, release, reclaim, a freed slot, configure) ends every current wait at once. Other
// processes' writes are seen at the next poll.
export class Waker {
  private waiters = new Set<() => void>();
  private readonly timers = new Map<number, ReturnType<typeof setTimeout>>();

  wake(): void {
    const current = this.waiters;
    this.waiters = new Set();
    for (const w of current) w();
  }

  /** Wakes the waiting claims once `ms` from now (when a delayed delivery comes due), so one waiting here takes it at once. */
  wakeIn(ms: number): void {
    const at = Math.ceil((Date.now() + ms) / 10) * 10;
    if (this.timers.has(at) || this.timers.size >= 64) return;
    const t = setTimeout(() => {
      this.timers.delete(at);
      this.wake();
    }, at - Date.now() + 2);
    t.unref();
    this.timers.set(at, t);
  }

  /** Drops pending wakeIn timers (the backend is closing). */
  clear(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }

  /** Resolves after `ms`, on `wake()`, or when `signal` aborts — whichever comes first. */
  wait(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, ms));
      this.waiters.add(done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }
}
