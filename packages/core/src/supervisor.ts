// Finds work nobody is doing: leases that expired (the holder crashed or stalled) are reclaimed
// and counted as recoveries, not attempts; tasks that were created but never delivered are
// re-enqueued; finished tasks and old events are pruned per the retention settings.
import type { TimerHandle } from './clock.js';
import type { EngineContext } from './engine-context.js';
import { TERMINAL_STATES, type RecoverItem } from './ports/task-store.js';
import type { NewEvent } from './ports/event-log.js';
import { poisonPillError } from './task-transitions.js';

const RECLAIM_BATCH = 500;
const RECONCILE_BATCH = 500;
const PURGE_BATCH = 5_000;
/** A task writes about three events, so events are purged in larger batches. */
const EVENT_PURGE_BATCH = 20_000;
/** One retention pass stops after this long; the next pass continues. */
const PURGE_BUDGET_MS = 2_000;

export class Supervisor {
  private running = false;
  private finishedSincePurge = 0;
  private purging: Promise<number> | null = null;
  private readonly timers: TimerHandle[] = [];
  private readonly busy = new Set<Promise<unknown>>();

  constructor(private readonly engine: EngineContext) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    const { options } = this.engine;
    this.every(Math.max(50, Math.min(Math.floor(options.stallTimeoutMs / 5), 5_000)), () => this.reclaim());
    this.every(Math.max(1_000, Math.floor(options.reconcileAfterMs / 2)), () => this.reconcile());
    this.every(options.retention.intervalMs, () => this.purge());
  }

  /** Runs retention early once enough tasks finished since the last pass (high throughput). */
  tasksFinished(n: number): void {
    this.finishedSincePurge += n;
    if (!this.running || this.purging || this.finishedSincePurge < PURGE_BATCH) return;
    const p = this.purge()
      .catch((err: unknown) => {
        this.engine.logger.warn({ err }, 'retention pass failed; will retry');
        return 0;
      })
      .finally(() => this.busy.delete(p));
    this.busy.add(p);
  }

  async stop(): Promise<void> {
    this.running = false;
    for (const t of this.timers) this.engine.clock.clearTimeout(t);
    this.timers.length = 0;
    await Promise.all([...this.busy]);
  }

  /**
   * Reclaims expired leases until none are left; returns how many tasks were recovered or buried.
   * A task whose recovery fails after its lease was reclaimed is not lost: the next claimer of its
   * delivery finds the stale lease on the record and recovers it (WorkerPool.takeOver).
   */
  async reclaim(): Promise<number> {
    const { ports, options, events, logger } = this.engine;
    let total = 0;
    for (;;) {
      const expired = await ports.queue.reclaimExpired(RECLAIM_BATCH);
      if (expired.length === 0) return total;
      const audit: { recovered: NewEvent[]; dead: NewEvent[] }[] = [];
      const items: RecoverItem[] = expired.map((ref) => {
        const a = {
          recovered: [events.make('task.recovered', { taskId: ref.taskId, data: { expiredLeaseId: ref.leaseId } })],
          dead: [events.make('task.dead', { taskId: ref.taskId, data: { reason: 'poison_pill', maxRecoveries: options.maxRecoveries } })],
        };
        audit.push(a);
        return {
          ...ref,
          poisonPill: poisonPillError(ref.taskId, options.maxRecoveries + 1, options.maxRecoveries),
          recoveredEvents: events.forWrite(a.recovered),
          deadEvents: events.forWrite(a.dead),
        };
      });
      const results = await ports.tasks.recover(items, options.maxRecoveries);
      const dead: string[] = [];
      expired.forEach((ref, i) => {
        const r = results[i];
        if (r === 'recovered') {
          total++;
          events.written(audit[i]!.recovered);
        } else if (r === 'dead') {
          total++;
          dead.push(ref.taskId);
          logger.warn({ taskId: ref.taskId }, `task reclaimed more than ${options.maxRecoveries} times; dead as a poison pill`);
          events.written(audit[i]!.dead);
        }
      });
      if (dead.length > 0) await ports.queue.remove(dead);
      if (expired.length < RECLAIM_BATCH) return total;
    }
  }

  /** Delivers pending tasks that have sat idle without a delivery (crash between create and enqueue). */
  async reconcile(): Promise<number> {
    const { ports, options } = this.engine;
    const { tasks } = await ports.tasks.list({ states: ['pending'], idleForMs: options.reconcileAfterMs, limit: RECONCILE_BATCH });
    if (tasks.length > 0) await ports.queue.enqueue(tasks.map((t) => ({ taskId: t.id, queue: t.queue, priority: t.priority, group: t.group })));
    return tasks.length;
  }

  /**
   * Applies retention; returns how many tasks and events were removed. Keeps purging while
   * batches come back full (within a time budget), so retention keeps up with the throughput.
   */
  purge(): Promise<number> {
    // One pass at a time: the timer and the throughput trigger share it.
    this.purging ??= this.purgePass().finally(() => {
      this.purging = null;
    });
    return this.purging;
  }

  private async purgePass(): Promise<number> {
    this.finishedSincePurge = 0;
    const { ports, options, clock } = this.engine;
    const deadline = clock.now() + PURGE_BUDGET_MS;
    // Each target is purged until a batch comes back short or the pass's time budget is spent.
    const drain = async (batch: number, op: (limit: number) => Promise<number>): Promise<number> => {
      let total = 0;
      for (;;) {
        const n = await op(batch);
        total += n;
        if (n < batch || clock.now() >= deadline) return total;
      }
    };
    let removed = 0;
    for (const state of TERMINAL_STATES) {
      const rule = options.retention[state];
      removed += await drain(PURGE_BATCH, (limit) => ports.tasks.purge({ state, olderThanMs: rule.maxAgeMs, keepLatest: rule.maxCount, limit }));
    }
    const ev = options.retention.events;
    removed += await drain(EVENT_PURGE_BATCH, (limit) => ports.events.purge({ olderThanMs: ev.maxAgeMs, keepLatest: ev.maxCount, limit }));
    return removed;
  }

  private every(ms: number, job: () => Promise<unknown>): void {
    const { clock, logger } = this.engine;
    const index = this.timers.length;
    const tick = () => {
      if (!this.running) return;
      const p = job()
        .catch((err: unknown) => logger.warn({ err, job: job.name }, 'supervisor job failed; will retry'))
        .finally(() => {
          this.busy.delete(p);
          if (this.running) this.timers[index] = clock.setTimeout(tick, ms);
        });
      this.busy.add(p);
    };
    this.timers[index] = clock.setTimeout(tick, ms);
  }
}
