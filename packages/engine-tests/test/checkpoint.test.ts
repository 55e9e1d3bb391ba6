// Checkpoints: resume after a crash, the BaseAgent API, coalescing (newest state wins), gzip, and
// what happens when a save fails (issue 10: a failed write is never silently lost).
import { afterEach, describe, expect, it } from 'vitest';
import { BaseAgent, type CheckpointStats, type NewEvent, type TaskContext } from '@baton/core';
import type { CheckpointStore } from '@baton/core/adapter';
import { FakeClock, memoryBackend, type MemoryBackend } from '@baton/memory';
import { closeAll, freezable, harness, latch, linesFor, override } from './helpers.js';

afterEach(closeAll);

/** The memory backend with a CheckpointStore whose saves fail on the listed calls (1-based). */
function failingSaves(memory: MemoryBackend, failOn: number[]): { backend: MemoryBackend; saves: string[] } {
  const saves: string[] = [];
  let n = 0;
  const checkpoints = override<CheckpointStore>(memory.checkpoints, {
    async save(taskId, leaseId, blob, options) {
      n++;
      if (failOn.includes(n)) {
        saves.push(`${blob.token}:failed`);
        throw new Error('checkpoint store unreachable');
      }
      saves.push(blob.token);
      return memory.checkpoints.save(taskId, leaseId, blob, options);
    },
  });
  return { backend: { ...memory, checkpoints }, saves };
}

describe('crash and resume', () => {
  it('resumes on another worker from checkpoint 2 without redoing steps 1 and 2', async () => {
    const clock = new FakeClock();
    const memory = memoryBackend({ clock });
    const worker = { stallTimeoutMs: 10_000, heartbeatIntervalMs: 2_000, concurrency: 1 };
    const steps: string[] = [];
    const pipeline = (crash: boolean) => async (_input: unknown, ctx: TaskContext) => {
      let state = (ctx.checkpoint?.data as { done: string[] } | undefined) ?? { done: [] };
      for (const step of ['fetch', 'analyse', 'report']) {
        if (state.done.includes(step)) continue;
        if (crash && step === 'report') return new Promise(() => undefined); // the process "dies" here
        steps.push(step);
        state = { done: [...state.done, step] };
        await ctx.saveCheckpoint(`${step}-complete`, state, { flush: true });
      }
      return state;
    };
    const dying = freezable(memory);
    const first = harness({ worker }, { clock, memory, backend: dying.backend, keepOpen: true });
    first.baton.register('pipeline', pipeline(true));
    await first.baton.start();
    const { taskId } = await first.baton.enqueue('pipeline', {});
    await first.until(() => steps.length === 2, 'two steps');
    // Crash: the first process stops dead, holding its lease; nothing it does reaches the store again.
    dying.freeze();

    const second = harness({ worker }, { clock, memory });
    second.baton.register('pipeline', pipeline(false));
    const recovered: NewEvent[] = [];
    second.baton.on('task.recovered', (e) => recovered.push(e));
    await second.baton.start();
    await second.until(async () => (await second.task(taskId)).state === 'completed', 'completion on the second worker', 100, 1_000);
    expect(steps).toEqual(['fetch', 'analyse', 'report']);
    const t = await second.task(taskId);
    expect(t).toMatchObject({ recoveries: 1, attempt: 0, result: { done: ['fetch', 'analyse', 'report'] } });
    expect(recovered.map((e) => e.taskId)).toEqual([taskId]);
    // The resume point is on record before the handler ran, and the checkpoint is gone once completed.
    const resumed = (await second.stored(taskId)).filter((e) => e.type === 'task.resumed');
    expect(resumed.map((e) => e.data)).toEqual([{ token: 'analyse-complete', recoveries: 1, attempt: 0 }]);
    expect(await memory.checkpoints.load(taskId)).toBeNull();
  });

  it('supports the seed BaseAgent API: getCheckpointToken / getCheckpointData / saveCheckpoint', async () => {
    const h = harness();
    const seen: (string | null)[] = [];
    class Agent extends BaseAgent<{ x: number }, { y: number }, { half: number }> {
      async execute(input: { x: number }) {
        seen.push(this.getCheckpointToken(input));
        if (this.getCheckpointToken(input) === 'half-done') return { y: this.getCheckpointData(input)!.half * 2 };
        await this.saveCheckpoint('half-done', { half: input.x / 2 }, { flush: true });
        throw new Error('transient');
      }
    }
    h.baton.register('agent', Agent);
    await h.baton.start();
    const { taskId } = await h.baton.enqueue('agent', { x: 10 });
    await h.until(async () => (await h.task(taskId)).state === 'completed', 'completion', 100);
    expect(seen).toEqual([null, 'half-done']);
    expect((await h.task(taskId)).result).toEqual({ y: 10 });
  });
});

describe('coalescing', () => {
  it('writes at most one checkpoint per interval, newest state winning, and flushes before a retry', async () => {
    const clock = new FakeClock();
    const memory = memoryBackend({ clock });
    const { backend, saves } = failingSaves(memory, []);
    const h = harness({ checkpoints: { intervalMs: 60_000 }, retry: { baseMs: 100 } }, { clock, memory, backend });
    let resumedFrom: unknown = null;
    h.baton.register('steps', async (_i, ctx) => {
      if (ctx.checkpoint) {
        resumedFrom = ctx.checkpoint;
        return 'ok';
      }
      for (let i = 1; i <= 5; i++) await ctx.saveCheckpoint(`step-${i}`, { i });
      throw new Error('boom');
    });
    await h.baton.start();
    const { taskId } = await h.baton.enqueue('steps', {});
    await h.until(async () => (await h.task(taskId)).state === 'completed', 'completion', 50);
    expect(saves).toEqual(['step-1', 'step-5']); // step-1 at once, step-5 flushed when the run failed
    expect(resumedFrom).toEqual({ token: 'step-5', data: { i: 5 } });
  });

  it('a coalesced save is written when its interval ends, while the handler runs on', async () => {
    const h = harness({ checkpoints: { intervalMs: 60_000 } });
    const done = latch();
    h.baton.register('long', async (_i, ctx) => {
      await ctx.saveCheckpoint('a', 1);
      await ctx.saveCheckpoint('b', 2);
      await ctx.saveCheckpoint('c', 3);
      await done.promise;
      return 'ok';
    });
    await h.baton.start();
    const { taskId } = await h.baton.enqueue('long', {});
    await h.until(async () => (await h.memory.checkpoints.load(taskId))?.token === 'a', 'first save');
    await h.clock.advance(59_000);
    expect((await h.memory.checkpoints.load(taskId))?.token).toBe('a');
    await h.clock.advance(2_000);
    expect((await h.memory.checkpoints.load(taskId))?.token).toBe('c');
    done.resolve();
    await h.until(async () => (await h.task(taskId)).state === 'completed', 'completion');
    expect((await h.stored(taskId)).filter((e) => e.type === 'task.checkpointed').map((e) => e.data.token)).toEqual(['a', 'c']);
  });

  it('flushes the pending coalesced checkpoint on graceful shutdown', async () => {
    const h = harness({ checkpoints: { intervalMs: 60_000 }, worker: { shutdownDeadlineMs: 0 } });
    h.baton.register('steps', async (_i, ctx) => {
      await ctx.saveCheckpoint('step-1', { i: 1 });
      await ctx.saveCheckpoint('step-2', { i: 2 });
      return new Promise(() => undefined);
    });
    await h.baton.start();
    const { taskId } = await h.baton.enqueue('steps', {});
    await h.until(async () => (await h.memory.checkpoints.load(taskId)) !== null, 'first save');
    await h.baton.stop();
    expect(await h.task(taskId)).toMatchObject({ state: 'pending', leaseId: null });
    expect((await h.memory.checkpoints.load(taskId))?.token).toBe('step-2');
  });

  it('gzips large checkpoints, reports stats, and an operator reads them back decoded', async () => {
    const h = harness();
    const blob = 'abc'.repeat(10_000);
    h.baton.register('big', async (_i, ctx) => {
      await ctx.saveCheckpoint('big', { blob }, { flush: true });
      return new Promise(() => undefined);
    });
    await h.baton.start();
    const { taskId } = await h.baton.enqueue('big', {});
    await h.until(async () => (await h.memory.checkpoints.load(taskId)) !== null, 'checkpoint');
    const stored = (await h.memory.checkpoints.load(taskId))!;
    expect(stored.encoding).toBe('gzip');
    expect(stored.body.byteLength).toBeLessThan(stored.sizeBytes);
    const { checkpoint } = await h.baton.admin.getTask(taskId, { checkpoint: true });
    expect(checkpoint).toMatchObject({ token: 'big', encoding: 'gzip', data: { blob }, sizeBytes: stored.sizeBytes, storedBytes: stored.body.byteLength });
    const stats: CheckpointStats = (await h.baton.stats()).checkpoints;
    expect(stats).toMatchObject({ count: 1, totalBytes: stored.body.byteLength });
  });
});

describe('a failed checkpoint write (issue 10)', () => {
  it('stays pending, is logged with the task id and retried, and lands', async () => {
    const clock = new FakeClock();
    const memory = memoryBackend({ clock });
    const { backend, saves } = failingSaves(memory, [2]);
    const h = harness({ checkpoints: { intervalMs: 60_000 } }, { clock, memory, backend });
    const done = latch();
    h.baton.register('steps', async (_i, ctx) => {
      await ctx.saveCheckpoint('step-1', { i: 1 }); // written at once
      await ctx.saveCheckpoint('step-2', { i: 2 }); // coalesced: due in 60 s
      await done.promise;
      return 'ok';
    });
    await h.baton.start();
    const { taskId } = await h.baton.enqueue('steps', {});
    await h.until(() => saves.length === 1, 'first save');
    await h.clock.advance(60_000);
    expect(saves).toEqual(['step-1', 'step-2:failed']);
    expect((await memory.checkpoints.load(taskId))?.token).toBe('step-1');
    const warned = linesFor(h.logs, taskId);
    expect(warned).toHaveLength(1);
    expect(warned[0]).toMatchObject({ level: 'warn', fields: { taskId, err: expect.objectContaining({ message: 'checkpoint store unreachable' }) } });
    // Still pending, not lost: the retry a moment later writes it.
    await h.clock.advance(1_000);
    expect(saves).toEqual(['step-1', 'step-2:failed', 'step-2']);
    expect(await memory.checkpoints.load(taskId)).toMatchObject({ token: 'step-2' });
    done.resolve();
    await h.until(async () => (await h.task(taskId)).state === 'completed', 'completion');
  });

  it('a failed explicit flush rejects to the handler, keeps the state pending, and the next flush writes it', async () => {
    const clock = new FakeClock();
    const memory = memoryBackend({ clock });
    const { backend, saves } = failingSaves(memory, [1]);
    const h = harness({ checkpoints: { intervalMs: 60_000 }, retry: { baseMs: 100 } }, { clock, memory, backend });
    const errors: unknown[] = [];
    const seen: unknown[] = [];
    h.baton.register('steps', async (_i, ctx) => {
      seen.push(ctx.checkpoint);
      if (ctx.checkpoint) return 'resumed';
      await ctx.saveCheckpoint('step-1', { i: 1 }, { flush: true }).catch((err: unknown) => errors.push(err));
      throw new Error('boom'); // the flush before the retry writes what is pending
    });
    await h.baton.start();
    const { taskId } = await h.baton.enqueue('steps', {});
    await h.until(async () => (await h.task(taskId)).state === 'completed', 'completion', 50);
    expect(errors.map((e) => (e as Error).message)).toEqual(['checkpoint store unreachable']);
    expect(saves).toEqual(['step-1:failed', 'step-1']);
    expect(seen).toEqual([null, { token: 'step-1', data: { i: 1 } }]);
  });

  it('a failed flush before a retry is logged with the task id; the retry resumes from the checkpoint before it', async () => {
    const clock = new FakeClock();
    const memory = memoryBackend({ clock });
    const { backend, saves } = failingSaves(memory, [2]);
    const h = harness({ checkpoints: { intervalMs: 60_000 }, retry: { baseMs: 100 } }, { clock, memory, backend });
    const seen: unknown[] = [];
    h.baton.register('steps', async (_i, ctx) => {
      seen.push(ctx.checkpoint);
      if (ctx.checkpoint) return 'resumed';
      await ctx.saveCheckpoint('step-1', { i: 1 });
      await ctx.saveCheckpoint('step-2', { i: 2 });
      throw new Error('boom');
    });
    await h.baton.start();
    const { taskId } = await h.baton.enqueue('steps', {});
    await h.until(async () => (await h.task(taskId)).state === 'completed', 'completion', 50);
    expect(saves).toEqual(['step-1', 'step-2:failed']);
    expect(seen).toEqual([null, { token: 'step-1', data: { i: 1 } }]);
    const lines = linesFor(h.logs, taskId);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 'error', fields: { taskId } });
    expect(lines[0]!.msg).toMatch(/before the retry/);
  });

  it('a failed flush before a shutdown release is logged with the task id; the task is released all the same', async () => {
    const clock = new FakeClock();
    const memory = memoryBackend({ clock });
    const { backend, saves } = failingSaves(memory, [2]);
    const h = harness({ checkpoints: { intervalMs: 60_000 }, worker: { shutdownDeadlineMs: 0 } }, { clock, memory, backend });
    h.baton.register('steps', async (_i, ctx) => {
      await ctx.saveCheckpoint('step-1', { i: 1 });
      await ctx.saveCheckpoint('step-2', { i: 2 });
      return new Promise(() => undefined);
    });
    await h.baton.start();
    const { taskId } = await h.baton.enqueue('steps', {});
    await h.until(() => saves.length === 1, 'first save');
    await h.baton.stop();
    expect(saves).toEqual(['step-1', 'step-2:failed']);
    expect(await h.task(taskId)).toMatchObject({ state: 'pending', leaseId: null, attempt: 0, recoveries: 0 });
    expect((await memory.checkpoints.load(taskId))?.token).toBe('step-1');
    const lines = linesFor(h.logs, taskId);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 'error', fields: { taskId } });
    expect(lines[0]!.msg).toMatch(/on shutdown/);
  });

  it('a save refused because the lease moved on drops the state and reports the loss once', async () => {
    const h = harness({ checkpoints: { intervalMs: 60_000 } });
    const running = latch();
    const go = latch();
    let refused: unknown;
    h.baton.register('steps', async (_i, ctx) => {
      running.resolve();
      await go.promise;
      await ctx.saveCheckpoint('late', { i: 9 }).catch((err: unknown) => (refused = err));
      return 'ignored';
    });
    const lost: NewEvent[] = [];
    h.baton.on('task.lease_lost', (e) => lost.push(e));
    await h.baton.start();
    const { taskId } = await h.baton.enqueue('steps', {});
    await h.until(() => running.done, 'running');
    const { leaseId } = await h.task(taskId);
    await h.memory.tasks.recover([{ taskId, leaseId: leaseId!, poisonPill: { name: 'x', message: 'x', code: null, stack: null } }], 10);
    go.resolve();
    await h.until(() => lost.length > 0, 'lease loss');
    await h.clock.advance(1_000);
    expect((refused as Error).name).toBe('LeaseLostError');
    expect(lost).toHaveLength(1);
    expect(await h.memory.checkpoints.load(taskId)).toBeNull();
    expect(await h.task(taskId)).toMatchObject({ state: 'pending', result: null });
    expect(linesFor(h.logs, taskId)).toHaveLength(1);
  });
});
