// EventLog: append-only, seq strictly increasing in append order, filtered queries with paging,
// retention purge.
import { describe, expect, it } from 'vitest';
import type { EventQuery } from '@baton/core/adapter';
import { newEvent as event, type Harness } from './harness.js';

const ALL = 1000;

export function eventLogSuite(h: Harness): void {
  describe('EventLog', () => {
    it('keeps append order across calls with strictly increasing seq, data intact', async () => {
      const b = h.backend();
      const batches = [[event({ data: { i: 0 } }), event({ data: { i: 1 } })], [event({ data: { i: 2, nested: { ü: ['🚀', null] } } })], [event({ data: { i: 3 } })]];
      for (const batch of batches) await b.events.append(batch);
      const got = await b.events.query({ limit: ALL });
      expect(got.map((e) => e.id)).toEqual(batches.flat().map((e) => e.id));
      for (let i = 1; i < got.length; i++) expect(got[i]!.seq).toBeGreaterThan(got[i - 1]!.seq);
      expect(got[2]).toMatchObject({ ...batches[1]![0]!, data: { i: 2, nested: { ü: ['🚀', null] } } });
    });

    it('query filters by runId, phaseId, taskId and type (one or several)', async () => {
      const b = h.backend();
      const e1 = event({ type: 'task.enqueued', runId: 'r1', phaseId: 'p1', taskId: 't1' });
      const e2 = event({ type: 'task.started', runId: 'r1', phaseId: 'p1', taskId: 't1' });
      const e3 = event({ type: 'task.completed', runId: 'r1', phaseId: 'p2', taskId: 't2' });
      const e4 = event({ type: 'timer.fired', runId: 'r2' });
      await b.events.append([e1, e2, e3, e4]);
      const ids = async (q: Omit<EventQuery, 'limit'>) => (await b.events.query({ limit: ALL, ...q })).map((e) => e.id);
      expect(await ids({ runId: 'r1' })).toEqual([e1.id, e2.id, e3.id]);
      expect(await ids({ phaseId: 'p1' })).toEqual([e1.id, e2.id]);
      expect(await ids({ taskId: 't2' })).toEqual([e3.id]);
      expect(await ids({ type: ['timer.fired'] })).toEqual([e4.id]);
      expect(await ids({ type: ['task.enqueued', 'task.completed'] })).toEqual([e1.id, e3.id]);
      expect(await ids({ runId: 'r1', type: ['task.started'] })).toEqual([e2.id]);
      expect(await ids({ phaseId: 'p1', taskId: 't1', type: ['task.started', 'timer.fired'] })).toEqual([e2.id]);
      expect(await ids({ runId: 'none' })).toEqual([]);
    });

    it('query pages with after and limit, and filters by since', async () => {
      const b = h.backend();
      const now = Date.now();
      const events = Array.from({ length: 10 }, (_, i) => event({ at: now - (10 - i) * 1_000, data: { i } }));
      await b.events.append(events);
      const page1 = await b.events.query({ limit: 4 });
      expect(page1.map((e) => e.id)).toEqual(events.slice(0, 4).map((e) => e.id));
      const page2 = await b.events.query({ after: page1[3]!.seq, limit: 4 });
      expect(page2.map((e) => e.id)).toEqual(events.slice(4, 8).map((e) => e.id));
      const page3 = await b.events.query({ after: page2[3]!.seq, limit: 4 });
      expect(page3.map((e) => e.id)).toEqual(events.slice(8).map((e) => e.id));
      expect((await b.events.query({ since: now - 3_000, limit: ALL })).map((e) => e.id)).toEqual(events.slice(7).map((e) => e.id));
    });

    it('query returns at most limit events, the oldest first: 0 gives none, 1000 a full page', async () => {
      const b = h.backend();
      const events = Array.from({ length: 1003 }, (_, i) => event({ data: { i } }));
      await b.events.append(events.slice(0, 500));
      await b.events.append(events.slice(500));
      expect(await b.events.query({ limit: 0 })).toEqual([]);
      expect((await b.events.query({ limit: 1 })).map((e) => e.id)).toEqual([events[0]!.id]);
      const page = await b.events.query({ limit: 1000 });
      expect(page.map((e) => e.id)).toEqual(events.slice(0, 1000).map((e) => e.id));
      expect((await b.events.query({ after: page[999]!.seq, limit: 1000 })).map((e) => e.id)).toEqual(events.slice(1000).map((e) => e.id));
    });

    it('query after the newest seq returns nothing until a new event is appended (tailing)', async () => {
      const b = h.backend();
      await b.events.append([event(), event()]);
      const last = (await b.events.query({ limit: ALL })).at(-1)!.seq;
      expect(await b.events.query({ after: last, limit: ALL })).toEqual([]);
      const next = event({ type: 'worker.started' });
      await b.events.append([next]);
      expect((await b.events.query({ after: last, limit: ALL })).map((e) => e.id)).toEqual([next.id]);
    });

    it('purge keeps the newest keepLatest events and drops ones older than olderThanMs', async () => {
      const b = h.backend();
      const now = Date.now();
      const old = Array.from({ length: 3 }, () => event({ at: now - 3_600_000 }));
      const recent = Array.from({ length: 5 }, () => event({ at: now }));
      await b.events.append([...old, ...recent]);
      expect(await b.events.purge({ olderThanMs: 60_000, keepLatest: 1_000, limit: 1_000 })).toBe(3);
      expect((await b.events.query({ limit: ALL })).map((e) => e.id)).toEqual(recent.map((e) => e.id));
      expect(await b.events.purge({ olderThanMs: 3_600_000, keepLatest: 2, limit: 1_000 })).toBe(3);
      expect((await b.events.query({ limit: ALL })).map((e) => e.id)).toEqual(recent.slice(3).map((e) => e.id));
      await b.events.append([event()]);
      const last = await b.events.query({ limit: ALL });
      expect(last).toHaveLength(3);
      expect(last[2]!.seq).toBeGreaterThan(last[1]!.seq);
    });
  });
}
