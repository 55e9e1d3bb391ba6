// Per-test plumbing shared by every part of the suite: a fresh backend per test, cleanup that
// runs even when a test fails, and small builders for records the ports take.
import { afterEach, beforeEach } from 'vitest';
import { newId, type Backend, type CheckpointBlob, type JsonValue, type NewTask } from '@baton/core';

export interface ConformanceTarget {
  name: string;
  /** A fresh, isolated backend (own prefix/schema/stream/file). */
  create(): Promise<Backend>;
  /** Extra cleanup after backend.close() (drop schema, delete keys/file). */
  destroy?(backend: Backend): Promise<void>;
}

export interface Harness {
  readonly target: ConformanceTarget;
  /** The backend of the running test. */
  backend(): Backend;
  /** Runs before the backend closes, even if the test failed (stop engines, end loops). */
  onCleanup(fn: () => Promise<void>): void;
}

/** Registers beforeEach/afterEach in the calling describe block. */
export function createHarness(target: ConformanceTarget): Harness {
  let current: Backend | undefined;
  let cleanups: (() => Promise<void>)[] = [];
  beforeEach(async () => {
    current = await target.create();
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
    input: { n: 1 },
    idempotencyKey: `key-${newId()}`,
    keyTtlMs: 3_600_000,
    runId: null,
    phaseId: null,
    maxRetries: 3,
    budget: null,
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
export async function claimIds(b: Backend, taskIds: string[], leaseMs: number): Promise<Map<string, string>> {
  const want = new Set(taskIds);
  const leases = new Map<string, string>();
  for (let i = 0; i < 100 && leases.size < want.size; i++) {
    const got = await b.queue.claim({ limit: want.size - leases.size, leaseMs, waitMs: 100 });
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
  await b.queue.enqueue([{ taskId: t.id }]);
  const leaseId = (await claimIds(b, [t.id], leaseMs)).get(t.id)!;
  const [started] = await b.tasks.start([{ taskId: t.id, leaseId, workerId: 'conformance-worker' }]);
  if (started?.task === null || started === undefined) throw new Error(`runningTask: start of ${t.id} did not move it to running`);
  return { id: t.id, leaseId };
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
