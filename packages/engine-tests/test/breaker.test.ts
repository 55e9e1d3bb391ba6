// The fleet-wide circuit breaker (circuit-breaker.ts) as the runner uses it, on a FakeClock with the
// memory CoordinationStore: batons sharing one backend are the fleet, each with its own breaker.
import { afterEach, describe, expect, it } from 'vitest';
import { PermanentError, type BatonOptions, type JsonValue, type NewEvent } from '@baton/core';
import { FakeClock, memoryBackend } from '@baton/memory';
import { closeAll, harness, latch, type Harness } from './helpers.js';

afterEach(closeAll);

interface Doc {
  state: 'closed' | 'open' | 'half_open';
  openUntil: number;
  reopens: number;
  trials: [string, number][];
  successes: number;
  window: [number, number, number][];
}

async function doc(h: Harness, type: string): Promise<Doc | null> {
  const [v] = await h.memory.coordination.read([`breaker:${type}`]);
  return v ? (v.value as unknown as Doc) : null;
}

function windowTotals(d: Doc | null): { ok: number; fail: number } {
  let ok = 0;
  let fail = 0;
  for (const [, o, f] of d?.window ?? []) {
    ok += o;
    fail += f;
  }
  return { ok, fail };
}

/** Transitions announced by any of the batons. */
function transitions(...hs: Harness[]): NewEvent[] {
  const seen: NewEvent[] = [];
  for (const h of hs) for (const t of ['breaker.opened', 'breaker.half_open', 'breaker.closed'] as const) h.baton.on(t, (e) => seen.push(e));
  return seen;
}

type Input = { i: number; fail?: boolean; permanent?: boolean; gate?: boolean };

/** Registers `type`: fails when input.fail (permanently when input.permanent), waits for `gate` when input.gate. */
function api(h: Harness, type = 'api', gate?: Promise<void>, runs: Input[] = []): Input[] {
  h.baton.register(type, async (input: Input) => {
    runs.push(input);
    if (input.gate) await gate;
    if (input.permanent) throw new PermanentError('bad input');
    if (input.fail) throw new Error('dependency down');
    return 'ok';
  });
  return runs;
}

async function enqueue(h: Harness, inputs: Input[], options: { maxRetries?: number } = {}): Promise<string[]> {
  return (await h.baton.enqueueMany(inputs.map((input) => ({ type: 'api', input: input as unknown as JsonValue, ...options })))).map((r) => r.taskId);
}

async function allDone(h: Harness, ids: string[], what: string): Promise<void> {
  await h.until(async () => (await Promise.all(ids.map((id) => h.task(id)))).every((t) => t.state === 'completed' || t.state === 'dead'), what, 50, 4_000);
}

const seq = (from: number, n: number, extra: Partial<Input> = {}): Input[] => Array.from({ length: n }, (_, k) => ({ i: from + k, ...extra }));

describe('circuit breaker', () => {
  it('opens only with minimumVolume outcomes in the window and a failure rate of at least failureRate', async () => {
    const h = harness({ breaker: { minimumVolume: 10, failureRate: 0.5, cooldownMs: 10_000 }, retry: { maxRetries: 0 } });
    const seen = transitions(h);
    api(h);
    await h.baton.start();
    // 3 failures of 3: every outcome failed, but below the minimum volume.
    await allDone(h, await enqueue(h, seq(6, 3, { fail: true })), 'three failures');
    await h.clock.advance(1_000);
    expect(await doc(h, 'api')).toMatchObject({ state: 'closed' });
    expect(windowTotals(await doc(h, 'api'))).toEqual({ ok: 0, fail: 3 });
    // 6 successes more: still below the volume.
    await allDone(h, await enqueue(h, seq(0, 6)), 'nine outcomes');
    await h.clock.advance(1_000);
    expect(windowTotals(await doc(h, 'api'))).toEqual({ ok: 6, fail: 3 });
    // One more failure: volume 10 reached, but 40 % < 50 %.
    await allDone(h, await enqueue(h, seq(9, 1, { fail: true })), 'ten outcomes');
    await h.clock.advance(1_000);
    expect((await doc(h, 'api'))?.state).toBe('closed');
    expect(seen).toEqual([]);
    // Two more: 6 of 12 failed.
    await allDone(h, await enqueue(h, seq(10, 2, { fail: true })), 'twelve outcomes');
    await h.until(() => seen.length > 0, 'opened');
    expect(seen.map((e) => e.type)).toEqual(['breaker.opened']);
    expect(seen[0]!.data).toEqual({ taskType: 'api', from: 'closed', failures: 6, volume: 12, cooldownMs: 10_000 });
    expect((await h.baton.stats()).breakers).toEqual({ api: 'open' });
    expect(h.logs.filter((l) => l.level === 'warn' && l.fields.taskType === 'api')).toHaveLength(1);
  });

  it('holds first runs back while open, then lets one through as a trial', async () => {
    const h = harness({ breaker: { minimumVolume: 3, cooldownMs: 10_000, halfOpenTrials: 1 }, retry: { maxRetries: 0 } });
    const seen = transitions(h);
    const runs = api(h);
    await h.baton.start();
    await allDone(h, await enqueue(h, seq(0, 3, { fail: true })), 'three failures');
    await h.until(() => seen.length === 1, 'opened');
    const openUntil = (await doc(h, 'api'))!.openUntil;
    const [held] = await enqueue(h, seq(100, 1));
    await h.clock.advance(5_000);
    expect(runs.map((r) => r.i)).toEqual([0, 1, 2]);
    const released = (await h.stored(held!)).filter((e) => e.type === 'task.released');
    expect(released.length).toBeGreaterThan(0);
    expect(released[0]!.data.reason).toBe('breaker_open');
    await h.until(async () => (await h.task(held!)).state === 'completed', 'the trial run', 100);
    expect(h.clock.now()).toBeGreaterThanOrEqual(openUntil);
    expect(seen.map((e) => e.type)).toEqual(['breaker.opened', 'breaker.half_open', 'breaker.closed']);
    expect(await doc(h, 'api')).toMatchObject({ state: 'closed', trials: [], successes: 0, window: [] });
  });

  it('ignores permanent failures: bad input says nothing about the health of a dependency', async () => {
    const h = harness({ breaker: { minimumVolume: 3 }, retry: { maxRetries: 0 } });
    const seen = transitions(h);
    const runs = api(h);
    await h.baton.start();
    await allDone(h, await enqueue(h, seq(0, 15, { permanent: true })), 'fifteen permanent failures');
    await h.clock.advance(2_000);
    expect(seen).toEqual([]);
    expect(await doc(h, 'api')).toBeNull();
    const [next] = await enqueue(h, seq(100, 1));
    await allDone(h, [next!], 'a run right after');
    expect(runs).toHaveLength(16);
    expect((await h.task(next!)).state).toBe('completed');
  });

  it('lets retries through while open as probes; halfOpenTrials successes close it', async () => {
    const h = harness({ breaker: { minimumVolume: 4, cooldownMs: 60_000, halfOpenTrials: 3 }, retry: { baseMs: 1_000, maxRetries: 0 } });
    const seen = transitions(h);
    let down = true;
    const runs: { i: number; at: number; attempt: number }[] = [];
    h.baton.register('api', (input: Input, ctx) => {
      runs.push({ i: input.i, at: h.clock.now(), attempt: ctx.attempt });
      if (down) throw new Error('dependency down');
      return 'ok';
    });
    await h.baton.start();
    const firsts = await enqueue(h, seq(0, 2));
    const retried = await enqueue(h, seq(10, 2), { maxRetries: 1 });
    await h.until(() => seen.length === 1, 'opened');
    down = false;
    const openUntil = (await doc(h, 'api'))!.openUntil;
    const [fresh] = await enqueue(h, seq(100, 1));
    // The retries run while the breaker is open: their backoff already paces them.
    await allDone(h, retried, 'both retries');
    expect(h.clock.now()).toBeLessThan(openUntil);
    for (const id of retried) expect(await h.task(id)).toMatchObject({ state: 'completed', attempt: 1 });
    for (const id of firsts) expect((await h.task(id)).state).toBe('dead');
    // Two successes of three: still open, and the first run is still held back.
    await h.clock.advance(1_000);
    expect(await doc(h, 'api')).toMatchObject({ state: 'open', successes: 2 });
    expect(runs.filter((r) => r.i === 100)).toEqual([]);
    // After the cooldown the held run goes through as a trial; its success is the third.
    await allDone(h, [fresh!], 'the held first run');
    expect((await h.task(fresh!)).state).toBe('completed');
    expect(runs.find((r) => r.i === 100)!.at).toBeGreaterThanOrEqual(openUntil);
    expect(seen.map((e) => e.type)).toEqual(['breaker.opened', 'breaker.half_open', 'breaker.closed']);
  });

  it('half-open admits at most halfOpenTrials fleet-wide across two batons, and closes after that many successes', async () => {
    const clock = new FakeClock();
    const memory = memoryBackend({ clock });
    const options: Partial<BatonOptions> = { breaker: { minimumVolume: 4, cooldownMs: 5_000, halfOpenTrials: 2 }, retry: { maxRetries: 0 }, worker: { concurrency: 4 } };
    const a = harness(options, { clock, memory });
    const b = harness(options, { clock, memory });
    const seen = transitions(a, b);
    const gate = latch();
    let running = 0;
    let most = 0;
    const byBaton: Record<string, number> = { a: 0, b: 0 };
    for (const [name, h] of [['a', a], ['b', b]] as const) {
      h.baton.register('api', async (input: Input) => {
        byBaton[name]!++;
        if (input.fail) throw new Error('dependency down');
        running++;
        most = Math.max(most, running);
        await gate.promise;
        running--;
        return 'ok';
      });
    }
    await a.baton.start();
    await b.baton.start();
    // Both batons fail a share of the first burst, so both see the breaker open.
    await allDone(a, await enqueue(a, seq(0, 8, { fail: true })), 'the failing burst');
    expect(byBaton).toEqual({ a: 4, b: 4 });
    await a.until(() => seen.some((e) => e.type === 'breaker.opened'), 'opened');
    const trialsIds = await enqueue(a, seq(100, 6, { gate: true }));
    await a.until(() => running === 2, 'two trials running', 100, 200);
    // Well past the cooldown and several release delays: still two, fleet-wide.
    await clock.advance(10_000);
    expect(running).toBe(2);
    expect(most).toBe(2);
    expect((await doc(a, 'api'))?.state).toBe('half_open');
    gate.resolve();
    await allDone(a, trialsIds, 'every gated task');
    for (const id of trialsIds) expect((await a.task(id)).state).toBe('completed');
    expect(seen.filter((e) => e.type === 'breaker.half_open')).toHaveLength(1);
    expect(seen.filter((e) => e.type === 'breaker.closed')).toHaveLength(1);
    expect((await doc(a, 'api'))?.state).toBe('closed');
  });

  it('a failed trial re-opens it with a doubled cooldown; closing starts the cooldown over', async () => {
    const h = harness({ breaker: { minimumVolume: 2, cooldownMs: 1_000, halfOpenTrials: 1 }, retry: { maxRetries: 0 } });
    const seen = transitions(h);
    api(h);
    await h.baton.start();
    const opened = () => seen.filter((e) => e.type === 'breaker.opened');
    await enqueue(h, seq(0, 2, { fail: true }));
    await h.until(() => opened().length === 1, 'opened');
    await enqueue(h, seq(2, 1, { fail: true }));
    await h.until(() => opened().length === 2, 'reopened once', 50);
    await enqueue(h, seq(3, 1, { fail: true }));
    await h.until(() => opened().length === 3, 'reopened twice', 50);
    const [good] = await enqueue(h, seq(4, 1));
    await h.until(() => seen.at(-1)?.type === 'breaker.closed', 'closed', 50);
    expect((await h.task(good!)).state).toBe('completed');
    await enqueue(h, seq(5, 2, { fail: true }));
    await h.until(() => opened().length === 4, 'opened again', 50);
    expect(opened().map((e) => e.data.cooldownMs)).toEqual([1_000, 2_000, 4_000, 1_000]);
    expect(opened().map((e) => e.data.from)).toEqual(['closed', 'half_open', 'half_open', 'closed']);
  });

  it('a burst of tasks that each fail once completes: retries probe, their successes close the breaker', async () => {
    const h = harness({ retry: { baseMs: 1_000, maxRetries: 3 }, worker: { concurrency: 8 } });
    const seen = transitions(h);
    h.baton.register('api', (_input: Input, ctx) => {
      if (ctx.attempt === 0) throw new Error('cold cache');
      return 'ok';
    });
    await h.baton.start();
    const ids = await enqueue(h, seq(0, 30));
    await allDone(h, ids, 'the burst');
    for (const id of ids) expect(await h.task(id)).toMatchObject({ state: 'completed', attempt: 1 });
    expect(seen.map((e) => e.type)).toContain('breaker.opened');
    expect(seen.at(-1)?.type).toBe('breaker.closed');
  });

  describe('a stale view of the fleet breaker', () => {
    const options: Partial<BatonOptions> = { breaker: { minimumVolume: 3, cooldownMs: 60_000 }, retry: { maxRetries: 0 } };

    async function openedBy(clock: FakeClock, memory: ReturnType<typeof memoryBackend>): Promise<void> {
      const a = harness(options, { clock, memory });
      const seen = transitions(a);
      api(a);
      await a.baton.start();
      await allDone(a, await enqueue(a, seq(0, 3, { fail: true })), 'three failures');
      await a.until(() => seen.length === 1, 'opened');
      await a.baton.stop();
    }

    it('a process that never read the breaker holds first runs back while the fleet breaker is open', async () => {
      const clock = new FakeClock();
      const memory = memoryBackend({ clock });
      await openedBy(clock, memory);
      const fresh = harness(options, { clock, memory });
      const runs = api(fresh);
      await fresh.baton.start();
      await enqueue(fresh, seq(100, 3));
      await clock.advance(10_000);
      expect(runs).toEqual([]);
    });

    it('a process that last saw the breaker closed holds first runs back once it opened elsewhere', async () => {
      const clock = new FakeClock();
      const memory = memoryBackend({ clock });
      const b = harness(options, { clock, memory });
      const runs = api(b);
      await b.baton.start();
      await allDone(b, await enqueue(b, seq(50, 1)), 'one run while closed');
      await b.baton.stop(); // b stops claiming while the breaker opens elsewhere (its cache stays)
      await openedBy(clock, memory);
      await clock.advance(5_000);
      await b.baton.start();
      await enqueue(b, seq(100, 3));
      await clock.advance(10_000);
      expect(runs.map((r) => r.i)).toEqual([50]);
    });
  });
});
