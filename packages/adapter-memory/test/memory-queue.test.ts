// The memory queue on a fake clock: ordering, fleet-wide limits, the token bucket and the
// wake-ups of waiting claims, each checked at exact backend times.
import { describe, expect, it } from 'vitest';
import type { ClaimOptions, Delivery, QueueItem } from '@baton/core/adapter';
import { FakeClock, memoryBackend, type MemoryBackend } from '@baton/memory';

const item = (taskId: string, over: Partial<QueueItem> = {}): QueueItem => ({ taskId, queue: 'q', priority: 0, group: null, ...over });
const claim = (b: MemoryBackend, over: Partial<ClaimOptions> = {}) => b.queue.claim({ queues: ['q'], limit: 100, leaseMs: 60_000, waitMs: 0, ...over });
const ids = async (p: ReturnType<typeof claim>) => (await p).map((d) => d.taskId);

/** Starts a claim and reports what it returned, or null while it is still waiting. */
function pending(b: MemoryBackend, over: Partial<ClaimOptions>) {
  let got: Delivery[] | null = null;
  const done = claim(b, over).then((ds) => (got = ds));
  return { got: () => got?.map((d) => d.taskId) ?? null, deliveries: () => got ?? [], done };
}

function setup(now = 1_000_000) {
  const clock = new FakeClock({ now });
  return { clock, b: memoryBackend({ clock }) };
}

describe('memory queue: order', () => {
  it('hands out by priority, then readiness (a delay counts from its due time), then enqueue order', async () => {
    const { clock, b } = setup();
    await b.queue.enqueue([item('late-delayed', { delayMs: 30 })]);
    await b.queue.enqueue([item('early-delayed', { delayMs: 10 })]);
    await clock.advance(5);
    await b.queue.enqueue([item('low', { priority: -5 }), item('a'), item('b'), item('high', { priority: 7 })]);
    await clock.advance(100);
    await b.queue.enqueue([item('c')]);
    expect(await ids(claim(b))).toEqual(['high', 'a', 'b', 'early-delayed', 'late-delayed', 'c', 'low']);
  });

  it('merges the listed queues into one order and ignores queues not listed', async () => {
    const { clock, b } = setup();
    await b.queue.enqueue([item('x1', { queue: 'x' }), item('other', { queue: 'other', priority: 100 })]);
    await clock.advance(1);
    await b.queue.enqueue([item('y1', { queue: 'y', priority: 1 }), item('x2', { queue: 'x' })]);
    expect(await ids(claim(b, { queues: ['x', 'y'] }))).toEqual(['y1', 'x1', 'x2']);
  });

  it('a released delivery is ready again from its release (plus delay), behind older ready ones of its priority', async () => {
    const { clock, b } = setup();
    await b.queue.enqueue([item('a'), item('b')]);
    const [a] = await claim(b, { limit: 1 });
    await clock.advance(10);
    await b.queue.enqueue([item('c')]);
    await clock.advance(10);
    expect(await b.queue.release([{ ...a!, delayMs: 5 }])).toEqual([true]);
    expect((await b.queue.depth()).delayed).toBe(1);
    await clock.advance(5);
    expect(await ids(claim(b))).toEqual(['b', 'c', 'a']);
  });
});

describe('memory queue: limits', () => {
  it('a paused queue hands out nothing and counts its deliveries as ready; a waiting claim wakes on resume', async () => {
    const { clock, b } = setup();
    await b.queue.configure('q', { paused: true });
    await b.queue.enqueue([item('a')]);
    expect(await claim(b)).toEqual([]);
    expect(await b.queue.depth()).toEqual({ ready: 1, leased: 0, expired: 0, delayed: 0 });
    const waiting = pending(b, { waitMs: 10_000 });
    await clock.advance(1_000);
    expect(waiting.got()).toBeNull();
    await b.queue.configure('q', { paused: false });
    await clock.settle();
    expect(waiting.got()).toEqual(['a']);
  });

  it('concurrency caps leases across claims; a waiting claim wakes when ack, release, remove or reclaim frees a slot', async () => {
    const { clock, b } = setup();
    await b.queue.configure('q', { concurrency: 1 });
    await b.queue.enqueue(['a', 'b', 'c', 'd', 'e'].map((id) => item(id)));
    const [a] = await claim(b);
    expect(a?.taskId).toBe('a');
    expect(await claim(b)).toEqual([]);

    const afterAck = pending(b, { waitMs: 10_000 });
    await clock.advance(10);
    expect(afterAck.got()).toBeNull();
    await b.queue.ack([a!]);
    await clock.settle();
    expect(afterAck.got()).toEqual(['b']);

    // A released delivery is ready from its release: behind c, d and e.
    const afterRelease = pending(b, { waitMs: 10_000, leaseMs: 100 });
    await clock.settle();
    expect(await b.queue.release(afterAck.deliveries())).toEqual([true]);
    await clock.settle();
    expect(afterRelease.got()).toEqual(['c']);

    const afterRemove = pending(b, { waitMs: 10_000, leaseMs: 100 });
    await clock.settle();
    expect(await b.queue.remove(['c'])).toBe(1);
    await clock.settle();
    expect(afterRemove.got()).toEqual(['d']);

    // An expired lease keeps its slot until it is reclaimed.
    const afterReclaim = pending(b, { waitMs: 10_000 });
    await clock.advance(100);
    expect(afterReclaim.got()).toBeNull();
    expect((await b.queue.reclaimExpired(10)).map((r) => r.taskId)).toEqual(['d']);
    await clock.settle();
    expect(afterReclaim.got()).toEqual(['e']);
  });

  it('raising or lifting the concurrency wakes a waiting claim', async () => {
    const { clock, b } = setup();
    await b.queue.configure('q', { concurrency: 1 });
    await b.queue.enqueue([item('a'), item('b'), item('c')]);
    await claim(b, { limit: 1 });
    const waiting = pending(b, { waitMs: 10_000 });
    await clock.advance(10);
    await b.queue.configure('q', { concurrency: 2 });
    await clock.settle();
    expect(waiting.got()).toEqual(['b']);
    const lifted = pending(b, { waitMs: 10_000 });
    await clock.settle();
    await b.queue.configure('q', { concurrency: null });
    await clock.settle();
    expect(lifted.got()).toEqual(['c']);
  });

  it('a capped group waits while other groups and ungrouped deliveries flow, even behind a large backlog of it', async () => {
    const { b } = setup();
    await b.queue.configure('q', { groupConcurrency: 2 });
    await b.queue.enqueue(Array.from({ length: 20_000 }, (_, i) => item(`big${i}`, { group: 'big', priority: 1 })));
    await b.queue.enqueue([item('small', { group: 'small' }), item('free')]);
    expect(await ids(claim(b, { limit: 10 }))).toEqual(['big0', 'big1', 'small', 'free']);
    const again = await claim(b, { limit: 10 });
    expect(again).toEqual([]);
    const [info] = await b.queue.queues();
    expect(info?.depth).toEqual({ ready: 19_998, leased: 4, expired: 0, delayed: 0 });
  });

  it('lowering groupConcurrency holds back groups already at the new cap; lifting it frees them', async () => {
    const { b } = setup();
    await b.queue.enqueue(['a1', 'a2', 'a3', 'a4'].map((id) => item(id, { group: 'a' })));
    await claim(b, { limit: 2 });
    await b.queue.configure('q', { groupConcurrency: 2 });
    expect(await claim(b)).toEqual([]);
    await b.queue.configure('q', { groupConcurrency: null });
    expect(await ids(claim(b))).toEqual(['a3', 'a4']);
  });
});

describe('memory queue: rate limit', () => {
  it('lets a burst of `max` through, then one claim per perMs/max of backend time', async () => {
    const { clock, b } = setup();
    await b.queue.configure('q', { rateLimit: { max: 4, perMs: 1_000 } });
    await b.queue.enqueue(Array.from({ length: 10 }, (_, i) => item(`t${i}`)));
    expect(await claim(b)).toHaveLength(4);
    expect(await claim(b)).toEqual([]);
    await clock.advance(249);
    expect(await claim(b)).toEqual([]);
    await clock.advance(1);
    expect(await ids(claim(b))).toEqual(['t4']);
    await clock.advance(500);
    expect(await ids(claim(b))).toEqual(['t5', 't6']);
  });

  it('a waiting claim sleeps until the bucket refills rather than returning empty', async () => {
    const { clock, b } = setup();
    await b.queue.configure('q', { rateLimit: { max: 1, perMs: 300 } });
    await b.queue.enqueue([item('a'), item('b')]);
    expect(await ids(claim(b))).toEqual(['a']);
    const waiting = pending(b, { waitMs: 10_000 });
    await clock.advance(299);
    expect(waiting.got()).toBeNull();
    await clock.advance(1);
    await waiting.done;
    expect(waiting.got()).toEqual(['b']);
  });

  it('a limit set anew starts with a full bucket; changing it keeps what was used', async () => {
    const { b } = setup();
    await b.queue.enqueue(Array.from({ length: 10 }, (_, i) => item(`t${i}`)));
    await b.queue.configure('q', { rateLimit: { max: 2, perMs: 1_000 } });
    expect(await claim(b)).toHaveLength(2);
    await b.queue.configure('q', { rateLimit: { max: 3, perMs: 1_000 } });
    expect(await claim(b)).toHaveLength(0);
    await b.queue.configure('q', { rateLimit: null });
    await b.queue.configure('q', { rateLimit: { max: 3, perMs: 1_000 } });
    expect(await claim(b)).toHaveLength(3);
  });
});

describe('memory queue: queues() and configure()', () => {
  it('configure merges a patch and returns every setting; queues() lists configured queues and queues with deliveries', async () => {
    const { clock, b } = setup();
    expect(await b.queue.configure('cfg', { concurrency: 3 })).toEqual({ paused: false, concurrency: 3, rateLimit: null, groupConcurrency: null });
    expect(await b.queue.configure('cfg', { paused: true, rateLimit: { max: 5, perMs: 60_000 } })).toEqual({
      paused: true,
      concurrency: 3,
      rateLimit: { max: 5, perMs: 60_000 },
      groupConcurrency: null,
    });
    await b.queue.enqueue([item('r'), item('l'), item('d', { delayMs: 1_000 })]);
    await claim(b, { limit: 1, leaseMs: 50 });
    await clock.advance(50);
    expect(await b.queue.queues()).toEqual([
      { name: 'cfg', paused: true, concurrency: 3, rateLimit: { max: 5, perMs: 60_000 }, groupConcurrency: null, depth: { ready: 0, leased: 0, expired: 0, delayed: 0 } },
      { name: 'q', paused: false, concurrency: null, rateLimit: null, groupConcurrency: null, depth: { ready: 1, leased: 1, expired: 1, delayed: 1 } },
    ]);
  });

  it('forgets a drained queue that has no settings', async () => {
    const { b } = setup();
    await b.queue.enqueue([item('a', { queue: 'adhoc' })]);
    expect((await b.queue.queues()).map((q) => q.name)).toEqual(['adhoc']);
    expect(await b.queue.remove(['a'])).toBe(1);
    expect(await b.queue.queues()).toEqual([]);
  });
});
