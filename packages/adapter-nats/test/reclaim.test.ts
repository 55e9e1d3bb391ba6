// Reclaiming expired leases when several supervisors (one per process) reclaim at once, and when a
// pass fails midway: every expired lease must reach `recover` at least once and, barring failures,
// exactly once, so no task is left running under a lease nobody holds.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { BackendError, type LeaseRef, type Logger, type RecoverItem, type RecoverResult, type StoredError } from '@baton/core/adapter';
import { newTask, queueItem } from '@baton/conformance';
import { natsBackend, type NatsBackend } from '../src/index.js';
import { Bucket, type Meta } from '../src/nats-bucket.js';
import { freshBackend, NATS_URL, natsUp, skipReason, sleep } from './helpers.js';

const LEASE_MS = 200;
const MAX_RECOVERIES = 10;
const Q = ['default'];
const poisonPill: StoredError = { name: 'PoisonPillError', message: 'reclaimed too often', code: 'POISON_PILL', stack: null };
const items = (refs: LeaseRef[]): RecoverItem[] => refs.map((r) => ({ ...r, poisonPill }));

/** A logger that keeps its warnings. */
function warnings(): Logger & { warned: { obj: object; msg: string }[] } {
  const warned: { obj: object; msg: string }[] = [];
  const noop = () => undefined;
  const logger: Logger & { warned: typeof warned } = {
    warned,
    trace: noop,
    debug: noop,
    info: noop,
    warn: (obj: object | string, msg?: string) => {
      if (typeof obj === 'string') warned.push({ obj: {}, msg: obj });
      else warned.push({ obj, msg: msg ?? '' });
    },
    error: noop,
    fatal: noop,
    child: () => logger,
  };
  return logger;
}

describe.skipIf(!natsUp)(`@baton/nats reclaim of expired leases ${skipReason}`, () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    vi.restoreAllMocks();
    for (const fn of cleanups.splice(0).reverse()) await fn();
  });
  const fresh = (logger?: Logger) => {
    const f = freshBackend(logger ? { logger } : {});
    cleanups.push(f.cleanup);
    return f;
  };
  const second = (prefix: string): NatsBackend => {
    const b = natsBackend(NATS_URL, { prefix });
    cleanups.push(() => b.close());
    return b;
  };

  /**
   * Creates `n` tasks, claims and starts each under a short lease, then lets every lease expire (a
   * worker that was SIGKILLed). One task claimed first under a long lease stays healthy: its entry
   * sits below the expired ones in the leases stream, as a live worker's does in production, so
   * the expired entries are interior sequences when the reclaim passes mark and delete them.
   */
  async function strandRunningTasks(b: NatsBackend, n: number): Promise<LeaseRef[]> {
    const healthyTask = newTask({ type: 'healthy' });
    await b.tasks.create([healthyTask]);
    await b.queue.enqueue([queueItem(healthyTask)]);
    const healthy = await b.queue.claim({ queues: Q, limit: 1, leaseMs: 120_000, waitMs: 1_000 });
    expect(healthy.map((d) => d.taskId)).toEqual([healthyTask.id]);
    const tasks = Array.from({ length: n }, () => newTask({ type: 'reclaim' }));
    await b.tasks.create(tasks);
    await b.queue.enqueue(tasks.map((t) => queueItem(t)));
    const held: LeaseRef[] = [];
    for (let round = 0; round < 20 && held.length < n; round++) {
      held.push(...(await b.queue.claim({ queues: Q, limit: n - held.length, leaseMs: LEASE_MS, waitMs: 1_000 })));
    }
    expect(held).toHaveLength(n);
    const started = await b.tasks.start(held.map((d) => ({ ...d, workerId: 'killed-worker' })));
    expect(started.filter((s) => s.task !== null)).toHaveLength(n);
    await sleep(LEASE_MS * 4); // past every lease; nothing here depends on how far past
    return held;
  }

  /** What core's Supervisor.reclaim does: reclaim a batch, recover its tasks, until a batch comes back short. */
  async function supervisorPass(b: NatsBackend, batch: number, reported: LeaseRef[], results: RecoverResult[]): Promise<void> {
    for (;;) {
      const expired = await b.queue.reclaimExpired(batch);
      reported.push(...expired);
      if (expired.length === 0) return;
      results.push(...(await b.tasks.recover(items(expired), MAX_RECOVERIES)));
      if (expired.length < batch) return;
    }
  }

  /** Tasks not back to pending, e.g. left running under a lease nobody holds. */
  async function notPending(b: NatsBackend, held: LeaseRef[]): Promise<string[]> {
    const recs = await Promise.all(held.map((d) => b.tasks.get(d.taskId)));
    return held.flatMap((d, i) => (recs[i]?.state === 'pending' ? [] : [`${d.taskId}: ${recs[i]?.state ?? 'missing'}`]));
  }

  /** Every task back to pending and claimable under a fresh lease. */
  async function expectAllRecoverable(b: NatsBackend, held: LeaseRef[]): Promise<void> {
    expect(await notPending(b, held)).toEqual([]);
    const again: LeaseRef[] = [];
    for (let round = 0; round < 20 && again.length < held.length; round++) {
      again.push(...(await b.queue.claim({ queues: Q, limit: held.length - again.length, leaseMs: 60_000, waitMs: 1_000 })));
    }
    expect(again.map((d) => d.taskId).sort()).toEqual(held.map((d) => d.taskId).sort());
    const restarted = await b.tasks.start(again.map((d) => ({ ...d, workerId: 'next-worker' })));
    expect(restarted.filter((s) => s.task === null).map((s) => s.taskId)).toEqual([]);
  }

  /** Leases reported more than once, and leases never reported. */
  function tally(held: LeaseRef[], reported: LeaseRef[]): { duplicates: string[]; missing: string[] } {
    const seen = new Map<string, number>();
    for (const r of reported) seen.set(`${r.taskId}/${r.leaseId}`, (seen.get(`${r.taskId}/${r.leaseId}`) ?? 0) + 1);
    return {
      duplicates: [...seen].filter(([, n]) => n > 1).map(([k]) => k),
      missing: held.map((d) => `${d.taskId}/${d.leaseId}`).filter((k) => !seen.has(k)),
    };
  }

  it('concurrent reclaim passes from several processes report every expired lease exactly once, and every task comes back pending and claimable', async () => {
    const { backend, prefix } = fresh();
    const others = [second(prefix), second(prefix)];
    const n = 60;
    const held = await strandRunningTasks(backend, n);

    const reported: LeaseRef[] = [];
    const results: RecoverResult[] = [];
    // Small batches, so the passes interleave over many round trips instead of one taking everything.
    const passes = await Promise.allSettled([backend, ...others].map((b) => supervisorPass(b, 7, reported, results)));
    const failures = passes.flatMap((p) => (p.status === 'rejected' ? [String(p.reason)] : []));
    // A later, undisturbed pass picks up whatever the concurrent ones left discoverable.
    await supervisorPass(backend, 500, reported, results);

    const stuck = await notPending(backend, held);
    expect({ failures, stuck, ...tally(held, reported) }).toEqual({ failures: [], stuck: [], duplicates: [], missing: [] });
    expect(results.filter((r) => r === 'recovered')).toHaveLength(n);
    await expectAllRecoverable(backend, held);
  });

  it('a pass whose lease marks start failing returns the leases it took and leaves the rest for the next pass', async () => {
    const logger = warnings();
    const { backend } = fresh(logger);
    const held = await strandRunningTasks(backend, 12);

    // Taking a lease is a compare-and-set update of its entry (the mark); fail those from the fourth on.
    const original = Bucket.prototype.update;
    let marks = 0;
    vi.spyOn(Bucket.prototype, 'update').mockImplementation(async function (this: Bucket, key: string, data: Uint8Array, revision: number, meta?: Meta) {
      if (!this.name.endsWith('_leases')) return original.call(this, key, data, revision, meta);
      marks += 1;
      if (marks <= 3) return original.call(this, key, data, revision, meta);
      // The fourth mark reaches the server but its answer is lost (a timeout): it may or may not have happened.
      if (marks === 4) {
        await original.call(this, key, data, revision, meta);
        throw new Error('injected: mark answer lost');
      }
      throw new Error('injected: server unreachable');
    });
    const first = await backend.queue.reclaimExpired(500);
    vi.restoreAllMocks();
    // The three it deleted and the one it cannot tell about: reporting a lease twice is harmless (recover is fenced and idempotent), losing one is not.
    expect(first).toHaveLength(4);
    const stopped = logger.warned.find((w) => w.msg.includes('reclaim pass stopped early'));
    expect(stopped?.obj).toMatchObject({ reported: first.map((r) => r.taskId) });
    expect((stopped?.obj as { left?: string[] }).left).toHaveLength(held.length - first.length);

    const reported = [...first];
    const results = await backend.tasks.recover(items(first), MAX_RECOVERIES);
    await supervisorPass(backend, 500, reported, results);
    expect(tally(held, reported)).toEqual({ duplicates: [], missing: [] });
    expect(results.filter((r) => r === 'recovered')).toHaveLength(held.length);
    await expectAllRecoverable(backend, held);
  });

  it('a pass that fails before taking any lease throws a BackendError and loses nothing', async () => {
    const { backend } = fresh();
    const held = await strandRunningTasks(backend, 5);

    const original = Bucket.prototype.update;
    vi.spyOn(Bucket.prototype, 'update').mockImplementation(async function (this: Bucket, key: string, data: Uint8Array, revision: number, meta?: Meta) {
      if (this.name.endsWith('_leases')) throw new Error('injected: server unreachable');
      return original.call(this, key, data, revision, meta);
    });
    await expect(backend.queue.reclaimExpired(500)).rejects.toBeInstanceOf(BackendError);
    vi.restoreAllMocks();

    const reported: LeaseRef[] = [];
    const results: RecoverResult[] = [];
    await supervisorPass(backend, 500, reported, results);
    expect(tally(held, reported)).toEqual({ duplicates: [], missing: [] });
    await expectAllRecoverable(backend, held);
  });
});
