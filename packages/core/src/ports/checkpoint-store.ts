import type { Audited } from './task-store.js';

/** A checkpoint as core encodes it: JSON text, gzipped above the configured size. */
export interface CheckpointBlob {
  token: string;
  encoding: 'json' | 'gzip';
  /** The encoded bytes: UTF-8 JSON, or gzip of it. */
  body: Uint8Array;
  /** Size of the JSON before compression. */
  sizeBytes: number;
}

export interface StoredCheckpoint extends CheckpointBlob {
  taskId: string;
  /** Epoch ms (backend clock) of the last save. */
  updatedAt: number;
}

export interface CheckpointStats {
  count: number;
  /** Sum of stored body sizes, in bytes. */
  totalBytes: number;
  avgBytes: number;
}

/** One checkpoint per task, the newest save wins. Lives beside the TaskStore it fences against. */
export interface CheckpointStore {
  /**
   * Replaces the task's checkpoint and marks the task `hasCheckpoint`, only if the task is running
   * under `leaseId` (appending `events` with it). Returns false (writing nothing) when the lease moved on.
   */
  save(taskId: string, leaseId: string, blob: CheckpointBlob, options?: Audited): Promise<boolean>;
  /**
   * The stored checkpoint with its bytes exactly as saved. Never decodes them and never throws on
   * bad bytes: core decodes, and quarantines a task whose checkpoint it cannot read.
   */
  load(taskId: string): Promise<StoredCheckpoint | null>;
  /** Returns how many checkpoints were deleted. */
  delete(taskIds: string[]): Promise<number>;
  stats(): Promise<CheckpointStats>;
}
