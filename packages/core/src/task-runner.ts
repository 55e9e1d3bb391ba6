// Runs one claimed task: checks it can run here (handler known, breaker closed), loads its
// checkpoint (quarantining a task whose checkpoint cannot be read), races the handler against
// cancellation, budget and lease loss, classifies failures (retry timer or dead) and hands the
// outcome to the settler. A write refused because the lease moved on is reported, and only
// outcomes that landed count for the breaker.
import type { Checkpoint } from './api.js';
import { decodeCheckpointAsync } from './checkpoint-codec.js';
import { copyJson, type JsonValue } from './json.js';
import type { NewEvent } from './ports/event-log.js';
import type { Corruption } from './ports/task-store.js';
import { storedError, type EngineContext } from './engine-context.js';
import { LeaseLostError, UnknownTaskTypeError, toError } from './errors.js';
import { newId } from './idempotency.js';
import type { Settlement } from './settler.js';
import type { RunOutcome } from './instrumentation.js';
import type { BreakerDecision } from './circuit-breaker.js';
import type { Registration } from './registry.js';
import { RunContext } from './run-context.js';
import type { RunningTask } from './running-task.js';
import { corruptRecordError, MAX_CORRUPT_RAW } from './task-transitions.js';

/** Per-process memory of tasks whose type this worker does not know: releases so far, and types already logged. */
export class UnknownTypes {
  private readonly releases = new Map<string, number>();
  private readonly logged = new Set<string>();

  /** Counts one more release of the task; returns how many it had before. */
  count(taskId: string): number {
    const n = this.releases.get(taskId) ?? 0;
    this.releases.delete(taskId);
    this.releases.set(taskId, n + 1);
    // Bounded: the oldest entries go first (a Map iterates in insertion order).
    if (this.releases.size > 10_000) this.releases.delete(this.releases.keys().next().value!);
    return n;
  }

  forget(taskId: string): void {
    this.releases.delete(taskId);
  }

  /** True the first time a type is seen by this process. */
  firstSighting(type: string): boolean {
    if (this.logged.has(type)) return false;
    this.logged.add(type);
    return true;
  }
}

function fields(run: RunningTask) {
  const { task, engine } = run;
  return { taskId: task.id, runId: task.runId, phaseId: task.phaseId, workerId: engine.workerId };
}

/**
 * Runs the task to an outcome and settles it, then tells the run it ended (`RunningTask.ended`).
 * Never throws. The common path (a known type, a breaker decided from its cache, no checkpoint to
 * load) has no async frame and no promise of its own: the handler's promise and the settler call
 * back into the run. Every task takes that path, and each frame, await and promise between the
 * claim and the write would be garbage per task.
 */
export function runTask(run: RunningTask, unknown: UnknownTypes): void {
  const { engine, task } = run;
  const reg = engine.registry.get(task.type);
  if (!reg) return void ending(run, releaseUnknownType(run, unknown));
  unknown.forget(task.id);
  const decided = engine.breaker.acquire(task.type, task.attempt > 0);
  if (decided instanceof Promise || task.hasCheckpoint) return void prepareThenRun(run, reg, decided);
  if (!decided.run) return void ending(run, release(run, 'breaker_open', decided.waitMs));
  run.trial = decided.trial;
  runHandler(run, reg, null);
}

/** Ends the run once a path that settles on its own (release, failure) is done. */
async function ending(run: RunningTask, settling: Promise<unknown>): Promise<void> {
  try {
    await settling;
  } finally {
    run.ended();
  }
}

/** The rare start: a breaker state to read first, or a checkpoint to load. */
async function prepareThenRun(run: RunningTask, reg: Registration, decided: BreakerDecision | Promise<BreakerDecision>): Promise<void> {
  let handedOver = false;
  try {
    const decision = await decided;
    if (!decision.run) return await release(run, 'breaker_open', decision.waitMs);
    run.trial = decision.trial;
    let checkpoint: Checkpoint | null = null;
    if (run.task.hasCheckpoint) {
      const loaded = await loadCheckpoint(run);
      if (loaded === undefined) return;
      checkpoint = loaded;
    }
    handedOver = true;
    runHandler(run, reg, checkpoint);
  } finally {
    if (!handedOver) run.ended();
  }
}

/** Calls the handler; its outcome reaches `handlerSettled`, at once or when its promise settles (or the run is stopped first). */
function runHandler(run: RunningTask, reg: Registration, checkpoint: Checkpoint | null): void {
  const { engine, task } = run;
  const scope = engine.hooks.active ? engine.hooks.run({ task, workerId: engine.workerId, resumedFrom: checkpoint?.token ?? null }) : null;
  run.registered = reg;
  run.scope = scope;
  let out: unknown;
  try {
    const ctx = new RunContext(run, checkpoint);
    if (task.budget?.timeMs !== undefined) run.armBudgetTimer(task.budget.timeMs);
    out = scope ? scope.wrap(() => reg.handler(task.input, ctx)) : reg.handler(task.input, ctx);
  } catch (err) {
    return handlerSettled(run, undefined, run.stopReason ?? err);
  }
  if (!isThenable(out)) return handlerSettled(run, out, run.stopReason ?? undefined);
  if (run.stopReason) return handlerSettled(run, undefined, run.stopReason);
  // Whichever comes first, the handler's promise or a stop, decides; the other is ignored.
  run.onStop = handlerStopped;
  out.then(
    (value) => {
      if (run.onStop === null) return;
      run.onStop = null;
      handlerSettled(run, value, run.stopReason ?? undefined);
    },
    (err: unknown) => {
      if (run.onStop === null) return;
      run.onStop = null;
      handlerSettled(run, undefined, run.stopReason ?? err);
    },
  );
}

function handlerStopped(run: RunningTask, reason: Error): void {
  handlerSettled(run, undefined, reason);
}

/** The handler is done (`failed` undefined: it returned `value`): settle the outcome, then end the run. */
function handlerSettled(run: RunningTask, value: unknown, failed: unknown): void {
  const { engine, task } = run;
  const reg = run.registered!;
  if (run.detached) {
    run.cleanup();
    engine.breaker.record(task.type, run.trial, 'none');
    run.scope?.end(run.stopReason instanceof LeaseLostError ? leaseLost(run) : { state: 'released', reason: run.stopReason?.name ?? 'stopped', usage: run.usage });
    run.ended();
    return;
  }
  if (failed === undefined) {
    let result: JsonValue | undefined;
    try {
      result = value === undefined || value === null ? null : copyJson(value, `Result of task "${task.type}" (${task.id})`, { maxBytes: engine.options.maxPayloadBytes, maxDepth: engine.options.maxPayloadDepth });
    } catch (err) {
      failed = err;
    }
    if (result !== undefined) return engine.settler.settleThen(completion(run, result), run, completionSettled);
  }
  void ending(
    run,
    settleFailure(run, failed, reg.retry).then((outcome) => run.scope?.end(outcome)),
  );
}

function completionSettled(run: RunningTask, written: boolean): void {
  const applied = recordSettled(run, written, 'success', 'completion write');
  run.scope?.end(applied ? { state: 'completed', usage: run.usage } : leaseLost(run));
  run.ended();
}

/**
 * The checkpoint the run resumes from (null: none stored), announced with `task.resumed`; or
 * undefined when it could not be read and the run was settled instead (failed, or quarantined).
 */
async function loadCheckpoint(run: RunningTask): Promise<Checkpoint | null | undefined> {
  const { engine, task } = run;
  let stored;
  try {
    stored = await engine.ports.checkpoints.load(task.id);
  } catch (err) {
    await settleFailure(run, err, null);
    return undefined;
  }
  if (!stored) return null;
  let checkpoint: Checkpoint;
  try {
    checkpoint = await decodeCheckpointAsync(stored);
  } catch (err) {
    const raw = Buffer.from(stored.body.buffer, stored.body.byteOffset, stored.body.byteLength).toString('base64').slice(0, MAX_CORRUPT_RAW);
    await quarantine(run, { field: 'checkpoint', reason: String(toError(err).message).slice(0, 500), raw });
    return undefined;
  }
  await announceResume(run, checkpoint.token);
  return checkpoint;
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return v !== null && (typeof v === 'object' || typeof v === 'function') && typeof (v as { then?: unknown }).then === 'function';
}

/** A resumed run is recorded before the handler sees its checkpoint, so the audit trail shows the resume point in order. */
async function announceResume(run: RunningTask, token: string): Promise<void> {
  const { engine, task } = run;
  const event = engine.events.make('task.resumed', { ...fields(run), data: { token, recoveries: task.recoveries, attempt: task.attempt } });
  try {
    await engine.events.appendNow([event], {});
  } catch (err) {
    engine.logger.warn({ err, taskId: task.id }, 'could not record task.resumed now; it is appended later');
    engine.events.written([event]);
  }
}

async function release(run: RunningTask, reason: string, delayMs: number): Promise<void> {
  const { engine, task } = run;
  run.cleanup();
  engine.breaker.record(task.type, run.trial, 'none');
  await engine.settler.settle({
    outcome: { taskId: task.id, leaseId: run.leaseId, state: 'pending' },
    queue: 'release',
    releaseDelayMs: delayMs,
    deleteCheckpoint: false,
    events: [engine.events.make('task.released', { ...fields(run), data: { reason, delayMs } })],
  });
}

/**
 * The worker serves the task's queue but has no handler for its type (a deploy in progress, or a
 * type registered only elsewhere): hand it back for a worker that knows it, with a growing delay,
 * and only after `unknownTypeReleases` tries here declare it dead.
 */
async function releaseUnknownType(run: RunningTask, unknown: UnknownTypes): Promise<void> {
  const { engine, task } = run;
  if (unknown.firstSighting(task.type)) {
    engine.logger.warn(
      { taskType: task.type, queue: task.queue, taskId: task.id },
      `no handler for task type "${task.type}" in this worker, which serves queue "${task.queue}"; releasing such tasks for a worker that has one`,
    );
  }
  const releases = unknown.count(task.id);
  if (releases >= engine.options.unknownTypeReleases) {
    unknown.forget(task.id);
    await settleFailure(run, new UnknownTaskTypeError(task.type), null, false);
    return;
  }
  await release(run, 'unknown_type', Math.min(60_000, 1_000 * 2 ** Math.min(releases, 6)));
}

/** The task's checkpoint cannot be decoded: it is dead with CORRUPT_RECORD (its resume point is unreadable), the bytes kept. */
async function quarantine(run: RunningTask, corruption: Corruption): Promise<void> {
  const { engine, task } = run;
  engine.logger.error({ taskId: task.id, field: corruption.field, reason: corruption.reason }, 'task quarantined: a stored record of it cannot be decoded');
  const error = corruptRecordError(task.id, corruption);
  run.cleanup();
  engine.breaker.record(task.type, run.trial, 'none');
  await engine.settler.settle({
    outcome: { taskId: task.id, leaseId: run.leaseId, state: 'dead', error },
    queue: 'ack',
    deleteCheckpoint: false,
    events: [
      engine.events.make('task.corrupt', { ...fields(run), data: { field: corruption.field, reason: corruption.reason } }),
      engine.events.make('task.dead', { ...fields(run), data: { attempt: task.attempt, error: error.message, code: error.code } }),
    ],
  });
}

/** Counts a written outcome for the breaker, or reports the lease lost when the write was refused; returns `applied`. */
function recordSettled(run: RunningTask, applied: boolean, breaker: 'success' | 'failure' | 'none', write: string): boolean {
  const { engine, task } = run;
  if (applied) engine.breaker.record(task.type, run.trial, breaker);
  else {
    engine.breaker.record(task.type, run.trial, 'none');
    run.loseLease(new LeaseLostError(task.id, write));
  }
  return applied;
}

/** The outcome of a run whose lease went: the first write that found it gone says why. */
function leaseLost(run: RunningTask): RunOutcome {
  return { state: 'lease_lost', reason: run.stopReason?.message ?? 'lease lost', usage: run.usage };
}

/** The settlement of a run whose handler returned `result`. */
function completion(run: RunningTask, result: JsonValue): Settlement {
  const { engine, task } = run;
  run.cleanup();
  const durationMs = engine.clock.now() - run.startedAt;
  return {
    outcome: { taskId: task.id, leaseId: run.leaseId, state: 'completed', result, durationMs, events: undefined },
    queue: 'ack',
    deleteCheckpoint: run.hasCheckpoint && !engine.options.keepCheckpointAfterCompletion,
    events: [engine.events.make('task.completed', { taskId: task.id, runId: task.runId, phaseId: task.phaseId, data: { durationMs, attempt: task.attempt, queue: task.queue, type: task.type } })],
  };
}

async function settleFailure(run: RunningTask, failure: unknown, policy: EngineContext['options']['retry'] | null, counts = true): Promise<RunOutcome> {
  const { engine, task } = run;
  const err = toError(failure);
  const error = storedError(err);
  const durationMs = engine.clock.now() - run.startedAt;
  const retry = policy ?? engine.options.retry;
  const retryable = retry.classify(err) === 'retryable';
  const events: NewEvent[] = [
    engine.events.make('task.failed', { ...fields(run), data: { attempt: task.attempt, error: error.message, code: error.code, queue: task.queue, type: task.type } }),
  ];
  let settlement: Settlement;
  const willRetry = counts && retryable && task.attempt < task.maxRetries && engine.registry.get(task.type) !== undefined;
  if (willRetry) {
    // The newest progress must survive into the retry.
    const cp = run.checkpoints;
    if (cp?.hasPending) {
      await cp.flush().catch((flushErr: unknown) =>
        engine.logger.error({ err: flushErr, taskId: task.id }, 'the last checkpoint could not be written before the retry; the retry resumes from the one before it'),
      );
    }
    const delayMs = retry.delayMs(task.attempt);
    const attempt = task.attempt + 1;
    try {
      // Scheduled before the task is marked: a timer for a task that never became 'scheduled' is a no-op,
      // whereas a 'scheduled' task without its timer would never run again.
      await engine.ports.timers.schedule([
        {
          id: newId(),
          kind: 'retry',
          delayMs,
          key: `retry:${task.id}:${attempt}`,
          taskId: task.id,
          phaseId: task.phaseId,
          name: null,
          payload: { attempt, queue: task.queue, priority: task.priority, group: task.group },
        },
      ]);
      engine.wakeTimers();
    } catch (scheduleErr) {
      // The task stays running under our lease; the supervisor reclaims it after the stall timeout.
      engine.logger.error({ err: scheduleErr, taskId: task.id }, 'could not schedule retry timer; task will be reclaimed after the stall timeout');
      run.cleanup();
      engine.breaker.record(task.type, run.trial, 'none');
      return { state: 'failed', error: err, willRetry: true, usage: run.usage };
    }
    events.push(engine.events.make('task.retry_scheduled', { ...fields(run), data: { attempt, delayMs } }));
    settlement = { outcome: { taskId: task.id, leaseId: run.leaseId, state: 'scheduled', error, durationMs }, queue: 'ack', deleteCheckpoint: false, events };
  } else {
    events.push(engine.events.make('task.dead', { ...fields(run), data: { attempt: task.attempt, error: error.message, code: error.code, queue: task.queue, type: task.type } }));
    settlement = { outcome: { taskId: task.id, leaseId: run.leaseId, state: 'dead', error, durationMs }, queue: 'ack', deleteCheckpoint: false, events };
  }
  run.cleanup();
  const nextAttempt = task.attempt + 1;
  const applied = recordSettled(run, await engine.settler.settle(settlement), counts && retryable ? 'failure' : 'none', 'failure write');
  if (applied && willRetry) await redeliverEarlyRetry(run, nextAttempt);
  return applied ? { state: 'failed', error: err, willRetry, usage: run.usage } : leaseLost(run);
}

/**
 * Where a backend settles in two steps (the task write, then the delivery's ack), the retry timer
 * can fire between them: it moves the task to pending and its enqueue is dropped, the old delivery
 * being still live; the ack then removes that delivery. Such a task is delivered here, instead of
 * by the reconciler a minute later. Elsewhere the read finds the task scheduled, or already delivered.
 */
async function redeliverEarlyRetry(run: RunningTask, attempt: number): Promise<void> {
  const { engine, task } = run;
  try {
    const now = await engine.ports.tasks.get(task.id);
    if (now?.state !== 'pending' || now.attempt !== attempt) return;
    await engine.ports.queue.enqueue([{ taskId: now.id, queue: now.queue, priority: now.priority, group: now.group }]);
  } catch (err) {
    engine.logger.warn({ err, taskId: task.id }, 'could not check the retry\'s delivery; the reconciler delivers it if it was lost');
  }
}
