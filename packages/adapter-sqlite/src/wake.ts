// SQLite has no push notifications, so idle claimers poll. Within one process, an enqueue wakes
// the claimers waiting on the same file at once, whichever backend instance they came from.

export interface WakeChannel {
  /** Resolves after `ms`, on `notify()`, on `signal` abort or on `close()`, whichever comes first. */
  wait(ms: number, signal: AbortSignal | undefined): Promise<void>;
  notify(): void;
  /** Releases this channel's waiters; other backends on the same file keep theirs. */
  close(): void;
}

const channels = new Map<string, { waiters: Set<() => void>; users: number }>();
let memorySeq = 0;

/** A wake channel shared by every backend of this process on `file`; ':memory:' gets its own. */
export function wakeChannel(file: string): WakeChannel {
  const key = file === ':memory:' ? `:memory:#${++memorySeq}` : file;
  let shared = channels.get(key);
  if (shared === undefined) {
    shared = { waiters: new Set(), users: 0 };
    channels.set(key, shared);
  }
  shared.users++;
  const entry = shared;
  const waiters = entry.waiters;
  const own = new Set<() => void>();
  let closed = false;
  return {
    wait(ms, signal) {
      if (signal?.aborted || ms <= 0) return Promise.resolve();
      return new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          waiters.delete(done);
          own.delete(done);
          signal?.removeEventListener('abort', done);
          resolve();
        };
        const timer = setTimeout(done, ms);
        waiters.add(done);
        own.add(done);
        signal?.addEventListener('abort', done, { once: true });
      });
    },
    notify() {
      if (waiters.size === 0) return;
      for (const done of [...waiters]) done();
    },
    close() {
      for (const done of [...own]) done();
      if (closed) return;
      closed = true;
      if (--entry.users === 0) channels.delete(key);
    },
  };
}
