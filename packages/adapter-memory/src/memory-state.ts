// State shared by the stores of one memory backend: its clock (the "backend clock"), the task
// map the checkpoint store fences against, the event records every store appends to in the same
// synchronous step as its write (`atomicEvents`), and the closed flag every call checks.
import { BackendUnavailableError, type Clock, type TaskRecord } from '@baton/core/adapter';
import { EventRecords } from './event-records.js';
import type { RetentionNode } from './retention-index.js';

export interface StoredTask extends TaskRecord {
  /** Creation order: pages and "oldest first" follow it even when createdAt ties. */
  order: number;
  /** When the idempotency key stops mapping to this task (backend clock). */
  keyExpiresAt: number;
  /** Its place in the retention index while it is finished. */
  retention: RetentionNode | null;
}

export class MemoryState {
  /**
   * The current record of each task, never shared: a change is written into the stored object
   * (in place, or copied from the record `transitions.*` returned, so that short-lived object dies
   * young instead of turning a long-lived record into old-generation garbage), and every read
   * hands out a copy.
   */
  readonly tasks = new Map<string, StoredTask>();
  readonly events = new EventRecords();
  private closed = false;
  private readonly closeHooks: (() => void)[] = [];
  private readonly deleteHooks: ((taskId: string) => void)[] = [];
  private readonly work: (() => boolean)[] = [];
  private keepAliveTimer: ReturnType<typeof setTimeout> | null = null;

  /**
   * `keepProcessAlive`: on the real clock, a plain script that awaits work of this backend must
   * not exit while a delivery or timer is pending here (nothing survives the process, so exiting
   * would lose it). Off with a FakeClock: virtual time moves only when a test says so.
   */
  constructor(
    readonly clock: Clock,
    private readonly keepProcessAlive = false,
  ) {}

  /** A store reports whether it holds pending work (queued deliveries, pending timers). */
  trackWork(hasWork: () => boolean): void {
    this.work.push(hasWork);
  }

  /** Work may have been added: hold the process open (a referenced timer) until no store has any. */
  workAdded(): void {
    if (!this.keepProcessAlive || this.keepAliveTimer !== null || this.closed) return;
    const check = () => {
      this.keepAliveTimer = null;
      if (!this.closed && this.work.some((hasWork) => hasWork())) this.keepAliveTimer = setTimeout(check, 250);
    };
    this.keepAliveTimer = setTimeout(check, 250);
  }

  now(): number {
    return this.clock.now();
  }

  assertOpen(): void {
    if (this.closed) throw new BackendUnavailableError('memory backend is closed; create a new one with memoryBackend().');
  }

  get isClosed(): boolean {
    return this.closed;
  }

  onClose(hook: () => void): void {
    this.closeHooks.push(hook);
  }

  /** Lets stores that hang data off a task (checkpoints) drop it when the task is deleted or purged. */
  onTaskDeleted(hook: (taskId: string) => void): void {
    this.deleteHooks.push(hook);
  }

  taskDeleted(taskId: string): void {
    for (const hook of this.deleteHooks) hook(taskId);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.keepAliveTimer !== null) clearTimeout(this.keepAliveTimer);
    this.keepAliveTimer = null;
    for (const hook of this.closeHooks) hook();
  }
}
