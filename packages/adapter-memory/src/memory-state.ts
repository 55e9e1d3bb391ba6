// State shared by the stores of one memory backend: its clock (the "backend clock"), the task
// map the checkpoint store fences against, and the closed flag every call checks.
import { BackendUnavailableError, type Clock, type JsonValue, type TaskRecord } from '@baton/core';

export interface StoredTask extends TaskRecord {
  /** Creation order, so listing is oldest first even when createdAt ties. */
  seq: number;
}

export class MemoryState {
  readonly tasks = new Map<string, StoredTask>();
  private closed = false;
  private readonly closeHooks: (() => void)[] = [];
  private readonly purgeHooks: ((taskId: string) => void)[] = [];

  constructor(readonly clock: Clock) {}

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

  /** Lets stores that hang data off a task (checkpoints) drop it when the task is purged. */
  onTaskPurged(hook: (taskId: string) => void): void {
    this.purgeHooks.push(hook);
  }

  taskPurged(taskId: string): void {
    for (const hook of this.purgeHooks) hook(taskId);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const hook of this.closeHooks) hook();
  }
}

/** Copies JSON so callers never share objects with the store; primitives need no copy. */
export function cloneJson<T extends JsonValue | undefined>(value: T): T {
  return value !== null && typeof value === 'object' ? structuredClone(value) : value;
}
