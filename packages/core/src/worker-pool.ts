// One claim loop feeding N task slots. Claims are batched up to the free slots; leases are
// extended on a timer of their own (so a busy handler does not lose them); the pool can grow
// and shrink at run time and scale itself on queue depth.
import type { TimerHandle } from './clock.js';
import { sleep } from './clock.js';
import type { EngineContext } from './engine-context.js';
import { LeaseLostError, ShutdownError } from './errors.js';
import type { ClaimedStart } from './ports/task-flow.js';
import { RunningTask, runTask } from './task-runner.js';

export interface PoolStats {
  slots: number;
  busy: number;
  running: boolean;
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
  private readonly settling = new Set<Promise<void>>();

  constructor(private readonly engine: EngineContext) {
    this.slots = engine.options.concurrency;
  }

  get size(): number {
    return this.slots;
  }

  stats(): PoolStats {
    return { slots: this.slots, busy: this.inflight.size, running: this.running };
  }

  start(): void {
    if (this.running) return;
    this.running = true;
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

  /** Seed rule: ready > slots×5 → grow, ready < slots×2 → shrink, within autoScale min/max. Returns the new size. */
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
    await Promise.all([...this.settling]);
    await this.drainSettler(Math.max(deadlineMs, 5_000));
    await this.engine.ports.heartbeats.remove([`worker:${this.engine.workerId}`]).catch(() => undefined);
    this.engine.events.emit('worker.stopped', { data: { released: leftovers.length } });
  }

  private async release(run: RunningTask): Promise<void> {
    run.stop(new ShutdownError(), true);
    await run.checkpointer?.flush().catch(() => undefined);
    run.cleanup();
    this.inflight.delete(run.id);
    await this.engine.settler.settle({
      outcome: { taskId: run.id, leaseId: run.leaseId, state: 'pending' },
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
    return new Promise((resolve) => {
      const check = () => (this.inflight.size === 0 ? resolve() : setTimeout(check, 10));
      check();
    });
  }

  private resize(target: number, reason: string, depth?: number): void {
    const to = Math.max(1, Math.min(10_000, Math.floor(target)));
    if (to === this.slots) return;
    const from = this.slots;
    this.slots = to;
    this.slotWaiter?.();
    this.engine.events.emit('pool.scaled', { data: { from, to, reason, ...(depth === undefined ? {} : { depth }) } });
  }

  private async claimLoop(): Promise<void> {
    const { flow, options, logger } = this.engine;
    let failures = 0;
    while (this.running) {
      // Running handlers stay within the slots; outcomes still being written add at most as many again.
      const free = Math.min(this.slots - this.inflight.size, 2 * this.slots - this.settling.size);
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
          { limit: Math.min(free, options.claimBatchSize), leaseMs: options.stallTimeoutMs, waitMs: options.pollIntervalMs, signal: this.claimAbort.signal },
          this.engine.workerId,
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
    const { ports, events } = this.engine;
    const drop: { taskId: string; leaseId: string }[] = [];
    const retryLater: { taskId: string; leaseId: string; delayMs: number }[] = [];
    const started = [];
    for (const { delivery: d, start: r } of claimed) {
      if (r.task) {
        const run = new RunningTask(this.engine, r.task, d.leaseId);
        this.inflight.set(r.taskId, run);
        started.push(events.make('task.started', { taskId: r.taskId, runId: r.task.runId, phaseId: r.task.phaseId, data: { attempt: r.task.attempt, recoveries: r.task.recoveries } }));
        // The slot frees when the handler is done, not when its outcome is written: the next
        // claim overlaps the previous batch's settle instead of waiting a round trip for it.
        run.onHandlerDone = () => {
          this.inflight.delete(r.taskId);
          this.slotWaiter?.();
        };
        const p = runTask(run).finally(() => {
          this.inflight.delete(r.taskId);
          this.settling.delete(p);
          this.slotWaiter?.();
        });
        this.settling.add(p);
      } else if (r.state === 'running' || r.state === 'pending') {
        // Another lease still holds the task (its reclaim is in progress): look again shortly.
        retryLater.push({ ...d, delayMs: Math.min(1_000, this.engine.options.stallTimeoutMs) });
      } else {
        // Finished, cancelled, waiting for a retry timer, or unknown: this delivery has nothing to run.
        drop.push(d);
      }
    }
    if (started.length > 0) events.publish(started);
    if (drop.length > 0) await ports.queue.ack(drop);
    if (retryLater.length > 0) await ports.queue.release(retryLater);
  }

  private scheduleHeartbeat(): void {
    const { clock, options } = this.engine;
    this.heartbeatTimer = clock.setTimeout(() => {
      this.heartbeat()
        .catch((err: unknown) => this.engine.logger.warn({ err }, 'heartbeat failed'))
        .finally(() => this.running && this.scheduleHeartbeat());
    }, options.heartbeatIntervalMs);
  }

  /** Extends the leases of tasks that have run for at least one interval; a refused extension aborts the task. */
  private async heartbeat(): Promise<void> {
    const { ports, clock, options, workerId, events } = this.engine;
    const now = clock.now();
    const due = [...this.inflight.values()].filter((r) => !r.detached && now - r.startedAt >= options.heartbeatIntervalMs);
    const beats = [{ id: `worker:${workerId}`, ttlMs: options.stallTimeoutMs }];
    if (due.length > 0) {
      const ok = await ports.queue.extend(
        due.map((r) => ({ taskId: r.id, leaseId: r.leaseId })),
        options.stallTimeoutMs,
      );
      due.forEach((run, i) => {
        if (ok[i]) {
          beats.push({ id: `task:${run.id}`, ttlMs: options.stallTimeoutMs });
          return;
        }
        run.stop(new LeaseLostError(run.id, 'heartbeat'), true);
        events.emit('task.lease_lost', { taskId: run.id, runId: run.task.runId, phaseId: run.task.phaseId, data: { leaseId: run.leaseId } });
      });
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
