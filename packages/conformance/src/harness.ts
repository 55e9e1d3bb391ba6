// Per-test plumbing shared by every part of the suite: a fresh backend per test, cleanup that
// runs even when a test fails, and small builders for records the ports take.
import { afterEach, beforeEach, describe, it } from 'vitest';
import {
  newId,
  silentLogger,
  type Backend,
  type BackendCapabilities,
  type CheckpointBlob,
  type JsonValue,
  type NewEvent,
  type NewTask,
  type QueueItem,
  type StartResult,
  type StoredError,
  type TaskRecord,
} from '@baton/core/adapter';

/**
 * Writes behind the SDK's back, for the corruption suite: each hook stores bytes the adapter
 * cannot decode in one place. A backend that stores live objects (memory) has none.
 */
export interface CorruptionHooks<B extends Backend = Backend> {
  /** Overwrites one stored field of a task (e.g. 'input', 'result', 'budget', 'error') with undecodable bytes. */
  corruptTaskField(backend: B, taskId: string, field: 'input' | 'budget' | 'error' | 'result'): Promise<void>;
  /** Overwrites a task's stored checkpoint body with bytes that are neither valid gzip nor JSON. */
  corruptCheckpoint(backend: B, taskId: string): Promise<void>;
  /** Overwrites a pending timer's stored payload with undecodable bytes. */
  corruptTimer(backend: B, timerId: string): Promise<void>;
  /** Overwrites a stored event's data with undecodable bytes. */
  corruptEvent(backend: B, eventSeq: number): Promise<void>;
  /**
   * Adds to `queue` a ready delivery the store cannot decode: garbage where a task id belongs,
   * or the backend's most extreme position (e.g. a Redis stream entry with the maximum id).
   */
  injectBadDelivery(backend: B, queue: string): Promise<void>;
  /** Deletes the task's record but leaves its live delivery in the queue. */
  deleteTaskKeepDelivery(backend: B, taskId: string): Promise<void>;
}

export interface ConformanceTarget<B extends Backend = Backend> {
  name: string;
  /** A fresh, isolated backend (own prefix/schema/stream/file), not yet `ready`. */
  create(): Promise<B>;
  /** Extra cleanup after backend.close() (drop schema, delete keys/file). */
  destroy?(backend: B): Promise<void>;
  /** Present when the adapter can be corrupted behind its back (durable stores that decode bytes). */
  corrupt?: CorruptionHooks<B>;
  /**
   * Required when the backend declares `transactionalEnqueue`: runs `work` with an open
   * transaction of the application's driver (what a user passes as `{ transaction }`), then
   * commits or rolls it back.
   */
  transaction?(backend: B, work: (transaction: unknown) => Promise<void>, end: 'commit' | 'rollback'): Promise<void>;
}

export interface Harness<B extends Backend = Backend> {
  readonly target: ConformanceTarget<B>;
  /** The backend of the running test (already `ready`). */
  backend(): B;
  /** Runs before the backend closes, even if the test failed (stop engines, end loops). */
  onCleanup(fn: () => Promise<void>): void;
}

/**
 * Registers `body`'s suites for `target` in a describe block of their own, with a fresh backend per
 * test. Partial adapters call it with just the sub-suites they implement.
 */
export function describeConformance<B extends Backend>(target: ConformanceTarget<B>, body: (h: Harness<B>) => void, title = `conformance: ${target.name}`): void {
  describe(title, () => {
    body(createHarness(target));
  });
}

/**
 * Registers a test that runs only on backends declaring the given capabilities (e.g.
 * `{ atomicEvents: false }`); on others vitest reports it skipped, with the reason. Decided per
 * test from the backend itself: nothing is created while tests are being collected.
 */
export function itWhen(h: Harness, declared: Partial<BackendCapabilities>, name: string, fn: () => Promise<void>): void {
  it(name, async (ctx) => {
    const caps = h.backend().capabilities;
    const missing = (Object.keys(declared) as (keyof BackendCapabilities)[]).filter((k) => caps[k] !== declared[k]);
    ctx.skip(missing.length > 0, `needs ${missing.map((k) => `${k}: ${String(declared[k])}`).join(', ')}`);
    await fn();
  });
}

/** Registers beforeEach/afterEach in the calling describe block. */
export function createHarness<B extends Backend>(target: ConformanceTarget<B>): Harness<B> {
  let current: B | undefined;
  let cleanups: (() => Promise<void>)[] = [];
  beforeEach(async () => {
    current = await target.create();
    await current.ready({ logger: silentLogger });
  });
  afterEach(async () => {
    const b = current;
    const fns = cleanups.reverse();
    current = undefined;
    cleanups = [];
    const errors: unknown[] = [];
    for (const fn of fns) await fn().catch((err: unknown) => errors.push(err));
    if (b !== undefined) {
      try {
        await b.close();
      } finally {
        await target.destroy?.(b);
      }
    }
    if (errors.length > 0) throw errors[0];
  });
  return {
    target,
    backend() {
      if (current === undefined) throw new Error(`conformance(${target.name}): no backend; target.create() failed or the test is outside it()`);
      return current;
    },
    onCleanup(fn) {
      cleanups.push(fn);
    },
  };
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export function newTask(over: Partial<NewTask> = {}): NewTask {
  return {
    id: newId(),
    type: 'conformance',
    queue: 'default',
    priority: 0,
    group: null,
    input: { n: 1 },
    idempotencyKey: `key-${newId()}`,
    keyTtlMs: 3_600_000,
    runId: null,
    phaseId: null,
    maxRetries: 3,
    budget: null,
    traceContext: null,
    ...over,
  };
}

/** Creates tasks one call at a time (so creation order is unambiguous) and returns their ids. */
export async function createTasks(b: Backend, overs: Partial<NewTask>[]): Promise<string[]> {
  const ids: string[] = [];
  for (const over of overs) {
    const t = newTask(over);
    const [r] = await b.tasks.create([t]);
    ids.push(r!.id);
    await sleep(3);
  }
  return ids;
}

/**
 * Claims until every listed task has a delivery; returns leaseId by task id. The queue must hold
 * nothing else that is ready. Bounded: fails after ~10 s.
 */
export async function claimIds(b: Backend, taskIds: string[], leaseMs: number, queues: readonly string[] = ['default']): Promise<Map<string, string>> {
  const want = new Set(taskIds);
  const leases = new Map<string, string>();
  for (let i = 0; i < 100 && leases.size < want.size; i++) {
    const got = await b.queue.claim({ queues, limit: want.size - leases.size, leaseMs, waitMs: 100 });
    for (const d of got) {
      if (!want.has(d.taskId)) throw new Error(`claimIds: unexpected delivery of ${d.taskId}`);
      leases.set(d.taskId, d.leaseId);
    }
  }
  if (leases.size < want.size) throw new Error(`claimIds: claimed ${leases.size} of ${want.size} tasks within 10 s`);
  return leases;
}

/** Creates, enqueues, claims and starts a task: it is running under the returned lease. */
export async function runningTask(b: Backend, over: Partial<NewTask> = {}, leaseMs = 60_000): Promise<{ id: string; leaseId: string }> {
  const t = newTask(over);
  await b.tasks.create([t]);
  await b.queue.enqueue([queueItem(t)]);
  const leaseId = (await claimIds(b, [t.id], leaseMs, [t.queue])).get(t.id)!;
  const [started] = await b.tasks.start([{ taskId: t.id, leaseId, workerId: 'conformance-worker' }]);
  if (started?.task === null || started === undefined) throw new Error(`runningTask: start of ${t.id} did not move it to running`);
  return { id: t.id, leaseId };
}

/** The stored task, failing the test when it is missing. */
export async function mustGet(b: Backend, id: string): Promise<TaskRecord> {
  const rec = await b.tasks.get(id);
  if (rec === null) throw new Error(`task ${id} is not stored`);
  return rec;
}

/**
 * Moves a created task to running with tasks.start alone (no delivery): the TaskStore fences on
 * the leaseId it is given, wherever it came from.
 */
export async function startTask(b: Backend, id: string, leaseId = `lease-${newId()}`, workerId = 'conformance-worker'): Promise<string> {
  const [started] = await b.tasks.start([{ taskId: id, leaseId, workerId }]);
  if (started === undefined || started.task === null) throw new Error(`startTask: start of ${id} did not move it to running`);
  return leaseId;
}

/**
 * A start answer with the optional fields a store may leave out (`leaseId` unless the task is
 * running, `corrupt` unless just quarantined) dropped when empty, for exact comparison.
 */
export function startAnswer(r: StartResult | undefined): StartResult | undefined {
  if (r === undefined || r.task !== null) return r;
  const { leaseId, corrupt, ...rest } = r;
  return { ...rest, ...(leaseId == null ? {} : { leaseId }), ...(corrupt === undefined ? {} : { corrupt }) };
}

/** A valid event with a fresh id; `over` replaces fields. */
export function newEvent(over: Partial<NewEvent> = {}): NewEvent {
  return { id: newId(), type: 'task.started', at: Date.now(), runId: null, phaseId: null, taskId: null, workerId: 'w-1', data: {}, ...over };
}

export const boom: StoredError = { name: 'Error', message: 'boom', code: null, stack: 'Error: boom\n    at handler' };

/** The queue item of a task as core would enqueue it. */
export function queueItem(t: Pick<NewTask, 'id' | 'queue' | 'priority' | 'group'>, delayMs?: number): QueueItem {
  return { taskId: t.id, queue: t.queue, priority: t.priority, group: t.group, ...(delayMs === undefined ? {} : { delayMs }) };
}

export function jsonBlob(token: string, data: JsonValue): CheckpointBlob {
  const body = new Uint8Array(Buffer.from(JSON.stringify(data), 'utf8'));
  return { token, encoding: 'json', body, sizeBytes: body.byteLength };
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)) === 0;
}

/** Polls `check` until it returns true; false after `timeoutMs`. */
export async function eventually(check: () => Promise<boolean> | boolean, timeoutMs = 10_000, everyMs = 25): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() >= deadline) return false;
    await sleep(everyMs);
  }
}

/** Plausible epoch ms from the backend clock (same machine: within a few minutes of ours). */
export function isEpochMs(v: unknown): boolean {
  return typeof v === 'number' && Number.isFinite(v) && Math.abs(v - Date.now()) < 10 * 60_000;
}

export const byId = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
