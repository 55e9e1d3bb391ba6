// The engine over this backend: the end-to-end guarantees a user relies on (run once with a
// result, duplicate enqueue, cancellation, resume from checkpoint after a stall, graceful hand-over,
// retry), exercised through createBaton with short real-time settings.
import { describe, expect, it } from 'vitest';
import { createBaton, PermanentError, silentLogger, type Backend, type Baton, type BatonOptions, type JsonValue } from '@baton/core';
import { encodeCheckpoint, type Queue, type TaskFlow, type TaskOutcome, type TaskState, type TaskStore } from '@baton/core/adapter';
import { claimIds, eventually, newTask, sleep, type Harness } from './harness.js';

export const WAIT = { timeoutMs: 20_000, pollMs: 50 };

/** A baton on the test's backend with short real-time settings; stopped (not closed) after the test. */
export function makeBaton(h: Harness, b: Backend, over: Partial<BatonOptions> = {}): Baton {
  const baton = createBaton({
    backend: b,
    logger: silentLogger,
    worker: { concurrency: 2, stallTimeoutMs: 5_000, heartbeatIntervalMs: 1_000, pollIntervalMs: 50, shutdownDeadlineMs: 2_000, ...over.worker },
    retry: { baseMs: 50, maxMs: 200, maxRetries: 3, ...over.retry },
    checkpoints: { intervalMs: 0, ...over.checkpoints },
    timerMaxSleepMs: 100,
    ...Object.fromEntries(Object.entries(over).filter(([k]) => !['worker', 'retry', 'checkpoints'].includes(k))),
  });
  // stop, not close: the harness closes the backend itself.
  h.onCleanup(() => baton.stop({ deadlineMs: 0 }));
  return baton;
}

/**
 * `b` with some methods of its tasks and queue ports and of its flow replaced; everything else
 * reaches the original, bound to it. `flow: null` drops the backend's flow, so core composes it
 * from the ports (as for a mixed backend). For tests that put a race in a chosen order.
 */
function interceptBackend(b: Backend, over: { tasks?: Partial<TaskStore>; queue?: Partial<Queue>; flow?: Partial<TaskFlow> | null }): Backend {
  const port = <T extends object>(target: T, replaced: Partial<T>): T =>
    new Proxy(target, {
      get(t, key) {
        if (Object.hasOwn(replaced, key)) return replaced[key as keyof T];
        const v: unknown = Reflect.get(t, key);
        return typeof v === 'function' ? v.bind(t) : v;
      },
    });
  const flow = over.flow === null || !b.flow ? undefined : port(b.flow, over.flow ?? {});
  return port(b, { tasks: port(b.tasks, over.tasks ?? {}), queue: port(b.queue, over.queue ?? {}), flow } as Partial<Backend>);
}

/** Enqueues a task whose first run fails, names it to `onEnqueued` before any worker starts, and expects it to complete on its retry. */
async function completesAfterOneRetry(h: Harness, b: Backend, onEnqueued: (taskId: string) => void): Promise<void> {
  const baton = makeBaton(h, b, { retry: { baseMs: 20, maxMs: 20 } }).register('flaky', (_input, ctx) => {
    if (ctx.attempt === 0) throw new Error('transient failure');
    return 'ok';
  });
  const { taskId } = await baton.enqueue('flaky', {});
  onEnqueued(taskId);
  await baton.start();
  expect(await baton.waitFor(taskId, { timeoutMs: 10_000, pollMs: 50 })).toMatchObject({ state: 'completed', attempt: 1 });
}

/** A promise with its resolver, for "the handler got this far" signals. */
export function latch<T = void>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

export function engineSuite(h: Harness): void {
  describe('Engine (createBaton)', () => {
    it('runs an enqueued task to completed with its result', async () => {
      const b = h.backend();
      const baton = makeBaton(h, b).register('double', (input) => ({ doubled: (input as { n: number }).n * 2 }));
      const { taskId, duplicate } = await baton.enqueue('double', { n: 21 });
      expect(duplicate).toBe(false);
      await baton.start();
      const rec = await baton.waitFor(taskId, WAIT);
      expect(rec).toMatchObject({ state: 'completed', result: { doubled: 42 }, attempt: 0, leaseId: null, workerId: null, error: null, queue: 'default' });
    });

    it('a duplicate enqueue returns the same task with duplicate: true and the handler runs once', async () => {
      const b = h.backend();
      let runs = 0;
      const baton = makeBaton(h, b).register('once', () => ++runs);
      const first = await baton.enqueue('once', { b: 2, a: 1 });
      const second = await baton.enqueue('once', { a: 1, b: 2 });
      expect(second).toEqual({ taskId: first.taskId, duplicate: true, key: first.key });
      await baton.start();
      expect((await baton.waitFor(first.taskId, WAIT)).state).toBe('completed');
      await baton.stop();
      expect(runs).toBe(1);
    });

    it('cancellation reaches ctx.signal of a running handler and the task ends cancelled', async () => {
      const b = h.backend();
      const started = latch();
      let aborted = false;
      const baton = makeBaton(h, b).register('long', async (_input, ctx) => {
        started.resolve();
        await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve(), { once: true }));
        aborted = true;
        throw ctx.signal.reason;
      });
      const { taskId } = await baton.enqueue('long', {});
      await baton.start();
      await started.promise;
      expect(await baton.cancel(taskId)).toBe(true);
      expect(await eventually(() => aborted)).toBe(true);
      expect(await baton.waitFor(taskId, WAIT)).toMatchObject({ state: 'cancelled', leaseId: null, workerId: null, error: { code: 'CANCELLED' } });
    });

    it('a cancel from another baton aborts the running handler within one heartbeat interval', async () => {
      const b = h.backend();
      const started = latch();
      let abortedAt = 0;
      const worker = makeBaton(h, b, { worker: { heartbeatIntervalMs: 300, stallTimeoutMs: 5_000 } }).register('long', async (_input, ctx) => {
        started.resolve();
        await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve(), { once: true }));
        abortedAt = Date.now();
        throw ctx.signal.reason;
      });
      const operator = makeBaton(h, b);
      const { taskId } = await worker.enqueue('long', {});
      await worker.start();
      await started.promise;
      const cancelledAt = Date.now();
      expect(await operator.admin.cancel(taskId)).toBe(true);
      expect(await eventually(() => abortedAt > 0, 10_000)).toBe(true);
      // Bounded, not timed: the abort came from a refused heartbeat, well inside the stall timeout.
      expect(abortedAt - cancelledAt).toBeLessThan(5_000);
      expect((await b.tasks.get(taskId))?.state).toBe('cancelled');
    });

    it('resumes from the checkpoint after its first holder stopped heartbeating', async () => {
      const b = h.backend();
      const seen: { checkpoint: unknown; recoveries: number }[] = [];
      const baton = makeBaton(h, b, { worker: { stallTimeoutMs: 1_000, heartbeatIntervalMs: 200 } });
      baton.register('resumable', (_input, ctx) => {
        seen.push({ checkpoint: ctx.checkpoint, recoveries: ctx.recoveries });
        return 'resumed';
      });
      const { taskId } = await baton.enqueue('resumable', { items: 30 });
      // A worker that claims, starts, checkpoints, then dies without releasing.
      const lease = (await claimIds(b, [taskId], 300)).get(taskId)!;
      await b.tasks.start([{ taskId, leaseId: lease, workerId: 'crashed-worker' }]);
      const blob = encodeCheckpoint(taskId, 'step-2', { done: 20 } as JsonValue, { gzipAboveBytes: 10_240, maxBytes: 1_000_000 });
      expect(await b.checkpoints.save(taskId, lease, blob)).toBe(true);

      await baton.start();
      const rec = await baton.waitFor(taskId, WAIT);
      expect(rec).toMatchObject({ state: 'completed', result: 'resumed', attempt: 0 });
      expect(rec.recoveries).toBeGreaterThanOrEqual(1);
      expect(seen[0]).toEqual({ checkpoint: { token: 'step-2', data: { done: 20 } }, recoveries: 1 });
      const resumed = await baton.queryEvents({ taskId, type: 'task.resumed' });
      expect(resumed.map((e) => e.data.token)).toEqual(['step-2']);
    });

    it('graceful stop releases the lease so a second baton picks the task up at once', async () => {
      const b = h.backend();
      const started = latch();
      let firstSawAbort = false;
      let runs = 0;
      const handler = async (_input: JsonValue, ctx: { signal: AbortSignal }) => {
        runs++;
        if (runs === 1) {
          started.resolve();
          await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve(), { once: true }));
          firstSawAbort = true;
          throw ctx.signal.reason;
        }
        return 'second';
      };
      // A stall timeout far beyond the wait below: only the release can explain a quick pickup.
      const worker = { stallTimeoutMs: 120_000, heartbeatIntervalMs: 10_000, shutdownDeadlineMs: 100 };
      const first = makeBaton(h, b, { worker }).register('handover', handler);
      const { taskId } = await first.enqueue('handover', {});
      await first.start();
      await started.promise;
      await first.stop();
      expect(firstSawAbort).toBe(true);
      expect(await b.tasks.get(taskId)).toMatchObject({ state: 'pending', leaseId: null, attempt: 0, recoveries: 0 });

      const second = makeBaton(h, b, { worker }).register('handover', handler);
      await second.start();
      const rec = await second.waitFor(taskId, WAIT);
      expect(rec).toMatchObject({ state: 'completed', result: 'second', attempt: 0, recoveries: 0 });
    });

    it('delivers a task that was created but never enqueued (reconciler)', async () => {
      const b = h.backend();
      const baton = makeBaton(h, b, { reconcileAfterMs: 200 }).register('orphan', () => 'found');
      const t = newTask({ type: 'orphan', input: {} });
      await b.tasks.create([t]);
      await baton.start();
      expect(await baton.waitFor(t.id, WAIT)).toMatchObject({ state: 'completed', result: 'found' });
    });

    it('retries after a thrown error and succeeds on attempt 1, clearing the earlier error', async () => {
      const b = h.backend();
      const attempts: number[] = [];
      const baton = makeBaton(h, b).register('flaky', (_input, ctx) => {
        attempts.push(ctx.attempt);
        if (ctx.attempt === 0) throw new Error('transient failure');
        return { attempt: ctx.attempt };
      });
      const { taskId } = await baton.enqueue('flaky', {});
      await baton.start();
      const rec = await baton.waitFor(taskId, WAIT);
      expect(rec).toMatchObject({ state: 'completed', result: { attempt: 1 }, attempt: 1, error: null });
      expect(attempts).toEqual([0, 1]);
    });

    it('a retry timer that fires while its failed run is being written still runs the retry', async () => {
      // The order forced here: the timer finds the task still running, then the failure write
      // (task → scheduled) lands, then the timer reads the task.
      const b = h.backend();
      let target = '';
      let raced = false;
      const timerSawRunning = latch();
      const failureWritten = latch();
      const holds = (outcomes: TaskOutcome[]) => outcomes.some((o) => o.taskId === target && o.state === 'scheduled');
      const hold = async <T>(write: () => Promise<T>): Promise<T> => {
        await Promise.race([timerSawRunning.promise, sleep(5_000)]);
        try {
          return await write();
        } finally {
          failureWritten.resolve();
        }
      };
      const wrapped = interceptBackend(b, {
        tasks: {
          finish: (outcomes) => (holds(outcomes) ? hold(() => b.tasks.finish(outcomes)) : b.tasks.finish(outcomes)),
          async transition(ids: string[], from: readonly TaskState[], to: TaskState, options) {
            const moved = await b.tasks.transition(ids, from, to, options);
            if (!raced && ids.includes(target) && from.includes('scheduled') && to === 'pending' && moved.length === 0) {
              raced = true;
              timerSawRunning.resolve();
            }
            return moved;
          },
          async get(id: string) {
            if (raced && id === target) await Promise.race([failureWritten.promise, sleep(5_000)]);
            return b.tasks.get(id);
          },
        },
        flow: {
          finishAndSettle: (items) => (holds(items.map((i) => i.outcome)) ? hold(() => b.flow!.finishAndSettle(items)) : b.flow!.finishAndSettle(items)),
        },
      });
      await completesAfterOneRetry(h, wrapped, (id) => (target = id));
      expect(raced).toBe(true);
    });

    it('a retry timer that fires between the failure write and the ack of the old delivery still runs the retry', async () => {
      // Core's composed flow (a mixed backend's) writes the outcome, then acks the delivery. The
      // order forced here: the timer moves the task to pending and enqueues it while the failed
      // run's delivery is still live (so the enqueue is dropped), then that delivery is acked.
      const b = h.backend();
      let target = '';
      let enqueues = 0;
      let acked = false;
      let raced = false;
      const timerEnqueued = latch();
      const wrapped = interceptBackend(b, {
        flow: null,
        queue: {
          async ack(refs) {
            // The failed run's ack waits for the timer's enqueue (the first counted: the task's
            // id is not known yet when the enqueue that creates it runs).
            if (!acked && refs.some((r) => r.taskId === target)) {
              acked = true;
              await Promise.race([timerEnqueued.promise, sleep(5_000)]);
              raced = enqueues > 0;
            }
            return b.queue.ack(refs);
          },
          async enqueue(items, options) {
            await b.queue.enqueue(items, options);
            if (items.some((i) => i.taskId === target) && ++enqueues === 1) timerEnqueued.resolve();
          },
        },
      });
      await completesAfterOneRetry(h, wrapped, (id) => (target = id));
      expect(raced).toBe(true);
    });

    it('a PermanentError makes the task dead at once, with the error stored', async () => {
      const b = h.backend();
      let runs = 0;
      const baton = makeBaton(h, b).register('bad-input', () => {
        runs++;
        throw new PermanentError('input is invalid');
      });
      const { taskId } = await baton.enqueue('bad-input', {});
      await baton.start();
      const rec = await baton.waitFor(taskId, WAIT);
      expect(rec).toMatchObject({ state: 'dead', leaseId: null, workerId: null });
      expect(rec.error).toMatchObject({ message: 'input is invalid', code: 'PERMANENT' });
      expect(runs).toBe(1);
    });

    it('records an unbroken audit trail: enqueued, started, checkpointed, progress, completed, in order', async () => {
      const b = h.backend();
      const baton = makeBaton(h, b).register('audited', async (_input, ctx) => {
        await ctx.saveCheckpoint('half', { step: 1 }, { flush: true });
        await ctx.reportProgress(0.5);
        return 'ok';
      });
      const { taskId } = await baton.enqueue('audited', {});
      await baton.start();
      const rec = await baton.waitFor(taskId, WAIT);
      expect(rec.progress).toBe(0.5);
      await baton.stop();
      const events = await baton.queryEvents({ taskId });
      expect(events.map((e) => e.type)).toEqual(['task.enqueued', 'task.started', 'task.checkpointed', 'task.progress', 'task.completed']);
      const seqs = events.map((e) => e.seq);
      expect(new Set(seqs).size).toBe(seqs.length);
      expect([...seqs].sort((x, y) => x - y)).toEqual(seqs);
    });

    it('an operator retry of a dead task runs it again under the same id until it completes', async () => {
      const b = h.backend();
      let fail = true;
      const baton = makeBaton(h, b).register('fixable', () => {
        if (fail) throw new PermanentError('broken until fixed');
        return 'fixed';
      });
      const { taskId } = await baton.enqueue('fixable', {});
      await baton.start();
      expect((await baton.waitFor(taskId, WAIT)).state).toBe('dead');
      fail = false;
      await expect(baton.admin.retry(taskId)).resolves.toMatchObject({ id: taskId });
      const done = await baton.waitFor(taskId, WAIT);
      expect(done).toMatchObject({ id: taskId, state: 'completed', result: 'fixed', error: null });
      expect((await baton.queryEvents({ taskId, type: 'task.retried' })).length).toBe(1);
    });
  });
}
