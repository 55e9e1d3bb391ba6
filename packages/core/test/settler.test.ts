// The settler on its own: batching per turn of the event loop, a bounded number of batch writes
// at once, retries until a write lands, and drain waiting for everything handed in.
import { describe, expect, it } from 'vitest';
import { systemClock } from '../src/clock.js';
import { EventPublisher } from '../src/event-publisher.js';
import { silentLogger } from '../src/logger.js';
import type { EventLog, NewEvent } from '../src/ports/event-log.js';
import type { SettleItem, TaskFlow } from '../src/ports/task-flow.js';
import { Settler } from '../src/settler.js';

/** An EventLog that keeps what it is given (the settler's tests need no backend). */
function arrayLog(): EventLog & { appended: NewEvent[] } {
  const appended: NewEvent[] = [];
  return {
    appended,
    async append(events) {
      appended.push(...events);
    },
    async query() {
      return [];
    },
    async purge() {
      return 0;
    },
  };
}

function recordingFlow(opts: { failFirst?: number } = {}) {
  const calls: { size: number; release: () => void }[] = [];
  let active = 0;
  let maxActive = 0;
  let failures = opts.failFirst ?? 0;
  const flow: TaskFlow = {
    createAndEnqueue: () => Promise.reject(new Error('unused')),
    claimAndStart: () => Promise.reject(new Error('unused')),
    async finishAndSettle(items: SettleItem[]) {
      if (failures > 0) {
        failures--;
        throw new Error('backend down');
      }
      active++;
      maxActive = Math.max(maxActive, active);
      await new Promise<void>((release) => calls.push({ size: items.length, release }));
      active--;
      return items.map((i) => i.outcome.leaseId !== 'stale');
    },
    heartbeat: () => Promise.reject(new Error('unused')),
  };
  return { flow, calls, maxActive: () => maxActive };
}

const settlement = (taskId: string, leaseId = 'l') => ({
  outcome: { taskId, leaseId, state: 'completed' as const, result: null },
  queue: 'ack' as const,
  deleteCheckpoint: false,
  events: [] as NewEvent[],
});

const tick = () => new Promise<void>((r) => setImmediate(r));

describe('Settler', () => {
  it('writes what ended in one turn as one batch, at most two batches at once, and drain waits for all of them', async () => {
    const { flow, calls, maxActive } = recordingFlow();
    const events = new EventPublisher(arrayLog(), false, systemClock, silentLogger, 'w');
    const settler = new Settler(flow, events, systemClock, silentLogger);
    const results: Promise<boolean>[] = [];
    for (let turn = 0; turn < 4; turn++) {
      for (let i = 0; i < 3; i++) results.push(settler.settle(settlement(`t${turn}-${i}`, turn === 3 && i === 0 ? 'stale' : 'l')));
      await tick();
    }
    expect(calls.map((c) => c.size)).toEqual([3, 3]);
    let drained = 0;
    const drains = [settler.drain().then(() => drained++), settler.drain().then(() => drained++)];
    while (drained === 0 && calls.some((c) => c.size > 0)) {
      const next = calls.find((c) => c.size > 0)!;
      next.size = 0;
      next.release();
      await tick();
    }
    await Promise.all(drains);
    expect(drained).toBe(2);
    expect(maxActive()).toBe(2);
    expect(calls).toHaveLength(3); // 3 + 3, then the 6 that waited, together
    expect(await Promise.all(results)).toEqual([...Array(9).fill(true), false, true, true]);
  });

  it('retries a batch whose write failed until it lands', async () => {
    const { flow, calls } = recordingFlow({ failFirst: 2 });
    const events = new EventPublisher(arrayLog(), false, systemClock, silentLogger, 'w');
    const settler = new Settler(flow, events, systemClock, silentLogger);
    const done = settler.settle(settlement('a'));
    while (calls.length === 0) await new Promise((r) => setTimeout(r, 20));
    calls[0]!.release();
    expect(await done).toBe(true);
  });

  it('publishes the events of applied outcomes once, after their write, and never those of refused ones', async () => {
    const { flow, calls } = recordingFlow();
    const log = arrayLog();
    const events = new EventPublisher(log, false, systemClock, silentLogger, 'w');
    const heard: string[] = [];
    events.on('*', (e) => heard.push(e.taskId!));
    const settler = new Settler(flow, events, systemClock, silentLogger);
    const withEvent = (taskId: string, leaseId: string) => ({ ...settlement(taskId, leaseId), events: [events.make('task.completed', { taskId })] });
    const done = Promise.all([settler.settle(withEvent('a', 'l')), settler.settle(withEvent('b', 'stale'))]);
    while (calls.length === 0) await tick();
    expect(heard).toEqual([]);
    calls[0]!.release();
    expect(await done).toEqual([true, false]);
    await events.flush();
    expect(heard).toEqual(['a']);
    expect(log.appended.map((e) => e.taskId)).toEqual(['a']);
  });
});
