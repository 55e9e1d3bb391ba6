// Runs one claimed task: builds its context, races the handler against cancellation, budget and
// lease loss, classifies failures (retry timer, dead, breaker) and hands the outcome to the settler.
import type { TaskContext, Checkpoint } from './api.js';
import type { JsonValue } from './json.js';
import { serializeJson } from './json.js';
import type { TaskRecord, Usage } from './ports/task-store.js';
import type { NewEvent } from './ports/event-log.js';
import type { EngineContext } from './engine-context.js';
import { storedError } from './engine-context.js';
import type { TaskCheckpointer } from './checkpoint-manager.js';
import type { TimerHandle } from './clock.js';
import { BudgetExceededError, LeaseLostError, UnknownTaskTypeError, ValidationError, toError } from './errors.js';
import { newId } from './idempotency.js';
import type { Settlement } from './settler.js';

/** A task this process is running under a lease. */
export class RunningTask {
  readonly startedAt: number;
  /** Why the run was stopped, once it was. */
  stopReason: Error | null = null;
  /** Created on first use: most handlers never look at their signal. */
  private controller: AbortController | null = null;
  private onStop: ((reason: Error) => void) | null = null;
  checkpointer: TaskCheckpointer | null = null;
  /** Set when the outcome must not be written: lease lost, cancelled, or released on shutdown. */
  detached = false;
  hasCheckpoint: boolean;
  private budgetTimer: TimerHandle | null = null;

  constructor(
    readonly engine: EngineContext,
    readonly task: TaskRecord,
    readonly leaseId: string,
  ) {
    this.startedAt = engine.clock.now();
    this.hasCheckpoint = task.hasCheckpoint;
  }

  get id(): string {
    return this.task.id;
  }

  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.stopReason) this.controller.abort(this.stopReason);
    }
    return this.controller.signal;
  }

  /** Aborts the handler; with `detach` its outcome will not be written. */
  stop(reason: Error, detach: boolean): void {
    if (detach) this.detached = true;
    if (this.stopReason) return;
    this.stopReason = reason;
    this.controller?.abort(reason);
    this.onStop?.(reason);
  }

  /** Settles with the handler's value, or rejects with the stop reason if the run is stopped first. */
  race(handled: PromiseLike<unknown>): Promise<unknown> {
    if (this.stopReason) return Promise.reject(this.stopReason);
    return new Promise((resolve, reject) => {
      this.onStop = reject;
      handled.then(resolve, reject);
    });
  }

  armBudgetTimer(ms: number): void {
    this.budgetTimer = this.engine.clock.setTimeout(() => {
      this.stop(new BudgetExceededError(`Task ${this.id} exceeded its time budget of ${ms} ms.`), false);
    }, ms);
  }

  /** Called once the handler is done with the task (before its outcome is written). */
  onHandlerDone: (() => void) | null = null;

  cleanup(): void {
    if (this.budgetTimer) this.engine.clock.clearTimeout(this.budgetTimer);
    this.checkpointer?.close();
    const done = this.onHandlerDone;
    this.onHandlerDone = null;
    done?.();
  }
}

function taskFields(task: TaskRecord, workerId: string) {
  return { taskId: task.id, runId: task.runId, phaseId: task.phaseId, workerId };
}

/** Runs the task to an outcome and settles it. Never throws. */
export async function runTask(run: RunningTask): Promise<void> {
  const { engine, task } = run;
  const reg = engine.registry.get(task.type);
  if (!reg) {
    await settleFailure(run, new UnknownTaskTypeError(task.type), false);
    return;
  }
  const waitMs = engine.breaker.acquire(task.type);
  if (waitMs > 0) {
    run.cleanup();
    await engine.settler.settle({
      outcome: { taskId: task.id, leaseId: run.leaseId, state: 'pending' },
      releaseDelayMs: waitMs,
      deleteCheckpoint: false,
      events: [engine.events.make('task.released', { ...taskFields(task, engine.workerId), data: { reason: 'breaker_open', delayMs: waitMs } })],
    });
    return;
  }
  let value: unknown;
  let failed: unknown = undefined;
  try {
    const checkpoint = task.hasCheckpoint ? await engine.checkpoints.load(task.id) : null;
    const ctx = new RunContext(run, checkpoint);
    if (task.budget?.timeMs !== undefined) run.armBudgetTimer(task.budget.timeMs);
    const out = reg.handler(task.input, ctx);
    value = isThenable(out) ? await run.race(out) : out;
    if (run.stopReason) failed = run.stopReason;
  } catch (err) {
    failed = run.stopReason ?? err;
  }
  if (run.detached) {
    run.cleanup();
    engine.breaker.abandon(task.type);
    return;
  }
  if (failed === undefined) {
    let result: JsonValue;
    try {
      result = value === undefined || value === null ? null : (JSON.parse(serializeJson(value, `Result of task "${task.type}" (${task.id})`, {
        maxBytes: engine.options.maxPayloadBytes,
        maxDepth: engine.options.maxPayloadDepth,
      })) as JsonValue);
    } catch (err) {
      await settleFailure(run, err, true);
      return;
    }
    await settleSuccess(run, result);
  } else {
    await settleFailure(run, failed, true);
  }
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return v !== null && (typeof v === 'object' || typeof v === 'function') && typeof (v as { then?: unknown }).then === 'function';
}

/**
 * The handler's `ctx`. Methods are created on first access (and bound, so destructuring works):
 * most handlers touch few of them, and a task should not pay for what it does not use.
 */
class RunContext implements TaskContext {
  private loggerInstance: TaskContext['logger'] | null = null;
  private saveFn: TaskContext['saveCheckpoint'] | null = null;
  private heartbeatFn: TaskContext['heartbeat'] | null = null;
  private usageFn: TaskContext['reportUsage'] | null = null;

  constructor(
    private readonly run: RunningTask,
    readonly checkpoint: Checkpoint | null,
  ) {}

  get taskId(): string {
    return this.run.task.id;
  }

  get type(): string {
    return this.run.task.type;
  }

  get attempt(): number {
    return this.run.task.attempt;
  }

  get recoveries(): number {
    return this.run.task.recoveries;
  }

  get runId(): string | null {
    return this.run.task.runId;
  }

  get phaseId(): string | null {
    return this.run.task.phaseId;
  }

  get budget(): TaskRecord['budget'] {
    return this.run.task.budget;
  }

  get signal(): AbortSignal {
    return this.run.signal;
  }

  get logger(): TaskContext['logger'] {
    return (this.loggerInstance ??= this.run.engine.logger.child({ taskId: this.taskId, taskType: this.type, attempt: this.attempt }));
  }

  get saveCheckpoint(): TaskContext['saveCheckpoint'] {
    return (this.saveFn ??= (token, data, options) => checkpointerOf(this.run).save(token, data, options));
  }

  get heartbeat(): TaskContext['heartbeat'] {
    return (this.heartbeatFn ??= () => heartbeat(this.run));
  }

  get reportUsage(): TaskContext['reportUsage'] {
    return (this.usageFn ??= (delta) => reportUsage(this.run, delta));
  }
}

function checkpointerOf(run: RunningTask): TaskCheckpointer {
  const { engine, task } = run;
  return (run.checkpointer ??= engine.checkpoints.forTask(task.id, run.leaseId, {
    onSaved: (blob) => {
      run.hasCheckpoint = true;
      engine.events.emit('task.checkpointed', {
        ...taskFields(task, engine.workerId),
        data: { token: blob.token, sizeBytes: blob.sizeBytes, encoding: blob.encoding },
      });
    },
    onLost: (err) => run.stop(err, true),
  }));
}

async function heartbeat(run: RunningTask): Promise<void> {
  const { engine, task } = run;
  const [ok] = await engine.ports.queue.extend([{ taskId: task.id, leaseId: run.leaseId }], engine.options.stallTimeoutMs);
  if (!ok) {
    const err = new LeaseLostError(task.id, 'heartbeat');
    run.stop(err, true);
    throw err;
  }
  await engine.ports.heartbeats.beat([{ id: `task:${task.id}`, ttlMs: engine.options.stallTimeoutMs }]);
}

async function reportUsage(run: RunningTask, delta: Partial<Usage>): Promise<Usage> {
  const { engine, task } = run;
  const usage: Usage = { costUsd: checkNumber('costUsd', delta?.costUsd), tokens: checkNumber('tokens', delta?.tokens) };
  const total = await engine.ports.tasks.recordUsage(task.id, run.leaseId, usage);
  if (!total) {
    const err = new LeaseLostError(task.id, 'usage report');
    run.stop(err, true);
    throw err;
  }
  const b = task.budget;
  const over =
    b?.costUsd !== undefined && total.costUsd > b.costUsd
      ? `cost $${total.costUsd.toFixed(4)} exceeds its budget of $${b.costUsd}`
      : b?.tokens !== undefined && total.tokens > b.tokens
        ? `${total.tokens} tokens exceed its budget of ${b.tokens}`
        : null;
  if (over) {
    const err = new BudgetExceededError(`Task ${task.id} (${task.type}): ${over}.`);
    run.stop(err, false);
    throw err;
  }
  return total;
}

function checkNumber(field: string, v: number | undefined): number {
  if (v === undefined) return 0;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
    throw new ValidationError(`reportUsage: ${field} must be a finite number ≥ 0; got ${String(v)}.`);
  }
  return v;
}

async function settleSuccess(run: RunningTask, result: JsonValue): Promise<void> {
  const { engine, task } = run;
  run.cleanup();
  engine.breaker.success(task.type);
  const durationMs = engine.clock.now() - run.startedAt;
  await engine.settler.settle({
    outcome: { taskId: task.id, leaseId: run.leaseId, state: 'completed', result, durationMs },
    deleteCheckpoint: run.hasCheckpoint && !engine.options.keepCheckpointAfterCompletion,
    events: [engine.events.make('task.completed', { taskId: task.id, runId: task.runId, phaseId: task.phaseId, data: { durationMs, attempt: task.attempt } })],
  });
}

async function settleFailure(run: RunningTask, failure: unknown, countForBreaker: boolean): Promise<void> {
  const { engine, task } = run;
  const err = toError(failure);
  const error = storedError(err);
  const durationMs = engine.clock.now() - run.startedAt;
  const fields = taskFields(task, engine.workerId);
  const reg = engine.registry.get(task.type);
  const policy = reg?.retry ?? engine.retry;
  if (countForBreaker) engine.breaker.failure(task.type);
  const events: NewEvent[] = [engine.events.make('task.failed', { ...fields, data: { attempt: task.attempt, error: error.message, code: error.code } })];
  let settlement: Settlement;
  if (reg && policy.shouldRetry(err, task.attempt, task.maxRetries)) {
    // The newest progress must survive into the retry.
    await run.checkpointer?.flush().catch(() => undefined);
    const delayMs = policy.delayMs(task.attempt);
    const attempt = task.attempt + 1;
    try {
      // Scheduled before the task is marked: a timer for a task that never became 'scheduled' is a no-op,
      // whereas a 'scheduled' task without its timer would never run again.
      await engine.ports.timers.schedule([
        { id: newId(), kind: 'retry', delayMs, key: `retry:${task.id}:${attempt}`, taskId: task.id, phaseId: task.phaseId, name: null, payload: { attempt } },
      ]);
      engine.wakeTimers();
    } catch (scheduleErr) {
      // The task stays running under our lease; the supervisor reclaims it after the stall timeout.
      engine.logger.error({ err: scheduleErr, taskId: task.id }, 'could not schedule retry timer; task will be reclaimed after the stall timeout');
      run.cleanup();
      return;
    }
    events.push(engine.events.make('task.retry_scheduled', { ...fields, data: { attempt, delayMs } }));
    settlement = { outcome: { taskId: task.id, leaseId: run.leaseId, state: 'scheduled', error, durationMs }, deleteCheckpoint: false, events };
  } else {
    events.push(engine.events.make('task.dead', { ...fields, data: { attempt: task.attempt, error: error.message, code: error.code } }));
    settlement = { outcome: { taskId: task.id, leaseId: run.leaseId, state: 'dead', error, durationMs }, deleteCheckpoint: false, events };
  }
  run.cleanup();
  await engine.settler.settle(settlement);
}
