// NATS has no server-time API, so the backend clock is the local clock corrected by an offset
// measured against JetStream's own store timestamps: write a probe, read back the time the
// server stamped on it, and compare with the midpoint of the round trip. Lease expiry, due
// times and heartbeat ages all use this clock; JetStream's own timers (ack wait, NAK delays,
// pull expiry) are relative durations on the server and need no correction.
import { systemClock, type Clock, type Logger, type TimerHandle } from '@baton/core/adapter';

export interface ClockProbe {
  /** Writes a probe and returns the server's store time for it (epoch ms). */
  (): Promise<number>;
}

export class ServerClock implements Clock {
  private offsetMs = 0;
  private calibrated = false;
  private last = 0;

  constructor(public logger: Logger) {}

  /** Never goes backwards in this process (a new offset can be a few ms below the last one), so creation order follows it. */
  now(): number {
    const t = Date.now() + this.offsetMs;
    if (t > this.last) this.last = t;
    return this.last;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    return systemClock.setTimeout(fn, ms);
  }

  clearTimeout(handle: TimerHandle): void {
    systemClock.clearTimeout(handle);
  }

  get offset(): number {
    return this.offsetMs;
  }

  get isCalibrated(): boolean {
    return this.calibrated;
  }

  /** Takes the best of a few samples (shortest round trip bounds the error to half of it). */
  async calibrate(probe: ClockProbe, samples = 3): Promise<void> {
    let best: { rtt: number; offset: number } | null = null;
    for (let i = 0; i < samples; i++) {
      const t0 = Date.now();
      const serverMs = await probe();
      const t1 = Date.now();
      const rtt = t1 - t0;
      // The probe is a write then a read; the store time falls inside the first half.
      const offset = serverMs - (t0 + rtt / 4);
      if (!best || rtt < best.rtt) best = { rtt, offset };
    }
    if (!best) return;
    // Below the measurement error the server and this host agree: keep local time untouched.
    const next = Math.abs(best.offset) <= Math.max(1, best.rtt / 2) ? 0 : Math.round(best.offset);
    if (Math.abs(next - this.offsetMs) > 50) {
      this.logger.warn({ offsetMs: next, rttMs: best.rtt }, 'NATS server clock differs from this host; using the server clock for leases and due times');
    }
    this.offsetMs = next;
    this.calibrated = true;
  }
}
