// The memory task, checkpoint and coordination stores on a fake clock: exact times, events that
// go with their writes, and pages that survive deletes behind the cursor.
import { describe, expect, it } from 'vitest';
import { retentionVictims, transitions, type NewEvent, type NewTask, type PurgeOptions } from '@baton/core/adapter';
import { newTask } from '@baton/conformance';
import { FakeClock, memoryBackend } from '@baton/memory';

const event = (over: Partial<NewEvent> = {}): NewEvent => ({ id: `e-${Math.random()}`, type: 'task.completed', at: 1, runId: 'wrong', phaseId: 'wrong', taskId: null, workerId: null, data: {}, ...over });
const blob = { token: 't', encoding: 'json' as const, body: new Uint8Array([123, 125]), sizeBytes: 2 };

/** Purges with `options` and checks that exactly retentionVictims' pick went (`tasks` in creation order); returns how many. */
async function purgeMatchesVictims(b: ReturnType<typeof setup>['b'], clock: FakeClock, tasks: readonly NewTask[], options: PurgeOptions): Promise<number> {
  const finished = (await b.tasks.list({ limit: 5_000, states: [options.state] })).tasks;
  const order = new Map(tasks.map((t, i) => [t.id, i]));
  const expected = retentionVictims(
    finished.map((t) => ({ id: t.id, finishedAt: t.finishedAt!, order: order.get(t.id)! })),
    options,
    clock.now(),
  ).map((e) => e.id);
  expect(await b.tasks.purge(options)).toBe(expected.length);
  for (const id of expected) expect(await b.tasks.get(id)).toBeNull();
  expect((await b.tasks.list({ limit: 5_000, states: [options.state] })).tasks).toHaveLength(finished.length - expected.length);
  return expected.length;
}

function setup(now = 1_000_000) {
  const clock = new FakeClock({ now });
  return { clock, b: memoryBackend({ clock }) };
}

async function running(b: ReturnType<typeof memoryBackend>, over: Partial<NewTask> = {}): Promise<NewTask> {
  const t = newTask(over);
  await b.tasks.create([t]);
  await b.tasks.start([{ taskId: t.id, leaseId: `lease-${t.id}`, workerId: 'w' }]);
  return t;
}

describe('memory task store: events go with their writes', () => {
  it('appends handed events iff the write applied, with the task’s run and phase', async () => {
    const { b } = setup();
    const t = newTask({ runId: 'r', phaseId: 'p' });
    const dup = newTask({ idempotencyKey: t.idempotencyKey });
    await b.tasks.create([t, dup], { events: [[event({ type: 'task.enqueued' })], [event({ type: 'task.enqueued', id: 'dup' })]] });
    await b.tasks.start([{ taskId: t.id, leaseId: 'l', workerId: 'w' }], { startedEvents: true });
    expect(await b.tasks.setProgress(t.id, 'stale', 1, { events: [event({ type: 'task.progress', id: 'no' })] })).toBe(false);
    expect(await b.tasks.setProgress(t.id, 'l', 1, { events: [event({ type: 'task.progress' })] })).toBe(true);
    expect(await b.checkpoints.save(t.id, 'l', blob, { events: [event({ type: 'task.checkpointed' })] })).toBe(true);
    expect(await b.tasks.finish([{ taskId: t.id, leaseId: 'stale', state: 'completed', events: [event({ id: 'no2' })] }])).toEqual([false]);
    expect(await b.tasks.finish([{ taskId: t.id, leaseId: 'l', state: 'completed', events: [event(), event({ type: 'task.released' })] }])).toEqual([true]);
    expect(await b.tasks.retry([t.id], { resetAttempts: false, events: [[event({ type: 'task.retried' })]] })).toEqual([t.id]);
    const events = await b.events.query({ limit: 100 });
    expect(events.map((e) => e.type)).toEqual(['task.enqueued', 'task.started', 'task.progress', 'task.checkpointed', 'task.completed', 'task.released', 'task.retried']);
    expect(events.every((e) => e.runId === 'r' && e.phaseId === 'p')).toBe(true);
    expect(events.map((e) => e.seq)).toEqual([...events.map((e) => e.seq)].sort((x, y) => x - y));
  });

  it('start with startedEvents appends transitions.startedEvent of the started record', async () => {
    const { clock, b } = setup();
    const t = newTask({ runId: 'r', queue: 'mail' });
    await b.tasks.create([t]);
    await clock.advance(7);
    const [started] = await b.tasks.start([{ taskId: t.id, leaseId: 'l', workerId: 'w' }], { startedEvents: true });
    const [e] = await b.events.query({ limit: 10, type: ['task.started'] });
    const expected = transitions.startedEvent(started!.task!, e!.id);
    expect(e).toEqual({ ...expected, seq: e!.seq });
    expect(e).toMatchObject({ at: 1_000_007, workerId: 'w', data: { attempt: 0, recoveries: 0, queue: 'mail' } });
  });

  it('recover appends the recovered or the dead events, whichever happened', async () => {
    const { b } = setup();
    const a = await running(b);
    const d = await running(b);
    const pill = transitions.poisonPillError(d.id, 1, 0);
    const results = await b.tasks.recover(
      [
        { taskId: a.id, leaseId: `lease-${a.id}`, poisonPill: pill, recoveredEvents: [event({ type: 'task.recovered' })], deadEvents: [event({ type: 'task.dead' })] },
        { taskId: d.id, leaseId: `lease-${d.id}`, poisonPill: pill, recoveredEvents: [event({ type: 'task.recovered' })], deadEvents: [event({ type: 'task.dead' })] },
      ],
      1,
    );
    expect(results).toEqual(['recovered', 'recovered']);
    await b.tasks.start([{ taskId: d.id, leaseId: 'again', workerId: 'w' }]);
    expect(await b.tasks.recover([{ taskId: d.id, leaseId: 'again', poisonPill: pill, deadEvents: [event({ type: 'task.dead' })] }], 1)).toEqual(['dead']);
    expect((await b.events.query({ limit: 10 })).map((e) => e.type)).toEqual(['task.recovered', 'task.recovered', 'task.dead']);
    expect((await b.tasks.get(d.id))?.error).toEqual(pill);
  });
});

describe('memory task store: what changes updatedAt', () => {
  it('usage, progress, heartbeats and checkpoints leave updatedAt; lifecycle changes set it', async () => {
    const { clock, b } = setup();
    const t = await running(b);
    const lease = `lease-${t.id}`;
    const at = (await b.tasks.get(t.id))!.updatedAt;
    await clock.advance(10);
    expect(await b.tasks.recordUsage(t.id, lease, { costUsd: 0.5, tokens: 3 })).toEqual({ costUsd: 0.5, tokens: 3 });
    await b.tasks.setProgress(t.id, lease, { pct: 50 });
    await b.tasks.heartbeat([{ taskId: t.id, leaseId: lease }]);
    await b.checkpoints.save(t.id, lease, blob);
    expect(await b.tasks.get(t.id)).toMatchObject({ updatedAt: at, heartbeatAt: 1_000_010, hasCheckpoint: true, progress: { pct: 50 }, usage: { costUsd: 0.5, tokens: 3 } });
    expect(await b.checkpoints.delete([t.id])).toBe(1);
    expect(await b.tasks.get(t.id)).toMatchObject({ updatedAt: at, hasCheckpoint: false });
    await b.tasks.finish([{ taskId: t.id, leaseId: lease, state: 'scheduled' }]);
    expect(await b.tasks.get(t.id)).toMatchObject({ updatedAt: 1_000_010, state: 'scheduled', attempt: 1, heartbeatAt: null, leaseId: null, workerId: null });
  });
});

describe('memory task store: pages, counts, retention', () => {
  it('pages resume after their cursor however many tasks were deleted behind or ahead of it', async () => {
    const { b } = setup();
    const tasks = Array.from({ length: 3_000 }, (_, i) => newTask({ input: { i } }));
    await b.tasks.create(tasks);
    const first = await b.tasks.list({ limit: 1000 });
    expect(first.tasks.map((t) => t.id)).toEqual(tasks.slice(0, 1000).map((t) => t.id));
    // Delete the first 2,500 (enough holes to compact the creation order), including the cursor's own task.
    const doomed = tasks.slice(0, 2_500).map((t) => t.id);
    await b.tasks.transition(doomed, ['pending'], 'cancelled');
    expect(await b.tasks.delete(doomed)).toBe(2_500);
    const second = await b.tasks.list({ limit: 1000, cursor: first.cursor! });
    expect(second.tasks.map((t) => t.id)).toEqual(tasks.slice(2_500).map((t) => t.id));
    expect(second.cursor).toBeNull();
    const byIds = await b.tasks.list({ ids: [tasks[2_999]!.id, tasks[2_600]!.id, tasks[5]!.id], limit: 1 });
    expect(byIds.tasks.map((t) => t.id)).toEqual([tasks[2_600]!.id]);
    expect((await b.tasks.list({ ids: [tasks[2_999]!.id, tasks[2_600]!.id], limit: 1, cursor: byIds.cursor! })).tasks.map((t) => t.id)).toEqual([tasks[2_999]!.id]);
  });

  it('a page that ends exactly at the last match returns a null cursor', async () => {
    const { b } = setup();
    await b.tasks.create([newTask(), newTask({ type: 'other' }), newTask()]);
    const page = await b.tasks.list({ limit: 2, type: 'conformance' });
    expect(page.tasks).toHaveLength(2);
    expect(page.cursor).toBeNull();
    expect((await b.tasks.list({ limit: 1, type: 'conformance' })).cursor).not.toBeNull();
  });

  it('counts by queue, type or phase with the oldest updatedAt of each group', async () => {
    const { clock, b } = setup();
    await b.tasks.create([newTask({ queue: 'a', type: 'x' })]);
    await clock.advance(5);
    await b.tasks.create([newTask({ queue: 'a', type: 'y', phaseId: 'p' }), newTask({ queue: 'b', type: 'x' })]);
    const sort = <T extends { key: string | null; state: string }>(cs: T[]) => [...cs].sort((m, n) => `${m.key}${m.state}`.localeCompare(`${n.key}${n.state}`));
    expect(sort(await b.tasks.counts('queue'))).toEqual([
      { key: 'a', state: 'pending', count: 2, oldestUpdatedAt: 1_000_000 },
      { key: 'b', state: 'pending', count: 1, oldestUpdatedAt: 1_000_005 },
    ]);
    expect(sort(await b.tasks.counts('type'))).toEqual([
      { key: 'x', state: 'pending', count: 2, oldestUpdatedAt: 1_000_000 },
      { key: 'y', state: 'pending', count: 1, oldestUpdatedAt: 1_000_005 },
    ]);
    expect(sort(await b.tasks.counts('phase'))).toEqual([
      { key: null, state: 'pending', count: 2, oldestUpdatedAt: 1_000_000 },
      { key: 'p', state: 'pending', count: 1, oldestUpdatedAt: 1_000_005 },
    ]);
  });

  it('purge removes exactly what retentionVictims picks from every finished task, ties and all', async () => {
    const { clock, b } = setup();
    const tasks = Array.from({ length: 240 }, (_, i) => newTask({ input: { i } }));
    await b.tasks.create(tasks);
    const leases = tasks.map((t) => ({ taskId: t.id, leaseId: `l-${t.id}`, workerId: 'w' }));
    await b.tasks.start(leases);
    // Finish in bursts of 8 per ms, each burst in reverse creation order, some dead and one retried.
    for (let i = 0; i < tasks.length; i += 8) {
      const burst = tasks.slice(i, i + 8).reverse();
      await b.tasks.finish(burst.map((t, k) => ({ taskId: t.id, leaseId: `l-${t.id}`, state: k % 3 === 0 ? ('dead' as const) : ('completed' as const) })));
      await clock.advance(1);
    }
    await b.tasks.retry([tasks[3]!.id], { resetAttempts: false });
    const rounds: PurgeOptions[] = [
      { state: 'completed', olderThanMs: 1_000_000, keepLatest: 100, limit: 7 },
      { state: 'completed', olderThanMs: 20, keepLatest: 1_000, limit: 5 },
      { state: 'dead', olderThanMs: 1_000_000, keepLatest: 10, limit: 1_000 },
      { state: 'completed', olderThanMs: 0, keepLatest: 3, limit: 1_000 },
    ];
    for (const options of rounds) {
      expect(await purgeMatchesVictims(b, clock, tasks, options)).toBeGreaterThan(0);
    }
    expect((await b.tasks.get(tasks[3]!.id))?.state).toBe('pending');
  });

  it('purge keeps retentionVictims order over thousands of in-order finishes, removals and a clock step back', async () => {
    const { clock, b } = setup();
    const tasks = Array.from({ length: 3_000 }, (_, i) => newTask({ input: { i } }));
    await b.tasks.create(tasks);
    await b.tasks.start(tasks.map((t) => ({ taskId: t.id, leaseId: `l-${t.id}`, workerId: 'w' })));
    // In creation order, 50 per ms (the common case), one batch after the clock stepped back.
    for (let i = 0; i < tasks.length; i += 50) {
      if (i === 2_000) await clock.set(clock.now() - 5);
      await b.tasks.finish(tasks.slice(i, i + 50).map((t) => ({ taskId: t.id, leaseId: `l-${t.id}`, state: 'completed' as const })));
      await clock.advance(1);
    }
    await b.tasks.retry([tasks[10]!.id, tasks[1_500]!.id, tasks[2_010]!.id], { resetAttempts: false });
    for (let round = 0; round < 5; round++) {
      await purgeMatchesVictims(b, clock, tasks, { state: 'completed', olderThanMs: 1_000_000, keepLatest: 200, limit: 700 });
    }
    expect((await b.tasks.list({ limit: 5_000, states: ['completed'] })).tasks).toHaveLength(200);
  });

  it('purge and delete take the checkpoints and idempotency keys with the task', async () => {
    const { clock, b } = setup();
    const t = await running(b);
    await b.checkpoints.save(t.id, `lease-${t.id}`, blob);
    await b.tasks.finish([{ taskId: t.id, leaseId: `lease-${t.id}`, state: 'dead' }]);
    const live = await running(b);
    expect(await b.tasks.delete([live.id])).toBe(0);
    await clock.advance(1_000);
    expect(await b.tasks.purge({ state: 'dead', olderThanMs: 500, keepLatest: 10, limit: 10 })).toBe(1);
    expect(await b.tasks.get(t.id)).toBeNull();
    expect(await b.checkpoints.load(t.id)).toBeNull();
    expect(await b.checkpoints.stats()).toEqual({ count: 0, totalBytes: 0, avgBytes: 0 });
    expect((await b.tasks.create([newTask({ idempotencyKey: t.idempotencyKey })]))[0]?.duplicate).toBe(false);
  });
});

describe('memory coordination store', () => {
  it('writes by compare-and-set and scans by prefix in key order', async () => {
    const { b } = setup();
    expect(await b.coordination.write('breaker:b', { open: false }, null)).toBe(1);
    expect(await b.coordination.write('breaker:b', { open: true }, null)).toBeNull();
    expect(await b.coordination.write('breaker:b', { open: true }, 1)).toBe(2);
    expect(await b.coordination.write('breaker:b', { open: false }, 1)).toBeNull();
    await b.coordination.write('breaker:a', 1, null);
    await b.coordination.write('other', 1, null);
    expect(await b.coordination.read(['breaker:b', 'missing'])).toEqual([{ value: { open: true }, version: 2 }, null]);
    expect(await b.coordination.scan('breaker:')).toEqual([
      { key: 'breaker:a', value: 1, version: 1 },
      { key: 'breaker:b', value: { open: true }, version: 2 },
    ]);
  });
});
