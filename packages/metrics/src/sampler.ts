// Reads the fleet-wide state behind the gauges (queue depths, oldest wait, breakers, stored
// checkpoints) from the backend: never per task, at most once per `maxAgeMs` however many
// gauges or scrapes ask, or on a fixed interval. A read that fails or outlasts `timeoutMs`
// yields nothing — a scrape must not hang on a dead backend, and stale depths would mislead.

export interface SamplerOptions {
  maxAgeMs: number;
  timeoutMs: number;
  /** When set, sample on this interval (collection reads the last sample) instead of on collection. */
  intervalMs?: number;
}

export class Sampler<T> {
  private last: { at: number; value: T } | null = null;
  private inflight: Promise<T | null> | null = null;
  private timer: ReturnType<typeof setInterval> | null = null;

  constructor(
    private readonly read: () => Promise<T>,
    private readonly options: SamplerOptions,
    private readonly onFailure: (err: unknown) => void,
  ) {
    if (options.intervalMs !== undefined) {
      void this.refresh();
      this.timer = setInterval(() => void this.refresh(), options.intervalMs);
      // Sampling for metrics must never keep a process alive.
      this.timer.unref?.();
    }
  }

  /** The current sample, or null when none could be read. */
  async get(): Promise<T | null> {
    if (this.options.intervalMs !== undefined) {
      const fresh = this.last !== null && Date.now() - this.last.at <= Math.max(this.options.maxAgeMs, 2 * this.options.intervalMs);
      return fresh ? this.last!.value : null;
    }
    if (this.last !== null && Date.now() - this.last.at < this.options.maxAgeMs) return this.last.value;
    return this.refresh();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private refresh(): Promise<T | null> {
    return (this.inflight ??= this.readOnce().finally(() => {
      this.inflight = null;
    }));
  }

  private async readOnce(): Promise<T | null> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const value = await Promise.race([
        this.read(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`the backend did not answer within ${this.options.timeoutMs} ms`)), this.options.timeoutMs);
          timer.unref?.();
        }),
      ]);
      this.last = { at: Date.now(), value };
      return value;
    } catch (err) {
      this.last = null;
      this.onFailure(err);
      return null;
    } finally {
      clearTimeout(timer);
    }
  }
}
