// In-process CheckpointStore. Shares the task map with MemoryTaskStore, so a save is fenced
// against the task's current lease, marks the task and appends its events in one synchronous
// step. Bodies are copied in and out: load returns the bytes exactly as saved, never decoded.
import { transitions, type Audited, type CheckpointBlob, type CheckpointStats, type CheckpointStore, type StoredCheckpoint } from '@baton/core/adapter';
import type { MemoryState } from './memory-state.js';

export class MemoryCheckpointStore implements CheckpointStore {
  private readonly checkpoints = new Map<string, StoredCheckpoint>();
  private totalBytes = 0;

  constructor(private readonly state: MemoryState) {
    state.onTaskDeleted((taskId) => this.drop(taskId));
  }

  async save(taskId: string, leaseId: string, blob: CheckpointBlob, options?: Audited): Promise<boolean> {
    this.state.assertOpen();
    const task = this.state.tasks.get(taskId);
    // A worker that lost its lease must not overwrite the new holder's checkpoint.
    if (task === undefined || !transitions.holdsLease(task, leaseId)) return false;
    this.drop(taskId);
    const stored: StoredCheckpoint = {
      taskId,
      token: blob.token,
      encoding: blob.encoding,
      body: Uint8Array.from(blob.body),
      sizeBytes: blob.sizeBytes,
      updatedAt: this.state.now(),
    };
    this.checkpoints.set(taskId, stored);
    this.totalBytes += stored.body.byteLength;
    // Not a lifecycle change: the stored record is marked in place and updatedAt stays.
    task.hasCheckpoint = true;
    this.state.events.appendFor(task, options?.events);
    return true;
  }

  async load(taskId: string): Promise<StoredCheckpoint | null> {
    this.state.assertOpen();
    const c = this.checkpoints.get(taskId);
    return c === undefined ? null : { ...c, body: Uint8Array.from(c.body) };
  }

  async delete(taskIds: string[]): Promise<number> {
    this.state.assertOpen();
    let n = 0;
    for (const id of taskIds) if (this.deleteOne(id)) n++;
    return n;
  }

  /** Deletes the task's checkpoint and clears its `hasCheckpoint`; false when it had none. */
  deleteOne(taskId: string): boolean {
    if (!this.drop(taskId)) return false;
    const task = this.state.tasks.get(taskId);
    if (task !== undefined) task.hasCheckpoint = false;
    return true;
  }

  async stats(): Promise<CheckpointStats> {
    this.state.assertOpen();
    const count = this.checkpoints.size;
    return { count, totalBytes: this.totalBytes, avgBytes: count === 0 ? 0 : this.totalBytes / count };
  }

  private drop(taskId: string): boolean {
    const c = this.checkpoints.get(taskId);
    if (c === undefined) return false;
    this.checkpoints.delete(taskId);
    this.totalBytes -= c.body.byteLength;
    return true;
  }
}
