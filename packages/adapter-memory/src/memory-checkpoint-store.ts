// In-process CheckpointStore. Shares the task map with MemoryTaskStore so a save is fenced
// against the task's current lease in the same synchronous step that writes it.
import type { CheckpointBlob, CheckpointStats, CheckpointStore, StoredCheckpoint } from '@baton/core';
import type { MemoryState } from './memory-state.js';

export class MemoryCheckpointStore implements CheckpointStore {
  private readonly checkpoints = new Map<string, StoredCheckpoint>();
  private totalBytes = 0;

  constructor(private readonly state: MemoryState) {
    state.onTaskPurged((taskId) => this.drop(taskId));
  }

  async save(taskId: string, leaseId: string, blob: CheckpointBlob): Promise<boolean> {
    this.state.assertOpen();
    const task = this.state.tasks.get(taskId);
    // Fenced by leaseId so a worker that lost its lease cannot overwrite the new holder's checkpoint.
    if (task === undefined || task.state !== 'running' || task.leaseId !== leaseId) return false;
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
    task.hasCheckpoint = true;
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
    for (const id of new Set(taskIds)) {
      if (!this.drop(id)) continue;
      n++;
      const task = this.state.tasks.get(id);
      if (task !== undefined) task.hasCheckpoint = false;
    }
    return n;
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
