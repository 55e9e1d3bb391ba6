// The handler's `ctx`: checkpoint saves, heartbeats, usage and progress reports of one run, each
// fenced by the run's lease. Methods are created on first access (and bound, so destructuring
// works): most handlers touch few of them, and a task should not pay for what it does not use.
import type { Checkpoint, TaskContext } from './api.js';
import type { TimerHandle } from './clock.js';
import { BudgetExceededError, LeaseLostError, ValidationError } from './errors.js';
import { serializeJson, type JsonObject, type JsonValue } from './json.js';
import type { TaskRecord, Usage } from './ports/task-store.js';
import type { RunningTask } from './running-task.js';
import { heartbeatId } from './ports/heartbeat-store.js';

/** Largest progress value, serialised. */
export const MAX_PROGRESS_BYTES = 4_096;
/** At most one progress write per task per this many ms; the newest value wins. */
const PROGRESS_INTERVAL_MS = 1_000;

export class RunContext implements TaskContext {
  private loggerInstance: TaskContext['logger'] | null = null;
  private saveFn: TaskContext['saveCheckpoint'] | null = null;
  private heartbeatFn: TaskContext['heartbeat'] | null = null;
  private usageFn: TaskContext['reportUsage'] | null = null;
  private progressFn: TaskContext['reportProgress'] | null = null;

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
    return (this.saveFn ??= (token, data, options) => this.run.checkpointer().save(token, data, options));
  }

  get heartbeat(): TaskContext['heartbeat'] {
    return (this.heartbeatFn ??= () => heartbeat(this.run));
  }

  get reportUsage(): TaskContext['reportUsage'] {
    return (this.usageFn ??= (delta) => reportUsage(this.run, delta));
  }

  get reportProgress(): TaskContext['reportProgress'] {
    return (this.progressFn ??= (value) => this.run.progress().report(value));
  }
}

async function heartbeat(run: RunningTask): Promise<void> {
  const { engine, task } = run;
  const [ok] = await engine.flow.heartbeat([{ taskId: task.id, leaseId: run.leaseId }], engine.options.stallTimeoutMs);
  if (!ok) {
    const err = new LeaseLostError(task.id, 'heartbeat');
    run.loseLease(err);
    throw err;
  }
  await engine.ports.heartbeats.beat([{ id: heartbeatId.task(task.id), ttlMs: engine.options.stallTimeoutMs }]);
}

async function reportUsage(run: RunningTask, delta: Partial<Usage>): Promise<Usage> {
  const { engine, task } = run;
  const usage: Usage = { costUsd: checkNumber('costUsd', delta?.costUsd), tokens: checkNumber('tokens', delta?.tokens) };
  const total = await engine.ports.tasks.recordUsage(task.id, run.leaseId, usage);
  if (!total) {
    const err = new LeaseLostError(task.id, 'usage report');
    run.loseLease(err);
    throw err;
  }
  run.usage = total;
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

/** Progress of one run: validated at once, written at most once per interval (newest wins), fenced by the lease. */
export class ProgressReporter {
  private pending: JsonValue | undefined;
  private lastWriteAt = 0;
  private timer: TimerHandle | null = null;
  private writing: Promise<void> | null = null;

  constructor(private readonly run: RunningTask) {}

  report(value: number | JsonObject): Promise<void> {
    this.pending = checkProgress(value);
    const { clock } = this.run.engine;
    const wait = this.lastWriteAt + PROGRESS_INTERVAL_MS - clock.now();
    if (wait <= 0 && this.writing === null) return this.write();
    this.timer ??= clock.setTimeout(() => {
      this.timer = null;
      this.write().catch((err: unknown) => {
        if (!(err instanceof LeaseLostError)) this.run.engine.logger.warn({ err, taskId: this.run.id }, 'progress write failed; the next report retries it');
      });
    }, Math.max(1, wait));
    return Promise.resolve();
  }

  close(): void {
    if (this.timer) this.run.engine.clock.clearTimeout(this.timer);
    this.timer = null;
    this.pending = undefined;
  }

  private async write(): Promise<void> {
    if (this.writing) await this.writing.catch(() => undefined);
    const value = this.pending;
    if (value === undefined) return;
    this.pending = undefined;
    this.lastWriteAt = this.run.engine.clock.now();
    this.writing = this.send(value);
    try {
      await this.writing;
    } finally {
      this.writing = null;
    }
  }

  private async send(value: JsonValue): Promise<void> {
    const { engine, task } = this.run;
    const event = engine.events.make('task.progress', { taskId: task.id, runId: task.runId, phaseId: task.phaseId, data: { progress: value } });
    let ok: boolean;
    try {
      ok = await engine.ports.tasks.setProgress(task.id, this.run.leaseId, value, { events: engine.events.forWrite([event]) });
    } catch (err) {
      this.pending ??= value;
      throw err;
    }
    if (!ok) {
      const err = new LeaseLostError(task.id, 'progress report');
      this.run.loseLease(err);
      throw err;
    }
    engine.events.written([event]);
  }
}

function checkProgress(value: unknown): JsonValue {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0 || value > 1) throw new ValidationError(`reportProgress: a number must be from 0 to 1; got ${String(value)}.`);
    return value;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ValidationError('reportProgress takes a number from 0 to 1 or a small JSON object ({ done: 3, total: 10 }).');
  }
  serializeJson(value, 'Progress', { maxBytes: MAX_PROGRESS_BYTES, maxDepth: 8 });
  return structuredClone(value) as JsonValue;
}
