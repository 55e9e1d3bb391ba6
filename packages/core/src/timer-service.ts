// Durable timers: retries, phase timeboxes, cleanups and custom actions. The loop sleeps until
// the next due timer (by the backend's clock), is woken by local schedules, and re-checks at
// least every `timerMaxSleepMs` for timers other processes scheduled. Many services may share a
// store: claims make each timer fire once.
import type { Clock, TimerHandle } from './clock.js';
import type { Logger } from './logger.js';
import type { BackendPorts } from './ports/backend.js';
import type { TimerRecord } from './ports/timer-store.js';
import type { EventPublisher } from './event-publisher.js';
import { ConfigError, ValidationError } from './errors.js';
import { copyJson, type JsonValue } from './json.js';
import { newId } from './idempotency.js';
import { MAX_DURATION_MS } from './options.js';
import { validateText } from './names.js';

export type TimerAction = (timer: TimerRecord) => Promise<void>;

const CLAIM_BATCH = 100;
/** Re-checks of a retry timer that fired before its run settled (25 ms doubling to 1 s: ~30 s in all). */
const RETRY_RECHECKS = 35;
const CLAIM_LEASE_MS = 30_000;

export interface TimerServiceDeps {
  ports: Pick<BackendPorts, 'timers' | 'tasks' | 'queue'>;
  clock: Clock;
  logger: Logger;
  events: EventPublisher;
  maxSleepMs: number;
  /** Phase timebox reached: cancel what is unfinished. */
  onPhaseTimeout: (phaseId: string) => Promise<void>;
  /** Cleanup timers run retention. */
  onCleanup: () => Promise<void>;
}

export class TimerService {
  private readonly custom = new Map<string, TimerAction>();
  private running = false;
  private loopDone: Promise<void> = Promise.resolve();
  private wakeUp: (() => void) | null = null;
  private sleepTimer: TimerHandle | null = null;
  private woken = false;

  constructor(private readonly deps: TimerServiceDeps) {}

  /** Registers the action of custom timers named `name`. */
  on(name: string, action: TimerAction): void {
    validateText('Timer name', name, 200);
    if (typeof action !== 'function') throw new ConfigError(`The action of timer "${name}" must be a function (timer) => Promise<void>.`);
    if (this.custom.has(name)) throw new ConfigError(`A timer action named "${name}" is already registered.`);
    this.custom.set(name, action);
  }

  /** Phase timebox; when it fires, the phase's unfinished tasks are cancelled and running ones aborted. */
  scheduleTimeout(phaseId: string, timeboxMs: number): Promise<TimerRecord> {
    return this.add({ kind: 'timeout', delayMs: timeboxMs, key: `timeout:${phaseId}`, taskId: null, phaseId, payload: null });
  }

  /** A custom timer, fired by the action registered with `on(name, …)` in any process sharing the store. */
  schedule(name: string, delayMs: number, payload: JsonValue = null, options: { key?: string } = {}): Promise<TimerRecord> {
    validateText('Timer name', name, 200);
    if (options.key !== undefined) validateText('Timer key', options.key, 512);
    return this.add({ kind: 'custom', name, delayMs, key: options.key ?? null, taskId: null, phaseId: null, payload });
  }

  cancel(filter: { ids?: string[]; keys?: string[]; taskId?: string; phaseId?: string }): Promise<number> {
    return this.deps.ports.timers.cancel(filter);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loopDone = this.loop();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake();
    await this.loopDone;
  }

  /** Ends the current sleep so a sooner timer is seen at once. */
  wake(): void {
    this.woken = true;
    this.wakeUp?.();
  }

  private async add(t: { kind: TimerRecord['kind']; delayMs: number; key: string | null; taskId: string | null; phaseId: string | null; payload: JsonValue; name?: string }): Promise<TimerRecord> {
    if (typeof t.delayMs !== 'number' || !Number.isFinite(t.delayMs) || t.delayMs < 0 || t.delayMs > MAX_DURATION_MS) {
      throw new ValidationError(`Timer delay must be a number of ms from 0 to ${MAX_DURATION_MS} (365 days); got ${String(t.delayMs)}.`);
    }
    // Stored and fired in another process: only plain JSON survives the trip.
    const payload = copyJson(t.payload ?? null, `Payload of timer ${t.name ?? t.kind}`, { maxBytes: 64 * 1024, maxDepth: 32 });
    const [record] = await this.deps.ports.timers.schedule([{ id: newId(), name: t.name ?? null, ...t, payload, delayMs: Math.round(t.delayMs) }]);
    this.wake();
    return record!;
  }

  /** Fires every due timer once; returns how many fired. Exposed for tests and manual ticks. */
  async tick(): Promise<number> {
    let fired = 0;
    for (;;) {
      const due = await this.deps.ports.timers.claimDue(CLAIM_BATCH, CLAIM_LEASE_MS);
      const done: string[] = [];
      for (const timer of due) {
        try {
          await this.fire(timer);
          done.push(timer.id);
        } catch (err) {
          // Left claimed: it is due again when the claim expires.
          this.deps.logger.error({ err, timerId: timer.id, kind: timer.kind }, 'timer action failed; it will fire again');
        }
      }
      if (done.length > 0) await this.deps.ports.timers.complete(done);
      fired += done.length;
      if (due.length < CLAIM_BATCH) return fired;
    }
  }

  private async loop(): Promise<void> {
    let failures = 0;
    while (this.running) {
      this.woken = false;
      let sleepMs = this.deps.maxSleepMs;
      try {
        await this.tick();
        const next = await this.deps.ports.timers.nextDueIn();
        if (next !== null) sleepMs = Math.min(next, sleepMs);
        failures = 0;
      } catch (err) {
        failures++;
        this.deps.logger.error({ err, failures }, 'timer loop failed; backing off');
        sleepMs = Math.min(this.deps.maxSleepMs, 100 * 2 ** Math.min(failures, 6));
      }
      if (!this.running || this.woken) continue;
      await new Promise<void>((resolve) => {
        this.wakeUp = resolve;
        this.sleepTimer = this.deps.clock.setTimeout(resolve, Math.max(1, sleepMs));
      });
      this.wakeUp = null;
      if (this.sleepTimer) this.deps.clock.clearTimeout(this.sleepTimer);
    }
  }

  private async fire(timer: TimerRecord): Promise<void> {
    switch (timer.kind) {
      case 'retry':
        await this.fireRetry(timer);
        break;
      case 'timeout':
        if (timer.phaseId) await this.deps.onPhaseTimeout(timer.phaseId);
        break;
      case 'cleanup':
        await this.deps.onCleanup();
        break;
      case 'custom': {
        const action = timer.name ? this.custom.get(timer.name) : undefined;
        if (!action) throw new ConfigError(`No timer action registered for "${timer.name}"; call baton.timers.on("${timer.name}", fn) in a process running timers.`);
        await action(timer);
        break;
      }
    }
    this.deps.events.emit('timer.fired', { taskId: timer.taskId, phaseId: timer.phaseId, data: { timerId: timer.id, kind: timer.kind, name: timer.name } });
  }

  /** Moves the task of a retry timer from scheduled to pending and delivers it. */
  private async fireRetry(timer: TimerRecord): Promise<void> {
    const { tasks, queue } = this.deps.ports;
    if (!timer.taskId) return;
    const p = (timer.payload ?? {}) as { attempt?: unknown; queue?: unknown; priority?: unknown; group?: unknown; recheck?: unknown };
    // Two passes at most: the failed run's write can land between the transition (which found the
    // task still running) and the read below (which finds it scheduled); the second transition moves it.
    for (let pass = 0; pass < 2; pass++) {
      const moved = await tasks.transition([timer.taskId], ['scheduled'], 'pending');
      if (moved.length > 0 && typeof p.queue === 'string' && typeof p.priority === 'number') {
        await queue.enqueue([{ taskId: timer.taskId, queue: p.queue, priority: p.priority, group: typeof p.group === 'string' ? p.group : null }]);
        return;
      }
      // Also after a crash between the transition and the enqueue (the timer fires again), and
      // for timers written before they carried the task's queue.
      const task = await tasks.get(timer.taskId);
      if (task?.state === 'pending') {
        await queue.enqueue([{ taskId: task.id, queue: task.queue, priority: task.priority, group: task.group }]);
        return;
      }
      if (task?.state === 'scheduled') continue;
      // The timer is written before the failed run is marked 'scheduled' (so a crash cannot leave
      // a scheduled task without its timer); a short delay can fire it before that mark lands.
      // While the run that scheduled it has not settled yet, look again shortly.
      const recheck = typeof p.recheck === 'number' ? p.recheck : 0;
      if (task?.state === 'running' && typeof p.attempt === 'number' && task.attempt < p.attempt && recheck < RETRY_RECHECKS) {
        await this.deps.ports.timers.schedule([
          {
            id: newId(),
            kind: 'retry',
            delayMs: Math.min(1_000, 25 * 2 ** recheck),
            key: `retry:${task.id}:${p.attempt}:recheck:${recheck + 1}`,
            taskId: task.id,
            phaseId: task.phaseId,
            name: null,
            payload: { ...(timer.payload as Record<string, JsonValue>), recheck: recheck + 1 },
          },
        ]);
      }
      return;
    }
  }
}
