// State shared by the stores of one memory backend: its clock (the "backend clock"), the task
// map the checkpoint store fences against, and the closed flag every call checks.
import { BackendUnavailableError, type Clock, type JsonValue, type TaskRecord } from '@baton/core';

export interface StoredTask extends TaskRecord {
  /** Creation order, so listing is oldest first even when createdAt ties. */
  seq: number;
  /** When the idempotency key stops mapping to this task (backend clock). */
  keyExpiresAt: number;
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

/**
 * Copies JSON so callers never share objects with the store. Hand-rolled because structuredClone
 * costs several times more on the small objects of the hot path. A `__proto__` key is copied as
 * an own property (as JSON.parse makes it), never as a prototype.
 */
export function cloneJson<T extends JsonValue | undefined>(value: T): T {
  return (value !== null && typeof value === 'object' ? copy(value) : value) as T;
}

function copy(value: JsonValue): JsonValue {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    const out: JsonValue[] = new Array<JsonValue>(value.length);
    for (let i = 0; i < value.length; i++) out[i] = copy(value[i]!);
    return out;
  }
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  // Dates and the like become what JSON would make of them, as in any serialising backend.
  if (typeof toJSON === 'function') return copy((toJSON as () => JsonValue).call(value));
  const out: { [key: string]: JsonValue } = {};
  for (const key of Object.keys(value)) {
    const v = copy(value[key]!);
    if (key === '__proto__') Object.defineProperty(out, key, { value: v, enumerable: true, writable: true, configurable: true });
    else out[key] = v;
  }
  return out;
}
