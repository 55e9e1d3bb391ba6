// One claim loop feeding N task slots. Claims are batched up to the free slots; leases are
// extended on a timer of their own (so a busy handler does not lose them); the pool can grow
// and shrink at run time and scale itself on queue depth.
import type { TimerHandle } from './clock.js';
import { sleep } from './clock.js';
import type { EngineContext } from './engine-context.js';
import { LeaseLostError, ShutdownError } from './errors.js';
import { eventId } from './event-publisher.js';
import type { ClaimedStart } from './ports/task-flow.js';
import { heartbeatId } from './ports/heartbeat-store.js';
import type { LeaseRef } from './ports/queue.js';
import type { StartResult } from './ports/task-store.js';
import type { NewEvent } from './ports/event-log.js';
import { RunningTask } from './running-task.js';
import { runTask, UnknownTypes } from './task-runner.js';
import { poisonPillError, startedEvent } from './task-transitions.js';

export interface PoolStats {
  slots: number;
  busy: number;
  running: boolean;
  /** The queues this worker claims from. */
  queues: string[];
}

export class WorkerPool {
  private slots: number;
  private readonly inflight = new Map<string, RunningTask>();
  private running = false;
  private loopDone: Promise<void> = Promise.resolve();
  private claimAbort = new AbortController();
  private slotWaiter: (() => void) | null = null;
  private heartbeatTimer: TimerHandle | null = null;
  private scaleTimer: TimerHandle | null = null;
  private loopMonitor: TimerHandle | null = null;
  /** Runs started and not yet ended (their handler may be done, their outcome still being written). */
  private settling = 0;
  private settledWaiters: (() => void)[] = [];
  private readonly unknownTypes = new UnknownTypes();
  private idleWaiters: (() => void)[] = [];
  /** The last event-loop delay the monitor measured (ms past when its timer was due). */
  private lagMs = 0;
  /** Holds the process open while the pool runs: a worker's job is to keep claiming. */
  private keepAlive: ReturnType<typeof setInterval> | null = null;

  constructor(private readonly engine: EngineContext) {
    this.slots = engine.options.concurrency;
  }

  /** The queues claims take from: worker.queues, else those of the registered types. */
  get queues(): string[] {
    return [...(this.engine.options.queues ?? this.engine.registry.queues())];
  }

  get size(): number {
    return this.slots;
  }

  stats(): PoolStats {
    return { slots: this.slots, busy: this.inflight.size, running: this.running, queues: this.queues };
  }

  get eventLoopLagMs(): number {
    return this.lagMs;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    // Engine timers are unreferenced; without this a worker whose connections all dropped (a
    // database restart) would exit with status 0 instead of reconnecting.
    this.keepAlive = setInterval(() => undefined, 1 << 30);
    this.claimAbort = new AbortController();
    this.loopDone = this.claimLoop();
    this.scheduleHeartbeat();
    this.monitorEventLoop();
    const scale = this.engine.options.autoScale;
    if (scale) {
      this.slots = Math.min(Math.max(this.slots, scale.min), scale.max);
      const tick = () => {
        this.scaleTimer = this.engine.clock.setTimeout(() => {
          this.autoScale()
            .catch((err: unknown) => this.engine.logger.warn({ err }, 'autoscale check failed'))
            .finally(() => this.running && tick());
        }, scale.intervalMs);
      };
      tick();
    }
    this.engine.events.emit('worker.started', { data: { slots: this.slots } });
  }

  /** Adds task slots; takes effect on the next claim. */
  addWorkers(n: number): void {
    this.resize(this.slots + n, 'manual');
  }

  /** Removes task slots; running tasks finish, fewer are claimed. */
  removeWorkers(n: number): void {
    this.resize(this.slots - n, 'manual');
  }

  /** Scaling rule: ready > slots×5 → grow, ready < slots×2 → shrink, within autoScale min/max. Returns the new size. */
  async autoScale(): Promise<number> {
    const limits = this.engine.options.autoScale ?? { min: 1, max: Math.max(this.slots, this.engine.options.concurrency) };
    const { ready } = await this.engine.ports.queue.depth();
    let target = this.slots;
    if (ready > this.slots * 5) target = Math.max(this.slots + 1, Math.ceil(ready / 5));
    else if (ready < this.slots * 2) target = this.slots - 1;
    target = Math.min(limits.max, Math.max(limits.min, target));
    if (target !== this.slots) this.resize(target, 'autoscale', ready);
    return this.slots;
  }

  /** Aborts a task this process runs (cancellation, phase timeout); its outcome is not written. */
  abortTask(taskId: string, reason: Error): boolean {
    const run = this.inflight.get(taskId);
    if (!run) return false;
    run.stop(reason, true);
    return true;
  }

  /**
   * Graceful stop: no new claims; in-flight tasks get `deadlineMs` to finish; the rest are
   * aborted, their checkpoints flushed and their leases released so another worker starts at once.
   */
  async stop(deadlineMs = this.engine.options.shutdownDeadlineMs): Promise<void> {
    if (!this.running) return;
    this.running = false;
    if (this.keepAlive) clearInterval(this.keepAlive);
    this.keepAlive = null;
    this.claimAbort.abort();
    this.slotWaiter?.();
    await this.loopDone;
    for (const t of [this.heartbeatTimer, this.scaleTimer, this.loopMonitor]) if (t) this.engine.clock.clearTimeout(t);
    if (this.inflight.size > 0) {
      const abort = new AbortController();
      await Promise.race([this.whenIdle(), sleep(this.engine.clock, deadlineMs, abort.signal)]);
      abort.abort();
    }
    const leftovers = [...this.inflight.values()];
    await Promise.all(leftovers.map((run) => this.release(run)));
    if (this.settling > 0) await new Promise<void>((resolve) => this.settledWaiters.push(resolve));
    await this.drainSettler(Math.max(deadlineMs, 5_000));
    await this.engine.ports.heartbeats
      .remove([heartbeatId.worker(this.engine.workerId)])
      .catch((err: unknown) => this.engine.logger.warn({ err }, 'could not remove this worker\'s heartbeat; it expires on its own'));
    this.engine.events.emit('worker.stopped', { data: { released: leftovers.length } });
  }

  private async release(run: RunningTask): Promise<void> {
    // Flush before stopping: stopping closes the checkpoint writer and drops what is pending.
    const cp = run.checkpoints;
    if (cp?.hasPending) {
      await cp.flush().catch((err: unknown) =>
        this.engine.logger.error({ err, taskId: run.id }, 'the last checkpoint could not be written on shutdown; the next run resumes from the one before it'),
      );
    }
    run.stop(new ShutdownError(), true);
    run.cleanup();
    this.inflight.delete(run.id);
    await this.engine.settler.settle({
      outcome: { taskId: run.id, leaseId: run.leaseId, state: 'pending' },
      queue: 'release',
      deleteCheckpoint: false,
      events: [this.engine.events.make('task.released', { taskId: run.id, runId: run.task.runId, phaseId: run.task.phaseId, data: { reason: 'shutdown' } })],
    });
  }

  /** Outcomes that still cannot be written when the deadline passes are left to lease expiry (the tasks run again). */
  private async drainSettler(deadlineMs: number): Promise<void> {
    const abort = new AbortController();
    const drained = this.engine.settler.drain().then(() => true);
    const ok = await Promise.race([drained, sleep(this.engine.clock, deadlineMs, abort.signal).then(() => false)]);
    abort.abort();
    if (!ok) this.engine.logger.error({ deadlineMs }, 'task outcomes could not be written before shutdown; their leases will expire and the tasks run again');
  }

  private whenIdle(): Promise<void> {
    if (this.inflight.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** A slot freed: wake the claim loop, and shutdown once nothing runs. */
  private slotFreed(): void {
    this.slotWaiter?.();
    if (this.inflight.size === 0) for (const wake of this.idleWaiters.splice(0)) wake();
  }

  private resize(target: number, reason: string, depth?: number): void {
    const to = Math.max(1, Math.min(10_000, Math.floor(target)));
    if (to === this.slots) return;
    const from = this.slots;
    this.slots = to;
    this.slotFreed();
    this.engine.events.emit('pool.scaled', { data: { from, to, reason, ...(depth === undefined ? {} : { depth }) } });
  }

  private async claimLoop(): Promise<void> {
    const { flow, options, logger, atomicEvents } = this.engine;
    const queues = this.queues;
    if (queues.length === 0) {
      logger.warn({}, 'this worker serves no queue (no task type registered and no worker.queues): it claims nothing');
      return;
    }
    let failures = 0;
    while (this.running) {
      // Running handlers stay within the slots; outcomes still being written add at most as many again.
      const free = Math.min(this.slots - this.inflight.size, 2 * this.slots - this.settling);
      if (free <= 0) {
        await new Promise<void>((resolve) => (this.slotWaiter = resolve));
        this.slotWaiter = null;
        // Slots free up a batch at a time (one settle writes many outcomes): let the whole batch
        // land before claiming, so the next claim fills them all in one round trip.
        await new Promise<void>((resolve) => setImmediate(resolve));
        continue;
      }
      try {
        const claimed = await flow.claimAndStart(
          { queues, limit: Math.min(free, options.claimBatchSize), leaseMs: options.stallTimeoutMs, waitMs: options.pollIntervalMs, signal: this.claimAbort.signal },
          this.engine.workerId,
          atomicEvents,
        );
        if (claimed.length > 0) await this.startAll(claimed);
        failures = 0;
      } catch (err) {
        failures++;
        logger.error({ err, failures }, 'claim failed; backing off');
        await sleep(this.engine.clock, Math.min(5_000, 100 * 2 ** Math.min(failures, 6)), this.claimAbort.signal);
      }
    }
  }

  private async startAll(claimed: ClaimedStart[]): Promise<void> {
    const { ports, events, logger } = this.engine;
    const drop: LeaseRef[] = [];
    const retryLater: (LeaseRef & { delayMs: number })[] = [];
    const stale: ClaimedStart[] = [];
    const started: NewEvent[] = [];
    // Atomic backends stored task.started with the claim: the copy here is only for listeners.
    const announce = !this.engine.atomicEvents || events.listens('task.started');
    for (const c of claimed) {
      const { delivery: d, start: r } = c;
      if (r.task) {
        this.run(new RunningTask(this.engine, r.task, d.leaseId));
        if (announce) started.push(startedEvent(r.task, eventId()));
      } else if (r.state === 'running' && r.leaseId) {
        stale.push(c);
      } else if (r.state === 'running' || r.state === 'pending') {
        // The record has not caught up with the delivery yet (a start racing this claim): look again shortly.
        retryLater.push({ ...d, delayMs: Math.min(1_000, this.engine.options.stallTimeoutMs) });
      } else {
        if (r.task === null && r.corrupt) logger.error({ taskId: r.taskId, field: r.corrupt.field, reason: r.corrupt.reason }, 'task quarantined: its stored record cannot be decoded');
        // Finished, cancelled, waiting for a retry timer, quarantined or unknown: this delivery has nothing to run.
        drop.push(d);
      }
    }
    // Atomic backends wrote task.started with the claim; listeners still hear of it here.
    if (started.length > 0) {
      if (this.engine.atomicEvents) events.notifyAll(started);
      else events.written(started);
    }
    if (stale.length > 0) await this.takeOver(stale);
    if (drop.length > 0) await ports.queue.ack(drop);
    if (retryLater.length > 0) await ports.queue.release(retryLater);
  }

  private run(run: RunningTask): void {
    this.inflight.set(run.id, run);
    // The slot frees when the handler is done, not when its outcome is written: the next
    // claim overlaps the previous batch's settle instead of waiting a round trip for it.
    run.onHandlerDone = this.handlerDone;
    run.onEnded = this.runEnded;
    this.settling++;
    runTask(run, this.unknownTypes);
  }

  private readonly handlerDone = (run: RunningTask): void => {
    this.inflight.delete(run.id);
    this.slotFreed();
  };

  private readonly runEnded = (run: RunningTask): void => {
    this.inflight.delete(run.id);
    if (--this.settling === 0) for (const wake of this.settledWaiters.splice(0)) wake();
    this.slotFreed();
  };

  /**
   * We hold the task's live delivery, yet its record still runs under another lease: that lease is
   * stale (a task has one live delivery at a time), left behind by a holder that died after its
   * delivery was reclaimed but before the record was recovered. Recover it (fenced by that lease),
   * after confirming our own lease is live, then start the task under ours.
   */
  private async takeOver(stale: ClaimedStart[]): Promise<void> {
    const { ports, options, events, atomicEvents, workerId } = this.engine;
    // The queue alone says whether our delivery lease is live: the record is still under the stale one.
    const held = await ports.queue.extend(stale.map((c) => c.delivery), options.stallTimeoutMs);
    const mine = stale.filter((_, i) => held[i]);
    if (mine.length === 0) return;
    const items = mine.map((c) => {
      const r = c.start as Extract<StartResult, { task: null }>;
      const recovered = [events.make('task.recovered', { taskId: c.delivery.taskId, data: { expiredLeaseId: r.leaseId ?? null, by: 'claim' } })];
      const dead = [events.make('task.dead', { taskId: c.delivery.taskId, data: { reason: 'poison_pill', maxRecoveries: options.maxRecoveries } })];
      return {
        item: {
          taskId: c.delivery.taskId,
          leaseId: r.leaseId!,
          poisonPill: poisonPillError(c.delivery.taskId, options.maxRecoveries + 1, options.maxRecoveries),
          recoveredEvents: events.forWrite(recovered),
          deadEvents: events.forWrite(dead),
        },
        recovered,
        dead,
        delivery: c.delivery,
      };
    });
    const results = await ports.tasks.recover(items.map((x) => x.item), options.maxRecoveries);
    const restart: LeaseRef[] = [];
    const finished: LeaseRef[] = [];
    items.forEach((x, i) => {
      if (results[i] === 'recovered') {
        events.written(x.recovered);
        restart.push(x.delivery);
      } else if (results[i] === 'dead') {
        events.written(x.dead);
        finished.push(x.delivery);
      } else restart.push(x.delivery);
    });
    if (finished.length > 0) await ports.queue.ack(finished);
    if (restart.length === 0) return;
    const starts = await ports.tasks.start(restart.map((d) => ({ ...d, workerId })), { startedEvents: atomicEvents });
    const started: NewEvent[] = [];
    const announce = !atomicEvents || events.listens('task.started');
    const later: (LeaseRef & { delayMs: number })[] = [];
    restart.forEach((d, i) => {
      const r = starts[i]!;
      if (r.task) {
        this.run(new RunningTask(this.engine, r.task, d.leaseId));
        if (announce) started.push(startedEvent(r.task, eventId()));
      } else later.push({ ...d, delayMs: Math.min(1_000, options.stallTimeoutMs) });
    });
    if (started.length > 0) {
      if (atomicEvents) events.notifyAll(started);
      else events.written(started);
    }
    if (later.length > 0) await ports.queue.release(later);
  }

  private scheduleHeartbeat(): void {
    const { clock, options } = this.engine;
    this.heartbeatTimer = clock.setTimeout(() => {
      this.heartbeat()
        .catch((err: unknown) => this.engine.logger.warn({ err }, 'heartbeat failed'))
        .finally(() => this.running && this.scheduleHeartbeat());
    }, options.heartbeatIntervalMs);
  }

  /**
   * Extends the lease of every running task (one batched write per interval, whatever the number
   * of tasks); a refused extension means another worker or a cancellation took the task, and its
   * handler is aborted — so a cancel reaches a running handler within one heartbeat interval.
   */
  private async heartbeat(): Promise<void> {
    const { ports, options, workerId, flow } = this.engine;
    const due = [...this.inflight.values()].filter((r) => !r.detached);
    const beats = [{ id: heartbeatId.worker(workerId), ttlMs: options.stallTimeoutMs }];
    if (due.length > 0) {
      const end = this.engine.hooks.heartbeat({ workerId, taskIds: due.map((r) => r.id) });
      let ok: boolean[];
      try {
        ok = await flow.heartbeat(
          due.map((r) => ({ taskId: r.id, leaseId: r.leaseId })),
          options.stallTimeoutMs,
        );
      } catch (error) {
        end?.({ error });
        throw error;
      }
      const lost: string[] = [];
      due.forEach((run, i) => {
        if (ok[i]) beats.push({ id: heartbeatId.task(run.id), ttlMs: options.stallTimeoutMs });
        else {
          lost.push(run.id);
          run.loseLease(new LeaseLostError(run.id, 'heartbeat'));
        }
      });
      end?.({ lost });
    }
    await ports.heartbeats.beat(beats);
  }

  /** A handler that hogs the CPU delays every timer; report it instead of silently losing leases. */
  private monitorEventLoop(): void {
    const { clock, options, events } = this.engine;
    const every = Math.max(5, Math.floor(options.eventLoopBlockedMs / 2));
    let expected = clock.now() + every;
    const tick = () => {
      const now = clock.now();
      const lag = now - expected;
      this.lagMs = Math.max(0, lag);
      if (lag > options.eventLoopBlockedMs) {
        this.engine.logger.warn({ lagMs: lag }, 'event loop blocked: CPU-bound handlers should yield or run in a worker thread');
        events.emit('worker.event_loop_blocked', { data: { delayMs: lag, running: this.inflight.size } });
      }
      expected = now + every;
      if (this.running) this.loopMonitor = clock.setTimeout(tick, every);
    };
    this.loopMonitor = clock.setTimeout(tick, every);
  }
}
