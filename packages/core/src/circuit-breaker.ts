// One breaker per task type, in this process: after `threshold` consecutive failures claims of
// that type wait `cooldownMs`, then a single trial run decides whether it closes again.
import type { Clock } from './clock.js';

export type BreakerState = 'closed' | 'open' | 'half_open';

interface Entry {
  failures: number;
  state: BreakerState;
  openedAt: number;
  trialRunning: boolean;
}

export type BreakerTransition = { type: string; from: BreakerState; to: BreakerState };

export class CircuitBreaker {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly clock: Clock,
    readonly threshold: number,
    readonly cooldownMs: number,
    private readonly onTransition: (t: BreakerTransition) => void = () => undefined,
  ) {}

  state(type: string): BreakerState {
    const e = this.entries.get(type);
    if (!e) return 'closed';
    if (e.state === 'open' && this.clock.now() - e.openedAt >= this.cooldownMs) return 'half_open';
    return e.state;
  }

  /**
   * Whether a task of `type` may run now. Returns 0 when it may, else the ms to wait.
   * In half-open state exactly one caller is let through as the trial.
   */
  acquire(type: string): number {
    const e = this.entries.get(type);
    if (!e || e.state === 'closed') return 0;
    const waited = this.clock.now() - e.openedAt;
    if (e.state === 'open') {
      if (waited < this.cooldownMs) return this.cooldownMs - waited;
      this.move(type, e, 'half_open');
    }
    if (e.trialRunning) return Math.max(1, Math.min(this.cooldownMs, 1_000));
    e.trialRunning = true;
    return 0;
  }

  success(type: string): void {
    const e = this.entries.get(type);
    if (!e) return;
    e.failures = 0;
    e.trialRunning = false;
    if (e.state !== 'closed') this.move(type, e, 'closed');
  }

  failure(type: string): void {
    let e = this.entries.get(type);
    if (!e) this.entries.set(type, (e = { failures: 0, state: 'closed', openedAt: 0, trialRunning: false }));
    e.failures++;
    const trialFailed = e.state === 'half_open';
    e.trialRunning = false;
    if (trialFailed || (e.state === 'closed' && e.failures >= this.threshold)) {
      e.openedAt = this.clock.now();
      this.move(type, e, 'open');
    }
  }

  /** A trial that ended without a verdict (released, lease lost) frees the trial slot. */
  abandon(type: string): void {
    const e = this.entries.get(type);
    if (e) e.trialRunning = false;
  }

  snapshot(): Record<string, BreakerState> {
    const out: Record<string, BreakerState> = {};
    for (const type of this.entries.keys()) out[type] = this.state(type);
    return out;
  }

  private move(type: string, e: Entry, to: BreakerState): void {
    const from = e.state;
    e.state = to;
    this.onTransition({ type, from, to });
  }
}
