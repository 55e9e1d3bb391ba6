// The facade a user touches: register handlers, enqueue, start workers, timers and the
// supervisor, observe events and stats. Written only against the ports.
import { hostname } from 'node:os';
import type { EnqueueOptions, EnqueueResult, RegisterOptions, TaskHandler, TaskSpec, WaitOptions } from './api.js';
import type { AgentClass } from './base-agent.js';
import { CheckpointManager } from './checkpoint-manager.js';
import { CircuitBreaker, type BreakerState } from './circuit-breaker.js';
import { systemClock } from './clock.js';
import type { EngineContext } from './engine-context.js';
import { CancelledError, ConfigError, TimeoutError, ValidationError } from './errors.js';
import { EventPublisher, type EventListener } from './event-publisher.js';
import { generateKey, newId } from './idempotency.js';
import { parseJson, serializeJson, type JsonValue } from './json.js';
import { silentLogger } from './logger.js';
import { compileOptions, type BatonOptions, type CompiledOptions } from './options.js';
import type { Backend } from './ports/backend.js';
import type { CheckpointStats } from './ports/checkpoint-store.js';
import type { EventType, StoredEvent, EventQuery } from './ports/event-log.js';
import type { QueueDepth } from './ports/queue.js';
import { ACTIVE_STATES, TASK_STATES, isTerminal, type Budget, type NewTask, type TaskRecord, type TaskState } from './ports/task-store.js';
import { Registry, validateTaskType } from './registry.js';
import { RetryPolicy } from './retry-policy.js';
import { Scheduler } from './scheduler.js';
import { Settler } from './settler.js';
import { Supervisor } from './supervisor.js';
import { composeFlow } from './task-flow.js';
import type { TaskFlow } from './ports/task-flow.js';
import { TimerService } from './timer-service.js';
import { WorkerPool, type PoolStats } from './worker-pool.js';

export interface StartOptions {
  /** Run the worker pool (claim and run tasks). @default true */
  worker?: boolean;
  /** Run the timer loop (retries, timeboxes, custom timers). @default true */
  timers?: boolean;
  /** Run the supervisor (stall reclaim, reconciler, retention). @default true */
  supervisor?: boolean;
}

export type StateCounts = Record<TaskState, number>;

export interface BatonStats {
  workerId: string;
  backend: string;
  queue: QueueDepth;
  pool: PoolStats;
  tasks: { byState: StateCounts; byPhase: Record<string, StateCounts> };
  checkpoints: CheckpointStats;
  breakers: Record<string, BreakerState>;
}

const MAX_KEY_LENGTH = 512;

function emptyCounts(): StateCounts {
  return Object.fromEntries(TASK_STATES.map((s) => [s, 0])) as StateCounts;
}

export class Baton {
  readonly workerId: string;
  readonly options: CompiledOptions;
  readonly backend: Backend;
  readonly pool: WorkerPool;
  readonly timers: TimerService;
  readonly supervisor: Supervisor;
  readonly scheduler: Scheduler;
  readonly checkpoints: CheckpointManager;
  private readonly engine: EngineContext;
  private readonly registry: Registry;
  private readonly events: EventPublisher;
  private started: StartOptions | null = null;
  private closed = false;

  constructor(options: BatonOptions) {
    this.options = compileOptions(options);
    this.backend = options.backend;
    const clock = options.clock ?? options.backend.clock ?? systemClock;
    const logger = (options.logger ?? silentLogger).child({ component: 'baton' });
    this.workerId = options.workerId ?? `${hostname()}:${process.pid}:${newId().slice(0, 8)}`;
    const retry = new RetryPolicy(options.retry);
    this.registry = new Registry(options.retry ?? {});
    this.events = new EventPublisher(options.backend.events, clock, logger, this.workerId);
    this.checkpoints = new CheckpointManager(options.backend.checkpoints, clock, {
      intervalMs: this.options.checkpointIntervalMs,
      gzipAboveBytes: this.options.gzipAboveBytes,
      maxBytes: this.options.maxCheckpointBytes,
    });
    const breaker = new CircuitBreaker(clock, this.options.breakerThreshold, this.options.breakerCooldownMs, ({ type, to }) => {
      const name = to === 'open' ? 'breaker.opened' : to === 'half_open' ? 'breaker.half_open' : 'breaker.closed';
      this.events.emit(name, { data: { taskType: type } });
    });
    const flow: TaskFlow = options.backend.flow ?? composeFlow(options.backend, logger);
    const settler = new Settler(flow, this.events, clock, logger, (n) => this.engine.tasksFinished(n));
    this.timers = new TimerService({
      ports: options.backend,
      clock,
      logger,
      events: this.events,
      maxSleepMs: this.options.timerMaxSleepMs,
      retry,
      onPhaseTimeout: async (phaseId) => {
        const ids = await this.cancelPhase(phaseId, 'timeout');
        this.events.emit('phase.timed_out', { phaseId, data: { cancelled: ids.length } });
      },
      onCleanup: async () => {
        await this.supervisor.purge();
      },
    });
    this.engine = {
      ports: options.backend,
      flow,
      capabilities: options.backend.capabilities,
      clock,
      logger,
      options: this.options,
      workerId: this.workerId,
      events: this.events,
      registry: this.registry,
      retry,
      breaker,
      checkpoints: this.checkpoints,
      settler,
      wakeTimers: () => this.timers.wake(),
      tasksFinished: (n) => this.supervisor.tasksFinished(n),
    };
    this.pool = new WorkerPool(this.engine);
    this.supervisor = new Supervisor(this.engine);
    this.scheduler = new Scheduler({
      enqueueMany: (specs) => this.enqueueMany(specs),
      scheduleTimeout: (phaseId, ms) => this.timers.scheduleTimeout(phaseId, ms),
      cancelPhase: (phaseId) => this.cancelPhase(phaseId),
    });
  }

  /** Registers the handler of a task type: a function `(input, ctx) => result` or a BaseAgent subclass. */
  register<I = JsonValue, O = JsonValue, C = JsonValue>(type: string, handler: TaskHandler<I, O, C> | AgentClass<I, O, C>, options?: RegisterOptions): this {
    this.registry.register(type, handler, options);
    return this;
  }

  /** Enqueues one task; idempotent by key (default sha256 of type, canonical input and version). */
  async enqueue(type: string, input: JsonValue | Record<string, unknown>, options: EnqueueOptions = {}): Promise<EnqueueResult> {
    const { transaction, ...rest } = options;
    const [result] = await this.enqueueMany([{ ...rest, type, input: input as JsonValue }], transaction === undefined ? {} : { transaction });
    return result!;
  }

  /** Enqueues many tasks in one batch. Every spec is validated before anything is written. */
  async enqueueMany(specs: TaskSpec[], options: { transaction?: unknown } = {}): Promise<EnqueueResult[]> {
    this.assertOpen();
    if (!Array.isArray(specs)) throw new ValidationError('enqueueMany takes an array of { type, input, ...options }.');
    if (options.transaction !== undefined && !this.backend.capabilities.transactionalEnqueue) {
      throw new ConfigError(`The ${this.backend.name} backend cannot enqueue inside your transaction (capabilities.transactionalEnqueue is false); enqueue after commit instead.`);
    }
    const tasks: NewTask[] = [];
    const delays: number[] = [];
    for (const spec of specs) {
      const { task, delayMs } = this.toNewTask(spec);
      tasks.push(task);
      delays.push(delayMs);
    }
    if (tasks.length === 0) return [];
    const write = options.transaction === undefined ? undefined : { transaction: options.transaction };
    const events = tasks.map((t, i) =>
      this.events.make('task.enqueued', { taskId: t.id, runId: t.runId, phaseId: t.phaseId, workerId: null, data: { type: t.type, ...(delays[i] ? { delayMs: delays[i]! } : {}) } }),
    );
    const flow = this.engine.flow;
    const created = await flow.createAndEnqueue(tasks, delays, write, flow.appendsEvents ? events : undefined);
    // A duplicate returns another task's id: only tasks created now get an event.
    const fresh = events.filter((_, i) => !created[i]!.duplicate);
    if (fresh.length > 0) {
      if (flow.appendsEvents) this.events.notifyAll(fresh);
      else if (write) await this.events.appendNow(fresh, write);
      else this.events.publish(fresh);
    }
    return created.map((c, i) => ({ taskId: c.id, duplicate: c.duplicate, key: tasks[i]!.idempotencyKey }));
  }

  private toNewTask(spec: TaskSpec): { task: NewTask; delayMs: number } {
    if (!spec || typeof spec !== 'object') throw new ValidationError('Each task spec must be an object { type, input }.');
    const type = validateTaskType(spec.type);
    const limits = { maxBytes: this.options.maxPayloadBytes, maxDepth: this.options.maxPayloadDepth };
    const input = parseJson<JsonValue>(serializeJson(spec.input, `Input of task "${type}"`, limits));
    const reg = this.registry.get(type);
    const version = spec.version ?? reg?.version ?? 'v1';
    const key = spec.key ?? generateKey(type, input, version);
    if (typeof key !== 'string' || key.length === 0 || key.length > MAX_KEY_LENGTH) {
      throw new ValidationError(`Idempotency key of task "${type}" must be a non-empty string of at most ${MAX_KEY_LENGTH} characters.`);
    }
    const delayMs = spec.delayMs ?? 0;
    if (!Number.isFinite(delayMs) || delayMs < 0) throw new ValidationError(`delayMs of task "${type}" must be a finite number ≥ 0; got ${String(spec.delayMs)}.`);
    const keyTtlMs = spec.keyTtlMs ?? this.options.idempotencyKeyTtlMs;
    if (!Number.isInteger(keyTtlMs) || keyTtlMs < 1) throw new ValidationError(`keyTtlMs of task "${type}" must be an integer ≥ 1.`);
    const maxRetries = spec.maxRetries ?? reg?.retry?.maxRetries ?? this.engine.retry.maxRetries;
    if (!Number.isInteger(maxRetries) || maxRetries < 0) throw new ValidationError(`maxRetries of task "${type}" must be an integer ≥ 0.`);
    return {
      task: {
        id: newId(),
        type,
        input,
        idempotencyKey: key,
        keyTtlMs,
        runId: optionalId('runId', spec.runId),
        phaseId: optionalId('phaseId', spec.phaseId),
        maxRetries,
        budget: validateBudget(type, spec.budget),
      },
      delayMs: Math.round(delayMs),
    };
  }

  /** Starts the worker pool, timer loop and supervisor (each can be turned off). */
  async start(options: StartOptions = {}): Promise<void> {
    this.assertOpen();
    if (this.started) return;
    const roles = { worker: true, timers: true, supervisor: true, ...options };
    this.started = roles;
    if (roles.timers) this.timers.start();
    if (roles.supervisor) this.supervisor.start();
    if (roles.worker) this.pool.start();
  }

  /** Graceful stop: no new claims, in-flight work finishes up to the deadline, the rest is released; checkpoints and events flushed. */
  async stop(options: { deadlineMs?: number } = {}): Promise<void> {
    if (this.started) {
      this.started = null;
      await this.pool.stop(options.deadlineMs);
      await Promise.all([this.timers.stop(), this.supervisor.stop()]);
    }
    await this.events.flush();
  }

  /** stop(), then closes the backend's own connections. */
  async close(options: { deadlineMs?: number } = {}): Promise<void> {
    if (this.closed) return;
    await this.stop(options);
    this.closed = true;
    this.engine.settler.stop();
    await this.backend.close();
  }

  getTask(taskId: string): Promise<TaskRecord | null> {
    return this.backend.tasks.get(taskId);
  }

  /** Resolves with the task once it is completed, dead or cancelled (by any process). */
  async waitFor(taskId: string, options: WaitOptions = {}): Promise<TaskRecord> {
    const timeoutMs = options.timeoutMs ?? 60_000;
    const pollMs = options.pollMs ?? 250;
    const { clock } = this.engine;
    const deadline = clock.now() + timeoutMs;
    for (;;) {
      const task = await this.backend.tasks.get(taskId);
      if (!task) throw new ValidationError(`No task with id ${taskId}.`);
      if (isTerminal(task.state)) return task;
      const left = deadline - clock.now();
      if (left <= 0) throw new TimeoutError(`Task ${taskId} is still ${task.state} after ${timeoutMs} ms.`);
      await new Promise<void>((resolve) => {
        const off = this.events.on('*', (e) => {
          if (e.taskId === taskId && (e.type === 'task.completed' || e.type === 'task.dead' || e.type === 'task.cancelled')) done();
        });
        const timer = clock.setTimeout(() => done(), Math.min(pollMs, left));
        function done() {
          off();
          clock.clearTimeout(timer);
          resolve();
        }
      });
    }
  }

  /** Cancels a task that has not finished; a running handler sees `ctx.signal` abort. Returns false if it had already finished. */
  async cancel(taskId: string): Promise<boolean> {
    const moved = await this.backend.tasks.transition([taskId], [...ACTIVE_STATES], 'cancelled');
    if (moved.length === 0) return false;
    await this.afterCancel(moved, 'cancelled', null);
    return true;
  }

  /** Cancels every unfinished task of a phase and aborts the running ones. Returns their ids. */
  async cancelPhase(phaseId: string, reason: 'cancelled' | 'timeout' = 'cancelled'): Promise<string[]> {
    const ids = await this.backend.tasks.cancelPhase(phaseId);
    await this.backend.timers.cancel({ phaseId });
    await this.afterCancel(ids, reason, phaseId);
    return ids;
  }

  private async afterCancel(ids: string[], reason: 'cancelled' | 'timeout', phaseId: string | null): Promise<void> {
    if (ids.length === 0) return;
    await this.backend.queue.remove(ids);
    const error = reason === 'timeout' ? new TimeoutError(`Phase ${phaseId} reached its timebox; unfinished tasks were cancelled.`) : new CancelledError('Task was cancelled.');
    for (const id of ids) {
      if (!phaseId) await this.backend.timers.cancel({ taskId: id });
      this.pool.abortTask(id, error);
    }
    this.events.publish(ids.map((id) => this.events.make('task.cancelled', { taskId: id, phaseId, data: { reason } })));
  }

  /** Subscribes to lifecycle events of this process ('*' for all). Returns the unsubscribe function. */
  on(type: EventType | '*', listener: EventListener): () => void {
    return this.events.on(type, listener);
  }

  /** Reads the durable audit log (events of every process). */
  async queryEvents(query: EventQuery): Promise<StoredEvent[]> {
    await this.events.flush();
    return this.backend.events.query(query);
  }

  async stats(): Promise<BatonStats> {
    const [queue, counts, checkpoints] = await Promise.all([this.backend.queue.depth(), this.backend.tasks.counts(), this.backend.checkpoints.stats()]);
    const byState = emptyCounts();
    const byPhase: Record<string, StateCounts> = {};
    for (const c of counts) {
      byState[c.state] += c.count;
      if (c.phaseId !== null) (byPhase[c.phaseId] ??= emptyCounts())[c.state] += c.count;
    }
    return {
      workerId: this.workerId,
      backend: this.backend.name,
      queue,
      pool: this.pool.stats(),
      tasks: { byState, byPhase },
      checkpoints,
      breakers: this.engine.breaker.snapshot(),
    };
  }

  private assertOpen(): void {
    if (this.closed) throw new ConfigError('This Baton is closed; create a new one with createBaton().');
  }
}

export function createBaton(options: BatonOptions): Baton {
  return new Baton(options);
}

function optionalId(field: string, v: unknown): string | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string' || v.length === 0 || v.length > 200) throw new ValidationError(`${field} must be a non-empty string of at most 200 characters.`);
  return v;
}

function validateBudget(type: string, b: Budget | undefined): Budget | null {
  if (b === undefined || b === null) return null;
  if (typeof b !== 'object') throw new ValidationError(`budget of task "${type}" must be an object { costUsd?, tokens?, timeMs? }.`);
  const out: Budget = {};
  for (const field of ['costUsd', 'tokens', 'timeMs'] as const) {
    const v = b[field];
    if (v === undefined) continue;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new ValidationError(`budget.${field} of task "${type}" must be a finite number ≥ 0; got ${String(v)}.`);
    out[field] = v;
  }
  return out;
}
