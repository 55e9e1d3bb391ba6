// Memory-only behaviour: the backend clock is the injected clock, a closed backend refuses use,
// and nothing a caller holds is shared with the store.
import { describe, expect, it } from 'vitest';
import { BackendUnavailableError, silentLogger, type JsonValue, type NewTask } from '@baton/core/adapter';
import { newTask, queueItem } from '@baton/conformance';
import { FakeClock, memoryBackend } from '@baton/memory';

const task = (over: Partial<NewTask> = {}): NewTask => newTask({ type: 't', ...over });
const Q = ['default'];

describe('memoryBackend', () => {
  it('declares its capabilities, exposes its clock and is ready at once', async () => {
    const clock = new FakeClock();
    const b = memoryBackend({ clock, name: 'm1' });
    expect(b.clock).toBe(clock);
    expect(b.name).toBe('m1');
    expect(b.capabilities).toEqual({ durable: false, multiProcess: false, transactionalEnqueue: false, pushWake: true, atomicEvents: true });
    await b.ready({ logger: silentLogger });
    await b.ready({ logger: silentLogger });
  });

  it('stamps records with the backend clock', async () => {
    const clock = new FakeClock({ now: 5_000 });
    const b = memoryBackend({ clock });
    const t = task();
    await b.tasks.create([t]);
    expect((await b.tasks.get(t.id))?.createdAt).toBe(5_000);
    await clock.advance(100);
    const [started] = await b.tasks.start([{ taskId: t.id, leaseId: 'l', workerId: 'w' }]);
    expect(started?.task).toMatchObject({ startedAt: 5_100, heartbeatAt: 5_100, updatedAt: 5_100 });
    await clock.advance(50);
    expect(await b.tasks.heartbeat([{ taskId: t.id, leaseId: 'l' }])).toEqual([true]);
    expect(await b.tasks.get(t.id)).toMatchObject({ heartbeatAt: 5_150, updatedAt: 5_100 });
  });

  it('runs leases, delays and TTLs on the fake clock', async () => {
    const clock = new FakeClock();
    const b = memoryBackend({ clock });
    await b.queue.enqueue([queueItem(task({ id: 'a' }), 1_000)]);
    expect(await b.queue.claim({ queues: Q, limit: 1, leaseMs: 500, waitMs: 0 })).toEqual([]);
    await clock.advance(1_000);
    const [d] = await b.queue.claim({ queues: Q, limit: 1, leaseMs: 500, waitMs: 0 });
    expect(d?.taskId).toBe('a');
    expect(await b.queue.reclaimExpired(10)).toEqual([]);
    await clock.advance(500);
    expect(await b.queue.depth()).toEqual({ ready: 0, leased: 1, expired: 1, delayed: 0 });
    expect(await b.queue.reclaimExpired(10)).toEqual([d]);

    await b.heartbeats.beat([{ id: 'w', ttlMs: 100 }]);
    await clock.advance(99);
    expect(await b.heartbeats.lastSeen('w')).not.toBeNull();
    await clock.advance(1);
    expect(await b.heartbeats.lastSeen('w')).toBeNull();

    const key = task({ keyTtlMs: 1_000 });
    await b.tasks.create([key]);
    await clock.advance(999);
    expect(await b.tasks.create([task({ idempotencyKey: key.idempotencyKey })])).toEqual([{ id: key.id, duplicate: true }]);
    await clock.advance(1);
    const successor = task({ idempotencyKey: key.idempotencyKey });
    expect((await b.tasks.create([successor]))[0]?.duplicate).toBe(false);
    // Deleting the key's old holder leaves the key with its new one.
    expect(await b.tasks.transition([key.id], ['pending'], 'cancelled')).toEqual([key.id]);
    expect(await b.tasks.delete([key.id])).toBe(1);
    expect(await b.tasks.create([task({ idempotencyKey: key.idempotencyKey })])).toEqual([{ id: successor.id, duplicate: true }]);
  });

  it('a waiting claim sleeps on the fake clock and wakes when a delayed item becomes due', async () => {
    const clock = new FakeClock();
    const b = memoryBackend({ clock });
    await b.queue.enqueue([queueItem(task({ id: 'x' }), 300)]);
    let got: string[] | null = null;
    const p = b.queue.claim({ queues: Q, limit: 5, leaseMs: 1_000, waitMs: 10_000 }).then((d) => (got = d.map((x) => x.taskId)));
    await clock.advance(299);
    expect(got).toBeNull();
    await clock.advance(1);
    await p;
    expect(got).toEqual(['x']);
  });

  it('a waiting claim times out on the fake clock', async () => {
    const clock = new FakeClock();
    const b = memoryBackend({ clock });
    let done = false;
    const p = b.queue.claim({ queues: Q, limit: 1, leaseMs: 1_000, waitMs: 1_000 }).then((d) => {
      done = true;
      return d;
    });
    await clock.advance(999);
    expect(done).toBe(false);
    await clock.advance(1);
    expect(await p).toEqual([]);
  });

  it('rejects every call after close and ends waiting claims', async () => {
    const b = memoryBackend({ clock: new FakeClock() });
    const waiting = b.queue.claim({ queues: Q, limit: 1, leaseMs: 1_000, waitMs: 60_000 });
    await b.close();
    expect(await waiting).toEqual([]);
    await expect(b.tasks.get('x')).rejects.toBeInstanceOf(BackendUnavailableError);
    await expect(b.queue.enqueue([queueItem(task())])).rejects.toThrow(/closed/);
    await expect(b.events.query({ limit: 10 })).rejects.toBeInstanceOf(BackendUnavailableError);
    await expect(b.coordination.read(['k'])).rejects.toBeInstanceOf(BackendUnavailableError);
    await expect(b.ready({ logger: silentLogger })).rejects.toBeInstanceOf(BackendUnavailableError);
    await b.close();
  });

  it('shares no objects with callers: input, result, progress, trace context, events and coordination values are copied in and out', async () => {
    const b = memoryBackend();
    const input = { list: [1, 2] };
    const trace = { traceparent: '00-a-b-01' };
    const t = task({ input, traceContext: trace, budget: { tokens: 5 } });
    await b.tasks.create([t]);
    input.list.push(3);
    trace.traceparent = 'changed';
    t.budget!.tokens = 6;
    const got = (await b.tasks.get(t.id))!;
    expect(got.input).toEqual({ list: [1, 2] });
    expect(got.traceContext).toEqual({ traceparent: '00-a-b-01' });
    expect(got.budget).toEqual({ tokens: 5 });
    (got.input as { list: number[] }).list.push(4);
    got.usage.tokens = 9;
    expect((await b.tasks.get(t.id))!.input).toEqual({ list: [1, 2] });
    expect((await b.tasks.get(t.id))!.usage.tokens).toBe(0);

    await b.tasks.start([{ taskId: t.id, leaseId: 'l', workerId: 'w' }]);
    const progress = { step: 1 };
    await b.tasks.setProgress(t.id, 'l', progress);
    progress.step = 2;
    const result = { out: [1] };
    const error = { name: 'E', message: 'm', code: null, stack: null };
    await b.tasks.finish([{ taskId: t.id, leaseId: 'l', state: 'completed', result, error }]);
    result.out.push(2);
    expect(await b.tasks.get(t.id)).toMatchObject({ progress: { step: 1 }, result: { out: [1] } });

    const data = { n: 1 };
    await b.events.append([{ id: 'e', type: 'task.started', at: 1, runId: null, phaseId: null, taskId: null, workerId: null, data }]);
    data.n = 2;
    const [stored] = await b.events.query({ limit: 10 });
    expect(stored?.data).toEqual({ n: 1 });
    (stored!.data as { n: number }).n = 3;
    expect((await b.events.query({ limit: 10 }))[0]?.data).toEqual({ n: 1 });

    const doc = { open: true };
    await b.coordination.write('k', doc, null);
    doc.open = false;
    const [read] = await b.coordination.read(['k']);
    expect(read?.value).toEqual({ open: true });
  });

  it('copies a __proto__ key as an own property, never as a prototype', async () => {
    const b = memoryBackend();
    const input = JSON.parse('{"__proto__":{"polluted":true},"a":[1,{"b":2}]}') as JsonValue;
    const t = task({ input });
    await b.tasks.create([t]);
    const got = (await b.tasks.get(t.id))!.input as Record<string, unknown>;
    expect(Object.getPrototypeOf(got)).toBe(Object.prototype);
    expect(got.polluted).toBeUndefined();
    expect(Object.keys(got)).toEqual(['__proto__', 'a']);
    expect(Object.getOwnPropertyDescriptor(got, '__proto__')?.value).toEqual({ polluted: true });
  });

  it('stores what JSON would make of values with toJSON (a Date becomes its ISO string)', async () => {
    const b = memoryBackend();
    const at = new Date(0);
    const [timer] = await b.timers.schedule([
      { id: 'x', kind: 'custom', delayMs: 0, key: null, taskId: null, phaseId: null, name: null, payload: { at } as unknown as JsonValue },
    ]);
    expect(timer!.payload).toEqual({ at: '1970-01-01T00:00:00.000Z' });
  });

  it('claims and acks a large backlog in full, batch by batch', async () => {
    const b = memoryBackend();
    const n = 100_000;
    await b.queue.enqueue(Array.from({ length: n }, (_, i) => ({ taskId: `t${i}`, queue: 'default', priority: i % 3, group: null })));
    let claimed = 0;
    for (let i = 0; i < n / 100; i++) {
      const ds = await b.queue.claim({ queues: Q, limit: 100, leaseMs: 60_000, waitMs: 0 });
      claimed += ds.length;
      await b.queue.ack(ds);
    }
    expect(claimed).toBe(n);
    expect(await b.queue.depth()).toEqual({ ready: 0, leased: 0, expired: 0, delayed: 0 });
  });
});
