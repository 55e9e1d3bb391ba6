import { describe, expect, it } from 'vitest';
import { sleep } from '@baton/core/adapter';
import { FakeClock } from '@baton/memory';

describe('FakeClock', () => {
  it('does not move on its own and starts at the given epoch', () => {
    const clock = new FakeClock({ now: 1000 });
    expect(clock.now()).toBe(1000);
    expect(clock.now()).toBe(1000);
  });

  it('fires due callbacks in due order, each at its own time', async () => {
    const clock = new FakeClock({ now: 0 });
    const seen: [string, number][] = [];
    clock.setTimeout(() => seen.push(['b', clock.now()]), 20);
    clock.setTimeout(() => seen.push(['a', clock.now()]), 10);
    clock.setTimeout(() => seen.push(['c', clock.now()]), 20);
    clock.setTimeout(() => seen.push(['late', clock.now()]), 100);
    await clock.advance(50);
    expect(seen).toEqual([['a', 10], ['b', 20], ['c', 20]]);
    expect(clock.now()).toBe(50);
    expect(clock.pendingTimers).toBe(1);
  });

  it('lets promise chains settle between steps, so loops re-arming after an await keep firing', async () => {
    const clock = new FakeClock({ now: 0 });
    const ticks: number[] = [];
    const loop = async () => {
      for (let i = 0; i < 5; i++) {
        await sleep(clock, 10);
        await Promise.resolve();
        ticks.push(clock.now());
      }
    };
    const done = loop();
    await clock.advance(35);
    expect(ticks).toEqual([10, 20, 30]);
    await clock.advance(100);
    await done;
    expect(ticks).toEqual([10, 20, 30, 40, 50]);
  });

  it('never fires a cleared callback', async () => {
    const clock = new FakeClock({ now: 0 });
    let fired = false;
    const h = clock.setTimeout(() => (fired = true), 5);
    clock.clearTimeout(h);
    await clock.advance(10);
    expect(fired).toBe(false);
    expect(clock.pendingTimers).toBe(0);
  });

  it('set() jumps forward firing what became due, and backward firing nothing', async () => {
    const clock = new FakeClock({ now: 0 });
    let fired = 0;
    clock.setTimeout(() => fired++, 100);
    await clock.set(50);
    expect(fired).toBe(0);
    await clock.set(200);
    expect(fired).toBe(1);
    expect(clock.now()).toBe(200);
    await clock.set(10);
    expect(clock.now()).toBe(10);
  });

  it('runAll fires every callback, including ones scheduled while firing', async () => {
    const clock = new FakeClock({ now: 0 });
    const seen: number[] = [];
    clock.setTimeout(() => {
      seen.push(clock.now());
      clock.setTimeout(() => seen.push(clock.now()), 1000);
    }, 10);
    await clock.runAll();
    expect(seen).toEqual([10, 1010]);
  });

  it('runAll gives up on a loop that re-arms forever', async () => {
    const clock = new FakeClock({ now: 0 });
    const rearm = () => void clock.setTimeout(rearm, 1);
    rearm();
    await expect(clock.runAll(50)).rejects.toThrow(/runAll/);
  });

  it('treats negative and NaN delays as zero', async () => {
    const clock = new FakeClock({ now: 0 });
    let fired = 0;
    clock.setTimeout(() => fired++, -5);
    clock.setTimeout(() => fired++, Number.NaN);
    await clock.advance(0);
    expect(fired).toBe(2);
  });
});
