// Memory-only behaviour: the backend clock is the injected clock, and a closed backend refuses use.
import { describe, expect, it } from 'vitest';
import { BackendUnavailableError, newId, type JsonValue, type NewTask } from '@baton/core';
import { newTask } from '@baton/conformance';
import { FakeClock, memoryBackend } from '@baton/memory';

const task = (over: Partial<NewTask> = {}): NewTask => newTask({ type: 't', ...over });

describe('memoryBackend', () => {
  it('declares its capabilities and exposes its clock', () => {
    const clock = new FakeClock();
    const b = memoryBackend({ clock, name: 'm1' });
    expect(b.clock).toBe(clock);
    expect(b.name).toBe('m1');
    expect(b.capabilities).toEqual({ durable: false, multiProcess: false, transactionalEnqueue: false, pushWake: true });
  });

  it('stamps records with the backend clock', async () => {
    const clock = new FakeClock({ now: 5_000 });
    const b = memoryBackend({ clock });
    const [r] = await b.tasks.create([task()]);
    expect((await b.tasks.get(r!.id))?.createdAt).toBe(5_000);
  });

  it('runs leases, delays and TTLs on the fake clock', async () => {
    const clock = new FakeClock();
    const b = memoryBackend({ clock });
    await b.queue.enqueue([{ taskId: 'a', delayMs: 1_000 }]);
    expect(await b.queue.claim({ limit: 1, leaseMs: 500, waitMs: 0 })).toEqual([]);
    await clock.advance(1_000);
    const [d] = await b.queue.claim({ limit: 1, leaseMs: 500, waitMs: 0 });
    expect(d?.taskId).toBe('a');
    expect(await b.queue.reclaimExpired(10)).toEqual([]);
    await clock.advance(500);
    expect(await b.queue.reclaimExpired(10)).toEqual([d]);

    await b.heartbeats.beat([{ id: 'w', ttlMs: 100 }]);
    await clock.advance(99);
    expect(await b.heartbeats.lastSeen('w')).not.toBeNull();
    await clock.advance(1);
    expect(await b.heartbeats.lastSeen('w')).toBeNull();
  });

  it('a waiting claim sleeps on the fake clock and wakes when a delayed item becomes due', async () => {
    const clock = new FakeClock();
    const b = memoryBackend({ clock });
    await b.queue.enqueue([{ taskId: 'x', delayMs: 300 }]);
    let got: string[] | null = null;
    const p = b.queue.claim({ limit: 5, leaseMs: 1_000, waitMs: 10_000 }).then((d) => (got = d.map((x) => x.taskId)));
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
    const p = b.queue.claim({ limit: 1, leaseMs: 1_000, waitMs: 1_000 }).then((d) => {
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
    const waiting = b.queue.claim({ limit: 1, leaseMs: 1_000, waitMs: 60_000 });
    await b.close();
    expect(await waiting).toEqual([]);
    await expect(b.tasks.get('x')).rejects.toBeInstanceOf(BackendUnavailableError);
    await expect(b.queue.enqueue([{ taskId: 'x' }])).rejects.toThrow(/closed/);
    await expect(b.events.query({})).rejects.toBeInstanceOf(BackendUnavailableError);
    await b.close();
  });

  it('returns copies: mutating a returned record changes nothing stored', async () => {
    const b = memoryBackend();
    const [r] = await b.tasks.create([task({ input: { list: [1, 2] } })]);
    const got = await b.tasks.get(r!.id);
    (got!.input as { list: number[] }).list.push(3);
    expect((await b.tasks.get(r!.id))!.input).toEqual({ list: [1, 2] });
  });

  it('copies a __proto__ key as an own property, never as a prototype', async () => {
    const b = memoryBackend();
    const input = JSON.parse('{"__proto__":{"polluted":true},"a":[1,{"b":2}]}') as JsonValue;
    const [r] = await b.tasks.create([task({ input })]);
    const got = (await b.tasks.get(r!.id))!.input as Record<string, unknown>;
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

  it('keeps claim and ack fast with a large backlog', async () => {
    const b = memoryBackend();
    const n = 100_000;
    const ids = Array.from({ length: n }, (_, i) => `t${i}`);
    await b.queue.enqueue(ids.map((taskId) => ({ taskId })));
    let claimed = 0;
    for (let i = 0; i < n / 100; i++) {
      const ds = await b.queue.claim({ limit: 100, leaseMs: 60_000, waitMs: 0 });
      claimed += ds.length;
      await b.queue.ack(ds);
    }
    expect(claimed).toBe(n);
    expect(await b.queue.depth()).toEqual({ ready: 0, leased: 0, delayed: 0 });
  });
});
