// Checkpoint writes for running tasks: coalesced to one write per interval per task (newest
// state wins), flushed on demand, on failure and on shutdown; fenced by the task's lease.
import type { Clock, TimerHandle } from './clock.js';
import type { Checkpoint, SaveCheckpointOptions } from './api.js';
import type { JsonValue } from './json.js';
import type { CheckpointBlob, CheckpointStats, CheckpointStore } from './ports/checkpoint-store.js';
import { LeaseLostError } from './errors.js';
import { decodeCheckpoint, encodeCheckpoint, type CodecOptions } from './checkpoint-codec.js';

export interface CheckpointManagerOptions extends CodecOptions {
  intervalMs: number;
}

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
    private readonly onSaved: (blob: CheckpointBlob) => void,
    private readonly onLost: (err: LeaseLostError) => void,
  ) {}

  async save(token: string, data: unknown, options: SaveCheckpointOptions = {}): Promise<void> {
    if (this.closed) throw new LeaseLostError(this.taskId, 'checkpoint');
    const blob = this.manager.encode(this.taskId, token, data);
    const now = this.manager.clock.now();
    const due = this.lastWriteAt === null ? now : this.lastWriteAt + this.manager.intervalMs;
    this.pending = blob;
    if (options.flush || due <= now) return this.flush();
    this.timer ??= this.manager.clock.setTimeout(() => {
      this.timer = null;
      this.flush().catch(() => undefined);
    }, due - now);
  }

  /** Writes the newest unsaved state, if any. */
  flush(): Promise<void> {
    if (this.timer) {
      this.manager.clock.clearTimeout(this.timer);
      this.timer = null;
    }
    const next = this.chain.then(() => this.writePending());
    this.chain = next.catch(() => undefined);
    return next;
  }

  /** Drops unsaved state and stops timers (task finished or lease gone). */
  close(): void {
    this.closed = true;
    this.pending = null;
    if (this.timer) this.manager.clock.clearTimeout(this.timer);
    this.timer = null;
  }

  private async writePending(): Promise<void> {
    const blob = this.pending;
    if (!blob) return;
    this.pending = null;
    this.lastWriteAt = this.manager.clock.now();
    const ok = await this.manager.store.save(this.taskId, this.leaseId, blob);
    if (!ok) {
      const err = new LeaseLostError(this.taskId, 'checkpoint save');
      this.closed = true;
      this.onLost(err);
      throw err;
    }
    this.onSaved(blob);
  }
}

export class CheckpointManager {
  readonly intervalMs: number;

  constructor(
    readonly store: CheckpointStore,
    readonly clock: Clock,
    private readonly options: CheckpointManagerOptions,
  ) {
    this.intervalMs = options.intervalMs;
  }

  encode(taskId: string, token: string, data: unknown): CheckpointBlob {
    return encodeCheckpoint(taskId, token, data, this.options);
  }

  forTask(
    taskId: string,
    leaseId: string,
    hooks: { onSaved: (blob: CheckpointBlob) => void; onLost: (err: LeaseLostError) => void },
  ): TaskCheckpointer {
    return new TaskCheckpointer(this, taskId, leaseId, hooks.onSaved, hooks.onLost);
  }

  async load<C = JsonValue>(taskId: string): Promise<Checkpoint<C> | null> {
    const stored = await this.store.load(taskId);
    return stored ? decodeCheckpoint<C>(stored) : null;
  }

  /** Seed API: writes a checkpoint now for a task running under `leaseId`; LeaseLostError if it moved on. */
  async saveCheckpoint(taskId: string, token: string, data: unknown, leaseId: string): Promise<void> {
    const ok = await this.store.save(taskId, leaseId, this.encode(taskId, token, data));
    if (!ok) throw new LeaseLostError(taskId, 'checkpoint save');
  }

  /** Seed API: runs `fn` with the task's checkpoint (or null) and deletes the checkpoint when it succeeds. */
  async resumeTask<R, C = JsonValue>(taskId: string, fn: (checkpoint: Checkpoint<C> | null) => Promise<R>): Promise<R> {
    const result = await fn(await this.load<C>(taskId));
    await this.store.delete([taskId]);
    return result;
  }

  stats(): Promise<CheckpointStats> {
    return this.store.stats();
  }
}
