// Issue 12.4: bytes written behind the SDK's back cost exactly the record they are in. Through
// the engine: one task whose stored input is not JSON is quarantined (dead, CORRUPT_RECORD, raw
// text kept) while the 20 others run to completion — before v2 a single such row made every claim
// transaction throw, and the queue stopped. Then the other JSON columns, timers and events.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createBaton, silentLogger, type Baton, type Logger } from '@baton/core';
import { newId, transitions, type NewTimer } from '@baton/core/adapter';
import { sqliteBackend, type SqliteBackend } from '../src/index.js';
import { rawText } from '../src/sqlite-records.js';
import { behindTheBack, newTask, sleep, tempDir } from './helpers.js';

const WAIT = { timeoutMs: 20_000, pollMs: 50 };

describe('SQLite quarantine at the record (issue 12.4)', () => {
  let tmp: ReturnType<typeof tempDir>;
  let backend: SqliteBackend;
  let baton: Baton | null;
  beforeEach(() => {
    tmp = tempDir();
    backend = sqliteBackend({ file: tmp.file() });
    baton = null;
  });
  afterEach(async () => {
    await baton?.stop({ deadlineMs: 0 });
    await backend.close();
    tmp.remove();
  });

  it('invalid JSON in one task’s input does not halt the queue: it is dead with CORRUPT_RECORD and its raw text, the 20 others complete', async () => {
    const errors: unknown[] = [];
    const logger: Logger = { ...silentLogger, error: (obj: object | string) => void errors.push(obj), child: () => logger };
    const b = createBaton({ backend, logger, worker: { concurrency: 4, pollIntervalMs: 20, stallTimeoutMs: 5_000, heartbeatIntervalMs: 1_000 } });
    baton = b;
    const ran: number[] = [];
    b.register('work', (input) => {
      ran.push((input as { i: number }).i);
      return { ok: (input as { i: number }).i };
    });
    const enqueued = await b.enqueueMany(Array.from({ length: 21 }, (_, i) => ({ type: 'work', input: { i } })));
    const bad = enqueued[7]!.taskId;
    const raw = '{"i": 7, "note": "cut off here';
    behindTheBack(backend.file, (db) => db.prepare('UPDATE baton_tasks SET input = ? WHERE id = ?').run(raw, bad));
    await b.start();
    for (const [i, e] of enqueued.entries()) {
      const rec = await b.waitFor(e.taskId, WAIT);
      if (e.taskId === bad) continue;
      expect(rec, `task ${i}`).toMatchObject({ state: 'completed', result: { ok: i } });
    }
    const dead = await b.waitFor(bad, WAIT);
    expect(dead).toMatchObject({ state: 'dead', input: null, error: { code: 'CORRUPT_RECORD' }, corruption: { field: 'input', raw } });
    expect(dead.corruption!.reason).toMatch(/invalid JSON/);
    expect(ran.sort((x, y) => x - y)).toEqual(Array.from({ length: 21 }, (_, i) => i).filter((i) => i !== 7));
    // The bytes stay where they were, for inspection or repair.
    expect(behindTheBack(backend.file, (db) => db.prepare('SELECT input FROM baton_tasks WHERE id = ?').pluck().get(bad))).toBe(raw);
    expect(await backend.events.query({ taskId: bad, type: ['task.corrupt'], limit: 10 })).toHaveLength(1);
    expect(errors.length).toBeGreaterThanOrEqual(1);
  });

  for (const [column, field, value] of [
    ['budget', 'budget', '[1, 2'],
    ['budget', 'budget', '"a string, not a budget"'],
    ['trace_context', 'traceContext', '{"traceparent": 5}'],
    ['progress', 'progress', 'nul'],
    ['error', 'error', '{"message": 1}'],
    ['result', 'result', Buffer.from([0xc3, 0x28])],
    ['corruption', 'corruption', '{}'],
    ['priority', 'priority', 'high'],
    ['type', 'type', Buffer.from('typed')],
    ['state', 'state', 'limbo'],
  ] as const) {
    it(`garbage in ${column} (${typeof value === 'string' ? JSON.stringify(value) : 'a BLOB'}) quarantines that task alone, naming ${field}`, async () => {
      const [bad, good] = [newTask({ budget: { tokens: 5 } }), newTask({ budget: { tokens: 5 } })];
      await backend.tasks.create([bad, good]);
      behindTheBack(backend.file, (db) => {
        // A writer that does not check Baton's constraints (state is CHECKed).
        db.pragma('ignore_check_constraints = ON');
        db.prepare(`UPDATE baton_tasks SET ${column} = ? WHERE id = ?`).run(value, bad.id);
      });
      const page = await backend.tasks.list({ limit: 10 });
      expect(page.tasks.map((t) => [t.id, t.state])).toEqual([
        [bad.id, 'dead'],
        [good.id, 'pending'],
      ]);
      const rec = page.tasks[0]!;
      expect(rec.corruption).toMatchObject({ field, raw: rawText(value) });
      expect(rec.error).toEqual(transitions.corruptRecordError(bad.id, rec.corruption!));
      expect(await backend.tasks.get(bad.id)).toEqual(rec);
      expect(await backend.events.query({ type: ['task.corrupt'], limit: 10 })).toHaveLength(1);
    });
  }

  it('a corrupt task retried by an operator is quarantined again at its next start, never run with a null input', async () => {
    const t = newTask();
    await backend.tasks.create([t]);
    behindTheBack(backend.file, (db) => db.prepare('UPDATE baton_tasks SET input = ? WHERE id = ?').run('{', t.id));
    expect((await backend.tasks.get(t.id))?.state).toBe('dead');
    expect(await backend.tasks.retry([t.id], { resetAttempts: true })).toEqual([t.id]);
    const [r] = await backend.tasks.start([{ taskId: t.id, leaseId: newId(), workerId: 'w' }]);
    expect(r).toMatchObject({ task: null, state: 'dead', corrupt: { field: 'input' } });
    expect(await backend.events.query({ type: ['task.corrupt'], limit: 10 })).toHaveLength(2);
  });

  it('a timer with an undecodable payload or kind is set aside with its raw text; the engine fires every other timer', async () => {
    const timer = (over: Partial<NewTimer> = {}): NewTimer => ({ id: newId(), kind: 'custom', delayMs: 0, key: null, taskId: null, phaseId: null, name: 'tick', payload: { n: 1 }, ...over });
    const [p, k] = [timer(), timer()];
    const good = Array.from({ length: 3 }, (_, i) => timer({ payload: { n: i } }));
    await backend.timers.schedule([p, k, ...good]);
    behindTheBack(backend.file, (db) => {
      db.prepare('UPDATE baton_timers SET payload = ? WHERE id = ?').run('{"n": ', p.id);
      // kind is CHECKed, but a foreign writer may have dropped the constraint.
      db.pragma('ignore_check_constraints = ON');
      db.prepare('UPDATE baton_timers SET kind = ? WHERE id = ?').run('mystery', k.id);
    });
    expect((await backend.timers.list({ limit: 10 })).map((t) => t.id).sort()).toEqual(good.map((t) => t.id).sort());
    const quarantined = await backend.events.query({ type: ['record.quarantined'], limit: 10 });
    expect(quarantined.map((e) => e.data['recordId']).sort()).toEqual([p.id, k.id].sort());
    expect(quarantined.find((e) => e.data['recordId'] === p.id)?.data['raw']).toBe('{"n": ');
    expect((await backend.timers.claimDue(10, 60_000)).map((t) => t.id).sort()).toEqual(good.map((t) => t.id).sort());
  });

  it('an event row with garbage data is returned as record.quarantined in its place, through the baton too', async () => {
    const b = createBaton({ backend, logger: silentLogger });
    baton = b;
    b.register('noop', () => null);
    const { taskId } = await b.enqueue('noop', {});
    const [first] = await backend.events.query({ taskId, limit: 10 });
    behindTheBack(backend.file, (db) => db.prepare('UPDATE baton_events SET data = ? WHERE seq = ?').run(Buffer.from([1, 2, 3]), first!.seq));
    await b.start();
    await b.waitFor(taskId, WAIT);
    await sleep(50);
    const events = await b.queryEvents({ taskId });
    expect(events[0]).toMatchObject({ seq: first!.seq, type: 'record.quarantined', taskId, data: { kind: 'event', raw: "x'010203'" } });
    expect(events.slice(1).map((e) => e.type)).toContain('task.completed');
  });

  it('caps the raw text it keeps without splitting a surrogate pair, which storage would alter', () => {
    const text = `${'x'.repeat(9)}𝄞tail`;
    expect(rawText(text, 10)).toBe('x'.repeat(9));
    expect(rawText(text, 11)).toBe(`${'x'.repeat(9)}𝄞`);
    expect(rawText('short', 10)).toBe('short');
  });
});
