// The TaskStore as admin tools use it: filtered pages in creation order with cursors that stay
// correct while the fleet keeps writing, counts for dashboards, and the operator's retry, delete
// and progress writes.
import { describe, expect, it } from 'vitest';
import { newId, type Backend, type CountBy, type TaskQuery, type TaskRecord, type TaskState } from '@baton/core/adapter';
import { createTasks, jsonBlob, mustGet, newTask, sleep, startTask, type Harness } from './harness.js';
import { finishedTask, pendingTask, scheduledTask, seasonedTask } from './task-fixtures.js';

/** Every page of a query, oldest first; `between` runs after each page (writes racing the reader). */
async function pages(b: Backend, query: TaskQuery, between?: () => Promise<void>): Promise<string[][]> {
  const out: string[][] = [];
  let cursor: string | undefined;
  for (let i = 0; i < 2_000; i++) {
    const page = await b.tasks.list({ ...query, ...(cursor === undefined ? {} : { cursor }) });
    expect(page.tasks.length).toBeLessThanOrEqual(query.limit);
    out.push(page.tasks.map((t) => t.id));
    if (page.cursor === null) return out;
    expect(typeof page.cursor).toBe('string');
    cursor = page.cursor;
    await between?.();
  }
  throw new Error('list: more than 2000 pages; the cursor does not advance');
}

const ids = async (b: Backend, query: Omit<TaskQuery, 'limit'>): Promise<string[]> => (await b.tasks.list({ limit: 1000, ...query })).tasks.map((t) => t.id);

export function adminStoreSuite(h: Harness): void {
  describe('TaskStore: list', () => {
    it('list filters by states, type, queue, runId, phaseId and ids, combined with AND, oldest first', async () => {
      const b = h.backend();
      const [t1, t2, t3, t4] = await createTasks(b, [
        { type: 'a', queue: 'q1', runId: 'r1', phaseId: 'p1' },
        { type: 'b', queue: 'q2', runId: 'r1', phaseId: 'p2' },
        { type: 'a', queue: 'q2', runId: 'r2', phaseId: 'p1' },
        { type: 'a' },
      ]);
      expect(await ids(b, {})).toEqual([t1, t2, t3, t4]);
      expect(await ids(b, { type: 'a' })).toEqual([t1, t3, t4]);
      expect(await ids(b, { queue: 'q2' })).toEqual([t2, t3]);
      expect(await ids(b, { queue: 'default' })).toEqual([t4]);
      expect(await ids(b, { runId: 'r1' })).toEqual([t1, t2]);
      expect(await ids(b, { phaseId: 'p1' })).toEqual([t1, t3]);
      expect(await ids(b, { type: 'a', runId: 'r1' })).toEqual([t1]);
      expect(await ids(b, { type: 'a', queue: 'q2', phaseId: 'p1', runId: 'r2' })).toEqual([t3]);
      expect(await ids(b, { ids: [t4!, t2!] })).toEqual([t2, t4]);
      expect(await ids(b, { ids: [t1!], type: 'b' })).toEqual([]);
      expect(await ids(b, { ids: [newId()] })).toEqual([]);

      await startTask(b, t2!);
      expect(await ids(b, { states: ['running'] })).toEqual([t2]);
      expect(await ids(b, { states: ['pending'] })).toEqual([t1, t3, t4]);
      expect(await ids(b, { states: ['pending', 'running'] })).toEqual([t1, t2, t3, t4]);
      expect(await ids(b, { states: ['completed', 'dead', 'cancelled', 'scheduled'] })).toEqual([]);
      expect(await ids(b, { states: ['pending'], queue: 'q2' })).toEqual([t3]);
    });

    it('list since and until select by createdAt: since inclusive, until exclusive', async () => {
      const b = h.backend();
      const created = await createTasks(b, [{}, {}, {}, {}]);
      const at = await Promise.all(created.map(async (id) => (await mustGet(b, id)).createdAt));
      expect(new Set(at).size, 'createTasks spaces creations a few ms apart').toBe(4);
      expect(await ids(b, { since: at[1] })).toEqual(created.slice(1));
      expect(await ids(b, { until: at[2] })).toEqual(created.slice(0, 2));
      expect(await ids(b, { since: at[1], until: at[3] })).toEqual(created.slice(1, 3));
      expect(await ids(b, { since: at[3]! + 1 })).toEqual([]);
    });

    it('list idleForMs returns only tasks not updated within that many ms; a start counts as an update', async () => {
      const b = h.backend();
      const [old, restarted] = await createTasks(b, [{}, {}]);
      await sleep(600);
      const [fresh] = await createTasks(b, [{}]);
      expect(await ids(b, { idleForMs: 300 })).toEqual([old, restarted]);
      await startTask(b, restarted!);
      expect(await ids(b, { idleForMs: 300 })).toEqual([old]);
      expect(await ids(b, { states: ['pending'], idleForMs: 300 })).toEqual([old]);
      expect(await ids(b, { idleForMs: 0 })).toContain(old);
      expect(await ids(b, {})).toEqual([old, restarted, fresh]);
    });

    it('tasks created in one call list in the order of the call, across pages', async () => {
      const b = h.backend();
      const batch = Array.from({ length: 25 }, (_, i) => newTask({ input: { i } }));
      await b.tasks.create(batch);
      const got = await pages(b, { limit: 4 });
      expect(got.map((p) => p.length)).toEqual([4, 4, 4, 4, 4, 4, 1]);
      expect(got.flat()).toEqual(batch.map((t) => t.id));
    });

    it('limit 0 returns no tasks (and a cursor, if any, that loses none); limit 1 the oldest and a cursor to the next', async () => {
      const b = h.backend();
      const created = await createTasks(b, [{}, {}, {}]);
      const none = await b.tasks.list({ limit: 0 });
      expect(none.tasks).toEqual([]);
      if (none.cursor !== null) expect(await ids(b, { cursor: none.cursor })).toEqual(created);
      const first = await b.tasks.list({ limit: 1 });
      expect(first.tasks.map((t) => t.id)).toEqual([created[0]]);
      expect(first.cursor).not.toBeNull();
      expect((await b.tasks.list({ limit: 1, cursor: first.cursor! })).tasks.map((t) => t.id)).toEqual([created[1]]);
      expect(await pages(b, { limit: 1 })).toEqual(created.map((id) => [id]));
    });

    it('limit 1000 returns 1000 tasks and a cursor to the rest; the page that reaches the end has a null cursor', async () => {
      const b = h.backend();
      const batches = [500, 500, 3].map((n) => Array.from({ length: n }, (_, i) => newTask({ input: { i } })));
      for (const batch of batches) await b.tasks.create(batch);
      const all = batches.flat().map((t) => t.id);
      const first = await b.tasks.list({ limit: 1000 });
      expect(first.tasks.map((t) => t.id)).toEqual(all.slice(0, 1000));
      expect(first.cursor).not.toBeNull();
      const rest = await b.tasks.list({ limit: 1000, cursor: first.cursor! });
      expect(rest.tasks.map((t) => t.id)).toEqual(all.slice(1000));
      expect(rest.cursor).toBeNull();
      expect((await b.tasks.list({ limit: 3, cursor: first.cursor! })).cursor, 'a full page that holds the last task reached the end').toBeNull();
    });

    it('cursor pages apply the filter on every page and return each matching task exactly once, in creation order', async () => {
      const b = h.backend();
      const batch = Array.from({ length: 30 }, (_, i) => newTask({ type: i % 3 === 0 ? 'wanted' : 'other', input: { i } }));
      await b.tasks.create(batch);
      const got = await pages(b, { type: 'wanted', limit: 3 });
      expect(got.flat()).toEqual(batch.filter((t) => t.type === 'wanted').map((t) => t.id));
      expect(got.every((p) => p.length > 0)).toBe(true);
    });

    it('paging is stable while tasks are created, finished and deleted concurrently: each task that stays is seen exactly once, in order', async () => {
      const b = h.backend();
      const originals = Array.from({ length: 40 }, (_, i) => newTask({ input: { i } }));
      await b.tasks.create(originals);
      const running: [string, string][] = [];
      for (const t of originals.filter((_, i) => i % 4 === 0)) running.push([t.id, await startTask(b, t.id)]);
      const pendingOnes = originals.map((t) => t.id).filter((id) => !running.some(([r]) => r === id));
      const deleted = new Set<string>();
      // Between pages: new tasks, a finished one deleted (mostly one already seen, which shifts
      // every later task for an offset-based cursor), a cancellation; and a writer racing the reader.
      const between = async () => {
        await b.tasks.create([newTask(), newTask()]);
        const next = running.shift();
        if (next !== undefined) {
          await b.tasks.finish([{ taskId: next[0], leaseId: next[1], state: 'completed', result: null }]);
          expect(await b.tasks.delete([next[0]])).toBe(1);
          deleted.add(next[0]);
        }
        const cancel = pendingOnes.shift();
        if (cancel !== undefined) await b.tasks.transition([cancel], ['pending'], 'cancelled');
      };
      let racing = true;
      const racer = (async () => {
        for (let i = 0; i < 200 && racing; i++) {
          await b.tasks.create([newTask()]);
          const cancel = pendingOnes.pop();
          if (cancel !== undefined) await b.tasks.transition([cancel], ['pending'], 'cancelled');
          await sleep(2);
        }
      })();
      const seen = (await pages(b, { limit: 6 }, between)).flat();
      racing = false;
      await racer;
      expect(deleted.size).toBeGreaterThan(3);
      expect(seen.length, 'no task seen twice').toBe(new Set(seen).size);
      const kept = originals.map((t) => t.id).filter((id) => !deleted.has(id));
      expect(seen.filter((id) => kept.includes(id)), 'every original not deleted once, in creation order').toEqual(kept);
    });

    it('a cursor still resumes in place after the last task of its page was deleted', async () => {
      const b = h.backend();
      const created = await createTasks(b, [{}, {}, {}, {}, {}]);
      const first = await b.tasks.list({ limit: 3 });
      const last = created[2]!;
      const lease = await startTask(b, last);
      await b.tasks.finish([{ taskId: last, leaseId: lease, state: 'completed', result: null }]);
      expect(await b.tasks.delete([last])).toBe(1);
      expect((await b.tasks.list({ limit: 10, cursor: first.cursor! })).tasks.map((t) => t.id)).toEqual(created.slice(3));
    });

    it('list rejects a cursor it did not make with a ValidationError', async () => {
      const b = h.backend();
      await createTasks(b, [{}, {}]);
      for (const cursor of ['not-a-cursor', '%%%', '{"after":1}', 'z'.repeat(300), '-1']) {
        await expect(b.tasks.list({ limit: 10, cursor }), `cursor ${JSON.stringify(cursor.slice(0, 20))}`).rejects.toMatchObject({ code: 'VALIDATION' });
      }
    });
  });

  describe('TaskStore: counts', () => {
    it('counts by phase, queue and type group tasks by key and state, with the oldest updatedAt of each group', async () => {
      const b = h.backend();
      const [p1a, , , , bare] = await createTasks(b, [
        { phaseId: 'p1', queue: 'qa', type: 'ta' },
        { phaseId: 'p1', queue: 'qa', type: 'ta' },
        { phaseId: 'p1', queue: 'qb', type: 'tb' },
        { phaseId: 'p2', queue: 'qb', type: 'ta' },
        { queue: 'qa', type: 'tb' },
      ]);
      await startTask(b, p1a!);
      const lease = await startTask(b, bare!);
      await b.tasks.finish([{ taskId: bare!, leaseId: lease, state: 'completed', result: null }]);
      const records = (await b.tasks.list({ limit: 1000 })).tasks;
      const keyOf: Record<CountBy, (t: TaskRecord) => string | null> = { phase: (t) => t.phaseId, queue: (t) => t.queue, type: (t) => t.type };
      const want: Record<CountBy, string[]> = {
        phase: ['-:completed:1', 'p1:pending:2', 'p1:running:1', 'p2:pending:1'],
        queue: ['qa:completed:1', 'qa:pending:1', 'qa:running:1', 'qb:pending:2'],
        type: ['ta:pending:2', 'ta:running:1', 'tb:completed:1', 'tb:pending:1'],
      };
      for (const by of ['phase', 'queue', 'type'] as const) {
        const counts = (await b.tasks.counts(by)).filter((c) => c.count > 0);
        expect(counts.map((c) => `${c.key ?? '-'}:${c.state}:${c.count}`).sort(), `counts('${by}')`).toEqual(want[by]);
        for (const c of counts) {
          const group = records.filter((t) => keyOf[by](t) === c.key && t.state === c.state);
          expect(c.oldestUpdatedAt, `oldestUpdatedAt of ${by} ${c.key}/${c.state}`).toBe(Math.min(...group.map((t) => t.updatedAt)));
        }
      }
    });
  });

  describe('TaskStore: retry, delete, setProgress', () => {
    it('retry moves only finished tasks back to pending and returns the ids that moved', async () => {
      const b = h.backend();
      const finished = await Promise.all((['dead', 'completed', 'cancelled'] as const).map((s) => finishedTask(b, s)));
      const others = [await pendingTask(b), await seasonedTask(b), await scheduledTask(b)];
      const moved = await b.tasks.retry([...finished, ...others].map((s) => s.id).concat(newId()), { resetAttempts: false });
      expect([...moved].sort()).toEqual(finished.map((s) => s.id).sort());
      for (const s of finished) expect((await mustGet(b, s.id)).state).toBe('pending');
      const states: TaskState[] = [];
      for (const s of others) states.push((await mustGet(b, s.id)).state);
      expect(states).toEqual(['pending', 'running', 'scheduled']);
      expect(await b.tasks.retry(finished.map((s) => s.id), { resetAttempts: true }), 'a retried task is pending, not finished').toEqual([]);
    });

    it('delete removes only finished tasks, with their checkpoints, and returns how many', async () => {
      const b = h.backend();
      const finished = await Promise.all((['completed', 'dead', 'cancelled'] as const).map((s) => finishedTask(b, s)));
      const running = await seasonedTask(b);
      const pending = await pendingTask(b);
      expect((await b.checkpoints.stats()).count).toBe(4);
      expect(await b.tasks.delete([...finished, running, pending].map((s) => s.id).concat(newId()))).toBe(3);
      for (const s of finished) {
        expect(await b.tasks.get(s.id)).toBeNull();
        expect(await b.checkpoints.load(s.id)).toBeNull();
      }
      expect((await mustGet(b, running.id)).state).toBe('running');
      expect(await b.checkpoints.load(running.id)).not.toBeNull();
      expect((await mustGet(b, pending.id)).state).toBe('pending');
      expect((await b.checkpoints.stats()).count).toBe(1);
      expect(await b.tasks.delete(finished.map((s) => s.id))).toBe(0);
      expect(await b.tasks.delete([])).toBe(0);
    });

    it('setProgress stores any JSON while the lease is held, the newest value wins, and is refused once the run ended', async () => {
      const b = h.backend();
      const { id, leaseId } = await seasonedTask(b);
      for (const value of [{ step: 1, label: 'ü 🚀' }, [1, [2]], 'text', 0.5, null]) {
        expect(await b.tasks.setProgress(id, leaseId, value)).toBe(true);
        expect((await mustGet(b, id)).progress).toEqual(value);
      }
      expect(await b.tasks.setProgress(id, leaseId, { step: 9 })).toBe(true);
      expect(await b.checkpoints.save(id, leaseId, jsonBlob('s', 1))).toBe(true);
      await b.tasks.finish([{ taskId: id, leaseId, state: 'completed', result: null }]);
      expect(await b.tasks.setProgress(id, leaseId, { step: 10 })).toBe(false);
      expect((await mustGet(b, id)).progress).toEqual({ step: 9 });
      expect(await b.tasks.setProgress(newId(), leaseId, 1)).toBe(false);
    });
  });
}
