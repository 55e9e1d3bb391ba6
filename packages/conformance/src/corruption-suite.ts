// Quarantine at the record (issue 12): bytes written behind the SDK's back (a bad migration, a
// manual edit, a foreign writer) must cost exactly the record they are in. Reads never throw; a
// task that cannot be decoded becomes dead with CORRUPT_RECORD and its raw text kept; a delivery,
// timer or event that cannot be decoded is set aside (or shown as `record.quarantined`) and
// never blocks the others; and no decoded bytes ever reach Object.prototype. Runs only for
// targets that provide corruption hooks (stores that decode bytes).
import { describe, expect, it } from 'vitest';
import {
  composeFlow,
  newId,
  silentLogger,
  transitions,
  type Backend,
  type ClaimedStart,
  type Corruption,
  type EventType,
  type NewEvent,
  type NewTimer,
  type StartResult,
  type TaskRecord,
} from '@baton/core/adapter';
import { boom, bytesEqual, jsonBlob, newEvent, newTask, queueItem, runningTask, sleep, startAnswer, type CorruptionHooks, type Harness } from './harness.js';
import { LEASE, drainAll, freshIds, item, taskIds } from './queue-helpers.js';

type Field = 'input' | 'budget' | 'error' | 'result';

/** Every own property of the built-in prototypes, by identity: a decode that pollutes one changes it. */
function prototypeState(): Map<string, unknown> {
  const out = new Map<string, unknown>();
  const protos: [string, object][] = [
    ['Object', Object.prototype],
    ['Array', Array.prototype],
    ['Function', Function.prototype],
  ];
  for (const [name, proto] of protos) {
    for (const key of Reflect.ownKeys(proto)) {
      const d = Object.getOwnPropertyDescriptor(proto, key)!;
      out.set(`${name}.${String(key)}`, 'value' in d ? d.value : d.get);
    }
  }
  return out;
}

function prototypeChanges(before: Map<string, unknown>): string[] {
  const after = prototypeState();
  const keys = new Set([...before.keys(), ...after.keys()]);
  return [...keys].filter((k) => !before.has(k) || !after.has(k) || !Object.is(before.get(k), after.get(k)));
}

/** What every quarantined task looks like, whichever field broke and whichever read found it. */
function expectQuarantined(rec: TaskRecord | null, id: string, field: Field): Corruption {
  expect(rec).not.toBeNull();
  const c = rec!.corruption;
  expect(c, `corruption of ${id}`).not.toBeNull();
  expect(c!.field).toBe(field);
  expect(typeof c!.reason).toBe('string');
  expect(c!.reason.length).toBeGreaterThan(0);
  expect(typeof c!.raw).toBe('string');
  expect(c!.raw.length).toBeLessThanOrEqual(transitions.MAX_CORRUPT_RAW);
  expect(rec).toMatchObject({ id, state: 'dead', leaseId: null, workerId: null, heartbeatAt: null });
  expect(rec!.error).toEqual(transitions.corruptRecordError(id, c!));
  expect(typeof rec!.finishedAt).toBe('number');
  return c!;
}

function expectStartedCorrupt(r: StartResult | undefined, id: string, field: Field): void {
  expect(r?.taskId).toBe(id);
  expect(r?.task).toBeNull();
  if (r === undefined || r.task !== null) return;
  expect(r.state).toBe('dead');
  expect(r.corrupt?.field).toBe(field);
  expect(typeof r.corrupt?.reason).toBe('string');
  expect(typeof r.corrupt?.raw).toBe('string');
}

async function eventsOf(b: Backend, type: EventType, taskId?: string): Promise<NewEvent[]> {
  return b.events.query({ type: [type], limit: 1_000, ...(taskId === undefined ? {} : { taskId }) });
}

/** A task whose `field` is stored and set, ready to be corrupted. */
async function taskWithField(b: Backend, field: Field): Promise<string> {
  switch (field) {
    case 'input':
    case 'budget': {
      const t = newTask({ budget: { costUsd: 2, tokens: 100 } });
      await b.tasks.create([t]);
      return t.id;
    }
    case 'error': {
      const { id, leaseId } = await runningTask(b);
      expect(await b.tasks.finish([{ taskId: id, leaseId, state: 'scheduled', error: boom }])).toEqual([true]);
      return id;
    }
    case 'result': {
      const { id, leaseId } = await runningTask(b);
      expect(await b.tasks.finish([{ taskId: id, leaseId, state: 'completed', result: { ok: true } }])).toEqual([true]);
      return id;
    }
  }
}

function timer(over: Partial<NewTimer> = {}): NewTimer {
  return { id: newId(), kind: 'custom', delayMs: 0, key: null, taskId: null, phaseId: null, name: 'conformance', payload: { n: 1 }, ...over };
}

export function corruptionSuite(h: Harness): void {
  const hooks = h.target.corrupt;
  describe.skipIf(hooks === undefined)('Corruption: quarantine at the record', () => {
    /** A test that also fails when the corrupt bytes reached a built-in prototype. */
    const corruptIt = (name: string, fn: (b: Backend, c: CorruptionHooks) => Promise<void>): void => {
      it(name, async () => {
        const before = prototypeState();
        await fn(h.backend(), hooks!);
        expect(prototypeChanges(before), 'built-in prototypes changed').toEqual([]);
      });
    };

    corruptIt('a corrupt input quarantines that task at start: the other 20 start, the corrupt one reports dead with corrupt set', async (b, c) => {
      const tasks = Array.from({ length: 21 }, () => newTask());
      await b.tasks.create(tasks);
      await b.queue.enqueue(tasks.map((t) => queueItem(t)));
      const bad = tasks[10]!.id;
      await c.corruptTaskField(b, bad, 'input');

      const claimed = await drainAll(b, ['default'], { limit: 25 });
      const good = tasks.filter((t) => t.id !== bad).map((t) => t.id);
      expect(taskIds(claimed).filter((id) => id !== bad).sort()).toEqual([...good].sort());
      // The Queue need not read the record; if it did not hand the corrupt task out, start it by hand.
      const claims = claimed.map((d) => ({ taskId: d.taskId, leaseId: d.leaseId, workerId: 'w' }));
      if (!claims.some((x) => x.taskId === bad)) claims.push({ taskId: bad, leaseId: newId(), workerId: 'w' });
      const started = await b.tasks.start(claims);
      for (const r of started) {
        if (r.taskId === bad) expectStartedCorrupt(r, bad, 'input');
        else expect(r.task?.state, `start of ${r.taskId}`).toBe('running');
      }

      const rec = await b.tasks.get(bad);
      expectQuarantined(rec, bad, 'input');
      expect(rec!.input).toBeNull();
      if (b.capabilities.atomicEvents) {
        const ev = await eventsOf(b, 'task.corrupt', bad);
        expect(ev).toHaveLength(1);
        expect(ev[0]!.data).toMatchObject({ field: 'input' });
      }
    });

    corruptIt('get of a corrupt input never throws: it returns the task quarantined, once, and list and counts still read every task', async (b, c) => {
      const tasks = Array.from({ length: 3 }, () => newTask());
      await b.tasks.create(tasks);
      const bad = tasks[1]!.id;
      await c.corruptTaskField(b, bad, 'input');

      const first = expectQuarantined(await b.tasks.get(bad), bad, 'input');
      const again = await b.tasks.get(bad);
      expect(again?.corruption).toEqual(first);
      const page = await b.tasks.list({ limit: 100 });
      expect(page.tasks.map((t) => t.id)).toEqual(tasks.map((t) => t.id));
      expect(page.tasks[1]).toMatchObject({ state: 'dead', corruption: first });
      expect((await b.tasks.counts('queue')).find((x) => x.state === 'dead')?.count).toBe(1);
      for (const t of [tasks[0]!, tasks[2]!]) expect(await b.tasks.get(t.id)).toMatchObject({ state: 'pending', input: t.input, corruption: null });
      // Already quarantined: a start finds it dead and does not report it again.
      const [r] = await b.tasks.start([{ taskId: bad, leaseId: newId(), workerId: 'w' }]);
      expect(startAnswer(r)).toEqual({ taskId: bad, task: null, state: 'dead' });
      if (b.capabilities.atomicEvents) expect(await eventsOf(b, 'task.corrupt', bad)).toHaveLength(1);
    });

    for (const field of ['budget', 'error', 'result'] as const) {
      corruptIt(`a corrupt ${field} quarantines only its task: get returns it dead with CORRUPT_RECORD and the raw text`, async (b, c) => {
        const id = await taskWithField(b, field);
        const sibling = await taskWithField(b, field);
        const siblingBefore = await b.tasks.get(sibling);
        await c.corruptTaskField(b, id, field);

        const rec = await b.tasks.get(id);
        expectQuarantined(rec, id, field);
        expect(rec!.input).toEqual({ n: 1 });
        if (field === 'budget') expect(rec!.budget).toBeNull();
        if (field === 'result') expect(rec!.result).toBeNull();
        expect(await b.tasks.get(sibling)).toEqual(siblingBefore);
        if (b.capabilities.atomicEvents) {
          const ev = await eventsOf(b, 'task.corrupt', id);
          expect(ev).toHaveLength(1);
          expect(ev[0]!.data).toMatchObject({ field });
        }
      });
    }

    corruptIt('claimAndStart hands out the other tasks and reports the corrupt one dead, never failing the batch', async (b, c) => {
      const tasks = Array.from({ length: 6 }, () => newTask({ queue: 'fused' }));
      await b.tasks.create(tasks);
      await b.queue.enqueue(tasks.map((t) => queueItem(t)));
      const bad = tasks[0]!.id;
      await c.corruptTaskField(b, bad, 'input');
      const flow = b.flow ?? composeFlow(b, silentLogger);
      const got: ClaimedStart[] = [];
      for (let i = 0; i < 20 && got.length < tasks.length; i++) got.push(...(await flow.claimAndStart({ queues: ['fused'], limit: 3, leaseMs: LEASE, waitMs: 200 }, 'w', false)));
      const good = got.filter((x) => x.delivery.taskId !== bad);
      expect(good.map((x) => x.delivery.taskId).sort()).toEqual(tasks.slice(1).map((t) => t.id).sort());
      for (const x of good) expect(x.start.task?.state).toBe('running');
      const corrupt = got.find((x) => x.delivery.taskId === bad);
      if (corrupt !== undefined) expectStartedCorrupt(corrupt.start, bad, 'input');
      expectQuarantined(await b.tasks.get(bad), bad, 'input');
    });

    corruptIt('a corrupt checkpoint loads as stored bytes without throwing; the task is left to core and a new save still works', async (b, c) => {
      const { id, leaseId } = await runningTask(b);
      const saved = jsonBlob('cp-1', { step: 1 });
      expect(await b.checkpoints.save(id, leaseId, saved)).toBe(true);
      await c.corruptCheckpoint(b, id);

      const cp = await b.checkpoints.load(id);
      expect(cp?.taskId).toBe(id);
      expect(cp?.body).toBeInstanceOf(Uint8Array);
      expect(bytesEqual(cp!.body, saved.body)).toBe(false);
      expect((await b.checkpoints.stats()).count).toBe(1);
      // The store never decodes checkpoints, so it does not quarantine the task: core does.
      expect(await b.tasks.get(id)).toMatchObject({ state: 'running', leaseId, hasCheckpoint: true, corruption: null });
      const fresh = jsonBlob('cp-2', { step: 2 });
      expect(await b.checkpoints.save(id, leaseId, fresh)).toBe(true);
      const back = await b.checkpoints.load(id);
      expect(back?.token).toBe('cp-2');
      expect(bytesEqual(back!.body, fresh.body)).toBe(true);
    });

    corruptIt('a corrupt timer is never handed out and never blocks the other due timers', async (b, c) => {
      const bad = timer();
      await b.timers.schedule([bad]);
      await sleep(5);
      const good = Array.from({ length: 4 }, () => timer());
      await b.timers.schedule(good);
      await c.corruptTimer(b, bad.id);
      await sleep(50);

      const claimed: string[] = [];
      for (let i = 0; i < 10 && claimed.length < good.length; i++) claimed.push(...(await b.timers.claimDue(2, LEASE)).map((t) => t.id));
      expect(claimed).not.toContain(bad.id);
      expect([...claimed].sort()).toEqual(good.map((t) => t.id).sort());
      await b.timers.complete(claimed);
      expect(await b.timers.claimDue(10, LEASE)).toEqual([]);
      // Out of the due set: it does not keep the timer loop waking for it.
      expect(await b.timers.nextDueIn()).toBeNull();
      if (b.capabilities.atomicEvents) {
        const ev = (await eventsOf(b, 'record.quarantined')).filter((e) => e.data['kind'] === 'timer');
        expect(ev.map((e) => e.data['recordId'])).toEqual([bad.id]);
      }
    });

    corruptIt('a corrupt event row comes back in its place as record.quarantined, with every other event', async (b, c) => {
      const appended = Array.from({ length: 5 }, (_, i) => newEvent({ runId: 'r', data: { i } }));
      await b.events.append(appended);
      const before = await b.events.query({ limit: 100 });
      expect(before.map((e) => e.id)).toEqual(appended.map((e) => e.id));
      await c.corruptEvent(b, before[2]!.seq);

      const after = await b.events.query({ limit: 100 });
      expect(after.map((e) => e.seq)).toEqual(before.map((e) => e.seq));
      for (const i of [0, 1, 3, 4]) expect(after[i]).toEqual(before[i]);
      const q = after[2]!;
      expect(q.type).toBe('record.quarantined');
      expect(q.data['kind']).toBe('event');
      expect(typeof q.data['reason']).toBe('string');
      expect(typeof q.data['raw']).toBe('string');
      expect((q.data['raw'] as string).length).toBeLessThanOrEqual(4_096);
      const page = await b.events.query({ after: before[1]!.seq, limit: 2 });
      expect(page.map((e) => e.seq)).toEqual([before[2]!.seq, before[3]!.seq]);
      expect(page[0]!.type).toBe('record.quarantined');
    });

    corruptIt('a delivery the store cannot decode is never handed out; claims keep returning every good delivery', async (b, c) => {
      const early = freshIds(10);
      await b.queue.enqueue(early.map((id) => item(id)));
      await c.injectBadDelivery(b, 'default');
      const late = freshIds(2);
      await b.queue.enqueue(late.map((id) => item(id)));
      const good = new Set([...early, ...late]);

      const got = await drainAll(b, ['default'], { limit: 3, emptyRounds: 3 });
      for (const d of got) expect(good.has(d.taskId), `handed out ${d.taskId}`).toBe(true);
      expect(new Set(taskIds(got))).toEqual(good);
      expect(got).toHaveLength(good.size);
      expect(await b.queue.claim({ queues: ['default'], limit: 10, leaseMs: LEASE, waitMs: 300 })).toEqual([]);
      // The hook wrote behind the store's back, so only what the good deliveries account for is asserted.
      expect((await b.queue.depth()).leased).toBe(good.size);
      expect((await b.queue.queues()).find((q) => q.name === 'default')?.depth.leased).toBe(good.size);
      expect(await b.queue.ack(got)).toEqual(got.map(() => true));
      if (b.capabilities.atomicEvents) expect((await eventsOf(b, 'record.quarantined')).filter((e) => e.data['kind'] === 'delivery').length).toBeGreaterThanOrEqual(1);
    });

    corruptIt('a delivery whose task record is gone is handed out, start reports state null, and the queue carries on', async (b, c) => {
      const tasks = Array.from({ length: 3 }, () => newTask());
      const fused = newTask({ queue: 'fused' });
      await b.tasks.create([...tasks, fused]);
      await b.queue.enqueue([...tasks, fused].map((t) => queueItem(t)));
      const gone = tasks[1]!.id;
      await c.deleteTaskKeepDelivery(b, gone);
      await c.deleteTaskKeepDelivery(b, fused.id);

      const claimed = await drainAll(b, ['default'], { limit: 10 });
      expect(taskIds(claimed).sort()).toEqual(tasks.map((t) => t.id).sort());
      const started = await b.tasks.start(claimed.map((d) => ({ taskId: d.taskId, leaseId: d.leaseId, workerId: 'w' })));
      for (const r of started) {
        if (r.taskId === gone) expect(startAnswer(r)).toEqual({ taskId: gone, task: null, state: null });
        else expect(r.task?.state).toBe('running');
      }
      expect(await b.tasks.get(gone)).toBeNull();
      expect(await b.queue.ack(claimed.filter((d) => d.taskId === gone))).toEqual([true]);

      const flow = b.flow ?? composeFlow(b, silentLogger);
      const viaFlow: ClaimedStart[] = [];
      for (let i = 0; i < 10 && viaFlow.length === 0; i++) viaFlow.push(...(await flow.claimAndStart({ queues: ['fused'], limit: 5, leaseMs: LEASE, waitMs: 200 }, 'w', false)));
      expect(viaFlow.map((x) => startAnswer(x.start))).toEqual([{ taskId: fused.id, task: null, state: null }]);
    });
  });
}
