// TimerStore: durable timers due by the backend clock, deduplicated by key while pending, handed
// to one claimer at a time, back after an uncompleted claim's lease, gone once completed.
import { describe, expect, it } from 'vitest';
import { newId, type NewTimer, type TimerFilter } from '@baton/core/adapter';
import { byId, isEpochMs, sleep, type Harness } from './harness.js';

function timer(over: Partial<NewTimer> = {}): NewTimer {
  return { id: newId(), kind: 'custom', delayMs: 0, key: null, taskId: null, phaseId: null, name: null, payload: null, ...over };
}

export function timerStoreSuite(h: Harness): void {
  describe('TimerStore', () => {
    it('schedule stores timers due delayMs from now with their fields and payload', async () => {
      const b = h.backend();
      const t = timer({ kind: 'retry', delayMs: 5_000, key: 'k1', taskId: 'task-1', phaseId: 'phase-1', name: 'notify', payload: { to: ['a@b'], n: 1, ü: '🚀' } });
      const [rec] = await b.timers.schedule([t]);
      expect(rec).toMatchObject({ id: t.id, kind: 'retry', key: 'k1', taskId: 'task-1', phaseId: 'phase-1', name: 'notify', payload: { to: ['a@b'], n: 1, ü: '🚀' } });
      expect(isEpochMs(rec!.createdAt)).toBe(true);
      expect(Math.abs(rec!.dueAt - rec!.createdAt - 5_000)).toBeLessThanOrEqual(1);
      expect(await b.timers.list({ ids: [t.id], limit: 10 })).toEqual([rec]);
    });

    it('list and cancel select by ids, keys, taskId and phaseId, all given fields at once', async () => {
      const b = h.backend();
      const a = timer({ delayMs: 60_000, key: 'ka', taskId: 't1', phaseId: 'p1' });
      const c = timer({ delayMs: 60_000, key: 'kc', taskId: 't2', phaseId: 'p1' });
      const d = timer({ delayMs: 60_000, taskId: 't2', phaseId: 'p2' });
      await b.timers.schedule([a, c, d]);
      const ids = async (f: TimerFilter) => (await b.timers.list({ ...f, limit: 1000 })).map((t) => t.id).sort(byId);
      expect(await ids({ taskId: 't2' })).toEqual([c.id, d.id].sort(byId));
      expect(await ids({ phaseId: 'p1' })).toEqual([a.id, c.id].sort(byId));
      expect(await ids({ keys: ['ka', 'kc'] })).toEqual([a.id, c.id].sort(byId));
      expect(await ids({ taskId: 't2', phaseId: 'p1' })).toEqual([c.id]);
      expect(await ids({ ids: [a.id, d.id] })).toEqual([a.id, d.id].sort(byId));

      expect(await b.timers.cancel({ keys: ['ka'] })).toBe(1);
      expect(await b.timers.cancel({ taskId: 't2', phaseId: 'p2' })).toBe(1);
      expect(await b.timers.cancel({ phaseId: 'p1' })).toBe(1);
      expect(await b.timers.cancel({ taskId: 't1' })).toBe(0);
      expect(await b.timers.list({ limit: 1000 })).toEqual([]);
    });

    it('list returns pending timers earliest due first, at most limit (0 gives none)', async () => {
      const b = h.backend();
      const late = timer({ delayMs: 90_000 });
      const soon = timer({ delayMs: 30_000 });
      const mid = timer({ delayMs: 60_000 });
      await b.timers.schedule([late, soon, mid]);
      expect((await b.timers.list({ limit: 1000 })).map((t) => t.id)).toEqual([soon.id, mid.id, late.id]);
      expect((await b.timers.list({ limit: 2 })).map((t) => t.id)).toEqual([soon.id, mid.id]);
      expect(await b.timers.list({ limit: 0 })).toEqual([]);
      expect((await b.timers.list({ ids: [late.id, mid.id], limit: 1 })).map((t) => t.id)).toEqual([mid.id]);
    });

    it('scheduling a key that a pending timer holds returns that timer; once completed the key is free', async () => {
      const b = h.backend();
      const first = timer({ key: 'retry:task-1', delayMs: 0 });
      const [a] = await b.timers.schedule([first]);
      const [again] = await b.timers.schedule([timer({ key: 'retry:task-1', delayMs: 60_000 })]);
      expect(again?.id).toBe(first.id);
      expect(again?.dueAt).toBe(a!.dueAt);
      expect(await b.timers.list({ keys: ['retry:task-1'], limit: 1000 })).toHaveLength(1);
      const claimed = await b.timers.claimDue(10, 60_000);
      expect(claimed.map((t) => t.id)).toEqual([first.id]);
      await b.timers.complete([first.id]);
      const next = timer({ key: 'retry:task-1', delayMs: 60_000 });
      const [fresh] = await b.timers.schedule([next]);
      expect(fresh?.id).toBe(next.id);
    });

    it('nextDueIn is null with no timers, about the delay for a future timer and 0 when overdue', async () => {
      const b = h.backend();
      expect(await b.timers.nextDueIn()).toBeNull();
      await b.timers.schedule([timer({ delayMs: 60_000 })]);
      const future = await b.timers.nextDueIn();
      expect(future).not.toBeNull();
      expect(future!).toBeGreaterThan(50_000);
      expect(future!).toBeLessThanOrEqual(60_000);
      await b.timers.schedule([timer({ delayMs: 100 })]);
      await sleep(400);
      expect(await b.timers.nextDueIn()).toBe(0);
    });

    it('claimDue returns only due timers, earliest first, at most limit', async () => {
      const b = h.backend();
      const later = timer({ delayMs: 150 });
      const sooner = timer({ delayMs: 0 });
      const soonish = timer({ delayMs: 50 });
      const future = timer({ delayMs: 60_000 });
      await b.timers.schedule([later, sooner, soonish, future]);
      await sleep(600);
      const first = await b.timers.claimDue(2, 60_000);
      expect(first.map((t) => t.id)).toEqual([sooner.id, soonish.id]);
      const rest = await b.timers.claimDue(10, 60_000);
      expect(rest.map((t) => t.id)).toEqual([later.id]);
      expect(await b.timers.claimDue(10, 60_000)).toEqual([]);
    });

    it('each due timer fires exactly once across 3 racing claimers', async () => {
      const b = h.backend();
      const timers = Array.from({ length: 30 }, (_, i) => timer({ delayMs: i % 3 === 0 ? 0 : 50, payload: i }));
      await b.timers.schedule(timers);
      await sleep(200);
      const claimer = async (): Promise<string[]> => {
        const fired: string[] = [];
        let empty = 0;
        for (let i = 0; i < 200 && empty < 4; i++) {
          const got = await b.timers.claimDue(4, 60_000);
          if (got.length === 0) {
            empty++;
            await sleep(20);
            continue;
          }
          empty = 0;
          fired.push(...got.map((t) => t.id));
          await b.timers.complete(got.map((t) => t.id));
        }
        return fired;
      };
      const fired = (await Promise.all([claimer(), claimer(), claimer()])).flat();
      expect(fired).toHaveLength(30);
      expect(new Set(fired)).toEqual(new Set(timers.map((t) => t.id)));
    });

    it('a claimed timer is not handed out again until its claim expires uncompleted, then it is due again', async () => {
      const b = h.backend();
      const t = timer();
      await b.timers.schedule([t]);
      expect((await b.timers.claimDue(10, 500)).map((x) => x.id)).toEqual([t.id]);
      expect(await b.timers.claimDue(10, 500)).toEqual([]);
      expect((await b.timers.list({ limit: 1000 })).map((x) => x.id), 'a claimed timer is still pending').toEqual([t.id]);
      await sleep(1_200);
      expect((await b.timers.claimDue(10, 60_000)).map((x) => x.id)).toEqual([t.id]);
    });

    it('a completed timer never fires again', async () => {
      const b = h.backend();
      const t = timer();
      await b.timers.schedule([t]);
      const [claimed] = await b.timers.claimDue(10, 200);
      await b.timers.complete([claimed!.id]);
      await sleep(600);
      expect(await b.timers.claimDue(10, 200)).toEqual([]);
      expect(await b.timers.list({ limit: 1000 })).toEqual([]);
      expect(await b.timers.nextDueIn()).toBeNull();
      await b.timers.complete([claimed!.id, newId()]);
    });
  });
}
