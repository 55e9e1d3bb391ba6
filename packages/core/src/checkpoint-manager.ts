// Checkpoint writes for running tasks: coalesced to one write per interval per task (newest
// state wins), flushed on demand, on failure and on shutdown; fenced by the task's lease. A
// write that fails keeps its state pending for the next flush (and is logged): only a lost lease
// drops it, because then the state belongs to a run that no longer counts.
import type { Clock, TimerHandle } from './clock.js';
import type { Checkpoint, SaveCheckpointOptions } from './api.js';
import type { JsonValue } from './json.js';
import type { Logger } from './logger.js';
import type { CheckpointBlob, CheckpointStore } from './ports/checkpoint-store.js';
import type { NewEvent } from './ports/event-log.js';
import { LeaseLostError } from './errors.js';
import { decodeCheckpointAsync, encodeCheckpointAsync, type CodecOptions } from './checkpoint-codec.js';

export interface CheckpointManagerOptions extends CodecOptions {
  intervalMs: number;
}

export interface CheckpointHooks {
  /** The audit event of a save, handed to the store with it (atomic backends). */
  event(blob: CheckpointBlob): NewEvent;
  /** The save landed (with its event on atomic backends). */
  onSaved(blob: CheckpointBlob, event: NewEvent): void;
  /** The store refused the save: another worker owns the task now. */
  onLost(err: LeaseLostError): void;
  /** Whether events ride with the save (capabilities.atomicEvents). */
  atomicEvents: boolean;
  /** Instrumentation around one write. */
  observe?(blob: CheckpointBlob): ((error?: unknown) => void) | undefined;
}

/** Retry delay of a timed flush whose write failed. */
const RETRY_MS = 1_000;

/** The checkpoint writer of one running task (one lease). */
export class TaskCheckpointer {
  private lastWriteAt: number | null = null;
  private pending: CheckpointBlob | null = null;
  private timer: TimerHandle | null = null;
  private chain: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly manager: CheckpointManager,
    readonly taskId: string,
    readonly leaseId: string,
    private readonly hooks: CheckpointHooks,
  ) {}

  async save(token: string, data: unknown, options: SaveCheckpointOptions = {}): Promise<void> {
    if (this.closed) throw new LeaseLostError(this.taskId, 'checkpoint');
    const blob = await this.manager.encode(this.taskId, token, data);
    if (this.closed) throw new LeaseLostError(this.taskId, 'checkpoint');
    const now = this.manager.clock.now();
    const due = this.lastWriteAt === null ? now : this.lastWriteAt + this.manager.intervalMs;
    this.pending = blob;
    if (options.flush || due <= now) return this.flush();
    this.arm(due - now);
  }

  /** Writes the newest unsaved state, if any. Rejects when the write failed (the state stays pending). */
  flush(): Promise<void> {
    if (this.timer) {
      this.manager.clock.clearTimeout(this.timer);
      this.timer = null;
    }
    const next = this.chain.then(() => this.writePending());
    this.chain = next.catch(() => undefined);
    return next;
  }

  /** Whether unsaved state is waiting (a failed or coalesced write). */
  get hasPending(): boolean {
    return this.pending !== null;
  }

  /** Drops unsaved state and stops timers (task finished or lease gone). */
  close(): void {
    this.closed = true;
    this.pending = null;
    if (this.timer) this.manager.clock.clearTimeout(this.timer);
    this.timer = null;
  }

  private arm(ms: number): void {
    this.timer ??= this.manager.clock.setTimeout(() => {
      this.timer = null;
      this.flush().catch((err: unknown) => {
        if (err instanceof LeaseLostError || this.closed) return;
        this.manager.logger.warn({ err, taskId: this.taskId, leaseId: this.leaseId }, 'checkpoint write failed; it stays pending and is retried');
        if (this.pending !== null) this.arm(RETRY_MS);
      });
    }, ms);
  }

  private async writePending(): Promise<void> {
    const blob = this.pending;
    if (!blob || this.closed) return;
    this.pending = null;
    this.lastWriteAt = this.manager.clock.now();
    const event = this.hooks.event(blob);
    const done = this.hooks.observe?.(blob);
    let ok: boolean;
    try {
      ok = await this.manager.store.save(this.taskId, this.leaseId, blob, this.hooks.atomicEvents ? { events: [event] } : {});
    } catch (err) {
      done?.(err);
      // Newest state wins: put this one back unless a newer save came in meanwhile.
      if (!this.closed) this.pending ??= blob;
      throw err;
    }
    if (!ok) {
      const err = new LeaseLostError(this.taskId, 'checkpoint save');
      done?.(err);
      this.closed = true;
      this.hooks.onLost(err);
      throw err;
    }
    done?.();
    this.hooks.onSaved(blob, event);
  }
}

export class CheckpointManager {
  readonly intervalMs: number;

  constructor(
    readonly store: CheckpointStore,
    readonly clock: Clock,
    readonly logger: Logger,
    private readonly options: CheckpointManagerOptions,
  ) {
    this.intervalMs = options.intervalMs;
  }

  encode(taskId: string, token: string, data: unknown): Promise<CheckpointBlob> {
    return encodeCheckpointAsync(taskId, token, data, this.options);
  }

  forTask(taskId: string, leaseId: string, hooks: CheckpointHooks): TaskCheckpointer {
    return new TaskCheckpointer(this, taskId, leaseId, hooks);
  }

  /** The task's checkpoint; throws when its stored bytes cannot be decoded (the caller quarantines the task). */
  async load<C = JsonValue>(taskId: string): Promise<Checkpoint<C> | null> {
    const stored = await this.store.load(taskId);
    return stored ? decodeCheckpointAsync<C>(stored) : null;
  }
}
