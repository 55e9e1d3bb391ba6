// A task this process is running under a lease: its abort signal, its checkpoint and progress
// writers, its time budget, and the one report of a lost lease.
import type { TimerHandle } from './clock.js';
import type { CheckpointBlob, } from './ports/checkpoint-store.js';
import type { TaskRecord, Usage } from './ports/task-store.js';
import type { EngineContext } from './engine-context.js';
import type { TaskCheckpointer } from './checkpoint-manager.js';
import { BudgetExceededError, type LeaseLostError } from './errors.js';
import { ProgressReporter } from './run-context.js';
import type { Hooks } from './hooks.js';
import type { Registration } from './registry.js';

type RunScope = ReturnType<Hooks['run']>;

export class RunningTask {
  readonly startedAt: number;
  /** Why the run was stopped, once it was. */
  stopReason: Error | null = null;
  /** Set when the outcome must not be written: lease lost, cancelled, or released on shutdown. */
  detached = false;
  hasCheckpoint: boolean;
  /** The task's usage totals as this run last knew them: at start, then the total each report returned. */
  usage: Usage;
  /** The breaker trial this run holds (null: an ordinary run). */
  trial: string | null = null;
  /**
   * Called once the handler is done with the task (before its outcome is written), and once the
   * run has ended (outcome written or given up). The pool's own functions, shared by every run it
   * starts: no closure per task.
   */
  onHandlerDone: ((run: RunningTask) => void) | null = null;
  onEnded: ((run: RunningTask) => void) | null = null;
  /** Created on first use: most handlers never look at their signal. */
  private controller: AbortController | null = null;
  /** While the run waits for its handler's promise: called once if the run is stopped first. */
  onStop: ((run: RunningTask, reason: Error) => void) | null = null;
  /** The handler's registration and the instrumentation scope of the run, once the handler was called. */
  registered: Registration | null = null;
  scope: RunScope = null;
  private cp: TaskCheckpointer | null = null;
  private prog: ProgressReporter | null = null;
  private budgetTimer: TimerHandle | null = null;
  private leaseLossReported = false;

  constructor(
    readonly engine: EngineContext,
    readonly task: TaskRecord,
    readonly leaseId: string,
  ) {
    this.startedAt = engine.clock.now();
    this.hasCheckpoint = task.hasCheckpoint;
    this.usage = task.usage;
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

  /** The checkpoint writer, if the handler saved anything. */
  get checkpoints(): TaskCheckpointer | null {
    return this.cp;
  }

  checkpointer(): TaskCheckpointer {
    const { engine, task } = this;
    return (this.cp ??= engine.checkpoints.forTask(task.id, this.leaseId, {
      atomicEvents: engine.atomicEvents,
      event: (blob) =>
        engine.events.make('task.checkpointed', {
          taskId: task.id,
          runId: task.runId,
          phaseId: task.phaseId,
          data: { token: blob.token, sizeBytes: blob.sizeBytes, encoding: blob.encoding },
        }),
      onSaved: (_blob: CheckpointBlob, event) => {
        this.hasCheckpoint = true;
        engine.events.written([event]);
      },
      onLost: (err) => this.loseLease(err),
      observe: engine.hooks.active ? (blob) => engine.hooks.checkpoint({ task, token: blob.token, sizeBytes: blob.sizeBytes }) : undefined,
    }));
  }

  progress(): ProgressReporter {
    return (this.prog ??= new ProgressReporter(this));
  }

  /** Aborts the handler; with `detach` its outcome will not be written. */
  stop(reason: Error, detach: boolean): void {
    if (detach) this.detached = true;
    if (this.stopReason) return;
    this.stopReason = reason;
    this.controller?.abort(reason);
    const onStop = this.onStop;
    this.onStop = null;
    onStop?.(this, reason);
  }

  /**
   * Another worker owns the task now (a write was refused): stop the handler, and report it once —
   * a log line with the task id and one `task.lease_lost` event.
   */
  loseLease(err: LeaseLostError): void {
    this.stop(err, true);
    if (this.leaseLossReported) return;
    this.leaseLossReported = true;
    const { engine, task } = this;
    engine.logger.warn({ taskId: task.id, leaseId: this.leaseId, err }, 'lease lost: another worker owns this task now; this run stops and its writes are refused');
    engine.events.emit('task.lease_lost', { taskId: task.id, runId: task.runId, phaseId: task.phaseId, data: { leaseId: this.leaseId, reason: err.message } });
  }

  armBudgetTimer(ms: number): void {
    this.budgetTimer = this.engine.clock.setTimeout(() => {
      this.stop(new BudgetExceededError(`Task ${this.id} exceeded its time budget of ${ms} ms.`), false);
    }, ms);
  }

  cleanup(): void {
    if (this.budgetTimer) this.engine.clock.clearTimeout(this.budgetTimer);
    this.cp?.close();
    this.prog?.close();
    const done = this.onHandlerDone;
    this.onHandlerDone = null;
    done?.(this);
  }

  /** The run is over: its outcome was written, or will not be. */
  ended(): void {
    const ended = this.onEnded;
    this.onEnded = null;
    ended?.(this);
  }
}
