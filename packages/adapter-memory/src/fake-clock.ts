// A controllable Clock for tests: time moves only when the test says so, and due callbacks
// fire in due order with promise chains settling between them, so engine loops paced by this
// clock behave as they would in real time, only instantly.
import type { Clock, TimerHandle } from '@baton/core/adapter';
import { MinHeap } from './min-heap.js';

interface FakeTimer extends TimerHandle {
  readonly id: number;
}

export interface FakeClockOptions {
  /** Initial epoch ms. @default 1_700_000_000_000 */
  now?: number;
  /** setImmediate turns awaited after each fired callback so promise chains settle. @default 5 */
  settleTurns?: number;
}

export class FakeClock implements Clock {
  private current: number;
  private seq = 0;
  private readonly heap = new MinHeap<{ id: number; fn: () => void }>();
  private readonly live = new Set<number>();
  private readonly settleTurns: number;

  constructor(options: FakeClockOptions = {}) {
    this.current = options.now ?? 1_700_000_000_000;
    this.settleTurns = options.settleTurns ?? 5;
  }

  now(): number {
    return this.current;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = ++this.seq;
    const delay = Number.isFinite(ms) && ms > 0 ? ms : 0;
    this.heap.push({ at: this.current + delay, seq: id, value: { id, fn } });
    this.live.add(id);
    const handle: FakeTimer = { __timer: true, id };
    return handle;
  }

  clearTimeout(handle: TimerHandle): void {
    this.live.delete((handle as FakeTimer).id);
  }

  /** Number of scheduled callbacks not yet fired or cleared. */
  get pendingTimers(): number {
    return this.live.size;
  }

  /** Epoch ms of the next scheduled callback, or null. */
  nextDueAt(): number | null {
    this.dropCleared();
    return this.heap.peek()?.at ?? null;
  }

  /**
   * Moves time forward by `ms`, stopping at each due callback (in due order) to fire it and
   * let promise chains settle, so callbacks scheduled meanwhile also fire if due within `ms`.
   */
  async advance(ms: number): Promise<void> {
    await this.advanceTo(this.current + Math.max(0, ms));
  }

  /** Jumps to epoch `ms`: forward like `advance`, backward without firing anything. */
  async set(ms: number): Promise<void> {
    if (ms <= this.current) {
      this.current = ms;
      await this.settle();
      return;
    }
    await this.advanceTo(ms);
  }

  /** Fires every callback (including ones scheduled while firing), moving time to each; bounded by `maxSteps`. */
  async runAll(maxSteps = 10_000): Promise<void> {
    for (let i = 0; i < maxSteps; i++) {
      const next = this.nextDueAt();
      if (next === null) return;
      await this.advanceTo(Math.max(next, this.current));
    }
    throw new Error(`FakeClock.runAll: still ${this.live.size} timers after ${maxSteps} steps (a loop re-arms itself forever?); use advance(ms).`);
  }

  /** Lets pending promise chains settle without moving time. */
  async settle(): Promise<void> {
    for (let i = 0; i < this.settleTurns; i++) await new Promise<void>((resolve) => setImmediate(resolve));
  }

  private async advanceTo(target: number): Promise<void> {
    await this.settle();
    for (;;) {
      this.dropCleared();
      const top = this.heap.peek();
      if (top === undefined || top.at > target) break;
      this.heap.pop();
      this.live.delete(top.value.id);
      if (top.at > this.current) this.current = top.at;
      top.value.fn();
      await this.settle();
    }
    this.current = Math.max(this.current, target);
    await this.settle();
  }

  private dropCleared(): void {
    for (let top = this.heap.peek(); top !== undefined && !this.live.has(top.value.id); top = this.heap.peek()) this.heap.pop();
  }
}
