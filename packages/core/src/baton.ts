// The facade a user touches: register handlers, enqueue, start workers, timers and the
// supervisor, steer queues, observe events and stats. Written only against the ports.
import { hostname } from 'node:os';
import type { EnqueueOptions, EnqueueResult, RegisterOptions, TaskHandler, TaskSpec, WaitOptions } from './api.js';
import type { AgentClass } from './base-agent.js';
import { CheckpointManager } from './checkpoint-manager.js';
import { CircuitBreaker, type BreakerState } from './circuit-breaker.js';
import { systemClock, type Clock } from './clock.js';
import type { EngineContext } from './engine-context.js';
import { ConfigError, NotFoundError, TimeoutError, ValidationError, isBatonError, BackendUnavailableError, toError } from './errors.js';
import { EventPublisher, type EventListener } from './event-publisher.js';
import { Hooks } from './hooks.js';
import { newId } from './idempotency.js';
import type { JsonValue } from './json.js';
import { stderrLogger, type Logger } from './logger.js';
import { compileOptions, compileQueueLimits, type BatonOptions, type CompiledOptions, type QueueOptions } from './options.js';
import type { Backend } from './ports/backend.js';
import type { CheckpointStats } from './ports/checkpoint-store.js';
import type { EventType, StoredEvent } from './ports/event-log.js';
import type { QueueDepth, QueueInfo, QueueSettings } from './ports/queue.js';
import { ACTIVE_STATES, TASK_STATES, isTerminal, type NewTask, type TaskRecord, type TaskState } from './ports/task-store.js';
import type { TaskFlow } from './ports/task-flow.js';
import { Registry } from './registry.js';
import { Scheduler } from './scheduler.js';
import { Settler } from './settler.js';
import { Supervisor } from './supervisor.js';
import { composeFlow } from './task-flow.js';
import { prepareTask } from './task-spec.js';
import { TimerService, type TimerAction } from './timer-service.js';
import type { TimerRecord } from './ports/timer-store.js';
import { WorkerPool, type PoolStats } from './worker-pool.js';
import { validateQueueName, validateText, MAX_ID_LENGTH } from './names.js';
import { normaliseEventQuery, type EventQueryInput } from './normalize.js';
import { Admin } from './admin.js';
import { checkHealth, type HealthReport } from './health.js';
import { checkSchema, definitionHandler, isTaskDefinition, type ResultOf, type TaskDefinition, type TypedTaskRecord } from './define-task.js';

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
  queues: QueueInfo[];
  pool: PoolStats;
  tasks: { byState: StateCounts; byPhase: Record<string, StateCounts> };
  checkpoints: CheckpointStats;
  /** The circuit breaker of every task type that has one, as the fleet shares it. */
  breakers: Record<string, BreakerState>;
}

/** Durable timers, shared by every process on the backend. */
export interface Timers {
  /** Registers the action that fires custom timers named `name` in this process. */
  on(name: string, action: TimerAction): void;
  /** A custom timer, fired once by a process that registered its name. */
  schedule(name: string, delayMs: number, payload?: JsonValue, options?: { key?: string }): Promise<TimerRecord>;
  /** A phase timebox: when it fires, the phase's unfinished tasks are cancelled. */
  scheduleTimeout(phaseId: string, timeboxMs: number): Promise<TimerRecord>;
  /** Removes pending timers matching every given field; returns how many. */
  cancel(filter: { ids?: string[]; keys?: string[]; taskId?: string; phaseId?: string }): Promise<number>;
}

/** The worker pool of this process. */
export interface Pool {
  addWorkers(n: number): void;
  removeWorkers(n: number): void;
  stats(): PoolStats;
}

/** Named queues, fleet-wide: settings are stored in the backend and enforced at claim time. */
export interface Queues {
  /** Stops every worker of the fleet from taking tasks of the queue (within one poll); running tasks finish. */
  pause(queue: string): Promise<QueueSettings>;
  resume(queue: string): Promise<QueueSettings>;
  /** Sets limits (concurrency, rateLimit, groupConcurrency; null removes one). */
  configure(queue: string, limits: { [K in keyof QueueOptions]?: QueueOptions[K] | null }): Promise<QueueSettings>;
  /** Every queue with tasks or settings: its settings and depth. */
  list(): Promise<QueueInfo[]>;
}

function emptyCounts(): StateCounts {
  return Object.fromEntries(TASK_STATES.map((s) => [s, 0])) as StateCounts;
}

export class Baton {
  readonly workerId: string;
  readonly backend: Backend;
  readonly scheduler: Scheduler;
  readonly timers: Timers;
  readonly pool: Pool;
  readonly queues: Queues;
  /** Operator actions: list, inspect, retry, cancel and purge tasks (what the `baton` CLI and dashboard use). */
  readonly admin: Admin;
  private readonly options: CompiledOptions;
  private readonly engine: EngineContext;
  private readonly registry: Registry;
  private readonly events: EventPublisher;
  private readonly timerService: TimerService;
  private readonly supervisor: Supervisor;
  private readonly workers: WorkerPool;
  private readonly logger: Logger;
  private readonly clock: Clock;
  private started: StartOptions | null = null;
  private starting: Promise<void> | null = null;
  private closed = false;

  constructor(options: BatonOptions) {
    this.options = compileOptions(options);
    this.backend = options.backend;
    const clock = (this.clock = options.clock ?? options.backend.clock ?? systemClock);
    const logger = (this.logger = (options.logger ?? stderrLogger()).child({ component: 'baton' }));
    this.workerId = options.workerId === undefined ? `${hostname()}:${process.pid}:${newId().slice(-8)}` : validateText('workerId', options.workerId, MAX_ID_LENGTH);
    const atomicEvents = options.backend.capabilities.atomicEvents === true;
    this.registry = new Registry(this.options.retry);
    this.events = new EventPublisher(options.backend.events, atomicEvents, clock, logger, this.workerId);
    const checkpoints = new CheckpointManager(options.backend.checkpoints, clock, logger, {
      intervalMs: this.options.checkpointIntervalMs,
      gzipAboveBytes: this.options.gzipAboveBytes,
      maxBytes: this.options.maxCheckpointBytes,
    });
    const breaker = new CircuitBreaker(options.backend.coordination, clock, logger, this.options.breaker, this.options.stallTimeoutMs, (t) => {
      const name = t.to === 'open' ? 'breaker.opened' : t.to === 'half_open' ? 'breaker.half_open' : 'breaker.closed';
      const data = { taskType: t.type, from: t.from, ...(t.volume === undefined ? {} : { failures: t.failures ?? 0, volume: t.volume }), ...(t.cooldownMs === undefined ? {} : { cooldownMs: t.cooldownMs }) };
      if (t.to === 'open') logger.warn(data, `circuit breaker of "${t.type}" opened: first runs wait, retries probe`);
      this.events.emit(name, { data });
    });
    const flow: TaskFlow = options.backend.flow ?? composeFlow(options.backend, logger);
    const settler = new Settler(flow, this.events, clock, logger, (n) => this.engine.tasksFinished(n));
    this.timerService = new TimerService({
      ports: options.backend,
      clock,
      logger,
      events: this.events,
      maxSleepMs: this.options.timerMaxSleepMs,
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
      atomicEvents,
      clock,
      logger,
      options: this.options,
      workerId: this.workerId,
      events: this.events,
      registry: this.registry,
      breaker,
      checkpoints,
      settler,
      hooks: new Hooks(options.instrumentation, logger),
      wakeTimers: () => this.timerService.wake(),
      tasksFinished: (n) => this.supervisor.tasksFinished(n),
    };
    this.workers = new WorkerPool(this.engine);
    this.supervisor = new Supervisor(this.engine);
    this.scheduler = new Scheduler({
      enqueueMany: (specs) => this.enqueueMany(specs),
      scheduleTimeout: (phaseId, ms) => this.timerService.scheduleTimeout(phaseId, ms),
      cancelPhase: (phaseId) => this.cancelPhase(phaseId),
    });
    const ts = this.timerService;
    this.timers = {
      on: (name, action) => ts.on(name, action),
      schedule: async (name, delayMs, payload, opts) => ts.schedule(name, delayMs, payload, opts),
      scheduleTimeout: (phaseId, ms) => ts.scheduleTimeout(phaseId, ms),
      cancel: (filter) => ts.cancel(filter),
    };
    const pool = this.workers;
    this.pool = { addWorkers: (n) => pool.addWorkers(n), removeWorkers: (n) => pool.removeWorkers(n), stats: () => pool.stats() };
    this.queues = {
      pause: (q) => this.setQueue(q, { paused: true }, 'queue.paused'),
      resume: (q) => this.setQueue(q, { paused: false }, 'queue.resumed'),
      configure: async (q, limits) => {
        const given = Object.fromEntries(Object.entries(limits ?? {}).filter(([, v]) => v !== null));
        const compiled = compileQueueLimits(String(q), given);
        const patch: Partial<QueueSettings> = {};
        for (const key of ['concurrency', 'rateLimit', 'groupConcurrency'] as const) if (limits !== null && typeof limits === 'object' && key in limits) (patch as Record<string, unknown>)[key] = compiled[key];
        return this.setQueue(q, patch, 'queue.configured');
      },
      list: () => this.backend.queue.queues(),
    };
    this.admin = new Admin({ ports: options.backend, engine: this.engine, enqueueAgain: (tasks) => this.redeliver(tasks), abort: (ids, err) => ids.forEach((id) => this.workers.abortTask(id, err)) });
  }

  /** Registers a task definition made with `defineTask` (its type, queue, retry policy, schemas and handler). */
  register<I, O, C>(definition: TaskDefinition<I, O, C>): this;
  /** Registers the handler of a task type: a function `(input, ctx) => result` or a BaseAgent subclass. */
  register<I = JsonValue, O = JsonValue, C = JsonValue>(type: string, handler: TaskHandler<I, O, C> | AgentClass<I, O, C>, options?: RegisterOptions): this;
  register<I, O, C>(typeOrDefinition: string | TaskDefinition<I, O, C>, handler?: TaskHandler<I, O, C> | AgentClass<I, O, C>, options?: RegisterOptions): this {
    const type = isTaskDefinition(typeOrDefinition) ? typeOrDefinition.type : typeOrDefinition;
    if (this.started?.worker) throw new ConfigError(`Register task types before start(): "${String(type)}" came after this baton started claiming.`);
    if (isTaskDefinition(typeOrDefinition)) {
      const def = typeOrDefinition as TaskDefinition<I, O, C>;
      this.registry.register(def.type, definitionHandler(def), {
        ...(def.queue === undefined ? {} : { queue: def.queue }),
        ...(def.version === undefined ? {} : { version: def.version }),
        ...(def.retry === undefined ? {} : { retry: def.retry }),
      });
    } else {
      this.registry.register(type as string, handler as TaskHandler<I, O, C> | AgentClass<I, O, C>, options);
    }
    return this;
  }

  /** Enqueues one task of a definition: the input is type-checked, and checked against the definition's schema before anything is stored. */
  enqueue<I>(definition: TaskDefinition<I, unknown, unknown>, input: I, options?: EnqueueOptions): Promise<EnqueueResult>;
  /** Enqueues one task; idempotent by key (default sha256 of type, canonical input and version). */
  enqueue(type: string, input: unknown, options?: EnqueueOptions): Promise<EnqueueResult>;
  async enqueue(typeOrDefinition: string | TaskDefinition<unknown, unknown, unknown>, input: unknown, options: EnqueueOptions = {}): Promise<EnqueueResult> {
    if (options === null || typeof options !== 'object') throw new ValidationError('enqueue options must be an object.');
    const { transaction, ...rest } = options;
    let type: string;
    let value = input;
    if (isTaskDefinition(typeOrDefinition)) {
      type = typeOrDefinition.type;
      if (typeOrDefinition.input) value = await checkSchema(typeOrDefinition.input, input, `Input of task "${type}"`);
      if (rest.queue === undefined && typeOrDefinition.queue !== undefined) rest.queue = typeOrDefinition.queue;
      if (rest.version === undefined && typeOrDefinition.version !== undefined) rest.version = typeOrDefinition.version;
    } else type = typeOrDefinition;
    const [result] = await this.enqueueMany([{ ...rest, type, input: value as JsonValue }], transaction === undefined ? {} : { transaction });
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
      const { task, delayMs } = prepareTask(spec, this.options, this.registry);
      tasks.push(task);
      delays.push(delayMs);
    }
    if (tasks.length === 0) return [];
    const scope = this.engine.hooks.enqueue(tasks.map((t) => ({ taskId: t.id, type: t.type, queue: t.queue })));
    scope?.traceContext.forEach((c, i) => {
      if (c !== undefined) tasks[i]!.traceContext = c;
    });
    const write = options.transaction === undefined ? undefined : { transaction: options.transaction };
    const events = tasks.map((t, i) => [
      this.events.make('task.enqueued', {
        taskId: t.id,
        runId: t.runId,
        phaseId: t.phaseId,
        workerId: null,
        data: { type: t.type, queue: t.queue, ...(t.priority !== 0 ? { priority: t.priority } : {}), ...(delays[i] ? { delayMs: delays[i]! } : {}) },
      }),
    ]);
    // Inside the user's transaction the events must commit with it, whatever the backend's flow does.
    const inline = this.engine.atomicEvents;
    let created;
    try {
      created = await this.engine.flow.createAndEnqueue(tasks, delays, write, inline ? events : undefined);
    } catch (err) {
      scope?.end({ error: err });
      throw err;
    }
    scope?.end({ created: created.map((c) => !c.duplicate) });
    // A duplicate returns another task's id: only tasks created now get an event.
    const fresh = events.filter((_, i) => !created[i]!.duplicate).flat();
    if (fresh.length > 0) {
      if (write && !inline) await this.events.appendNow(fresh, write);
      else this.events.written(fresh);
    }
    return created.map((c, i) => ({ taskId: c.id, duplicate: c.duplicate, key: tasks[i]!.idempotencyKey }));
  }

  /**
   * Checks the backend (reachable, schema current), writes the configured queue limits, then
   * starts the worker pool, timer loop and supervisor (each can be turned off). Rejects with the
   * backend's error when it cannot be used.
   */
  async start(options: StartOptions = {}): Promise<void> {
    this.assertOpen();
    if (this.started) return Promise.resolve();
    return (this.starting ??= this.doStart(options).finally(() => {
      this.starting = null;
    }));
  }

  private async doStart(options: StartOptions): Promise<void> {
    const roles = { worker: true, timers: true, supervisor: true, ...options };
    try {
      await this.backend.ready({ logger: this.logger });
      for (const [queue, limits] of this.options.queueLimits) await this.backend.queue.configure(queue, limits);
    } catch (err) {
      const e = toError(err);
      this.logger.error({ err: e, backend: this.backend.name }, 'backend check failed: the baton did not start');
      throw isBatonError(e) ? e : new BackendUnavailableError(`The ${this.backend.name} backend cannot be used: ${e.message}`, { cause: e });
    }
    this.started = roles;
    if (roles.timers) this.timerService.start();
    if (roles.supervisor) this.supervisor.start();
    if (roles.worker) this.workers.start();
  }

  /** Graceful stop: no new claims, in-flight work finishes up to the deadline, the rest is released; checkpoints and events flushed. */
  async stop(options: { deadlineMs?: number } = {}): Promise<void> {
    if (this.starting) await this.starting.catch(() => undefined);
    if (this.started) {
      this.started = null;
      await this.workers.stop(options.deadlineMs);
      await Promise.all([this.timerService.stop(), this.supervisor.stop(), this.engine.breaker.stop()]);
    }
    const abort = new AbortController();
    const deadline = setTimeout(() => abort.abort(), Math.max(options.deadlineMs ?? this.options.shutdownDeadlineMs, 5_000));
    deadline.unref?.();
    await this.events.flush(abort.signal);
    clearTimeout(deadline);
    if (this.events.pending > 0) this.logger.error({ events: this.events.pending }, 'some audit events could not be written before stop; the event log lacks them');
  }

  /** stop(), then closes the backend's own connections. */
  async close(options: { deadlineMs?: number } = {}): Promise<void> {
    if (this.closed) return;
    await this.stop(options);
    this.closed = true;
    this.engine.settler.stop();
    this.events.stop();
    await this.backend.close();
  }

  /** The task, or null when there is none with this id (never created, or removed by retention). */
  async getTask(taskId: string): Promise<TaskRecord | null> {
    validateText('Task id', taskId, MAX_ID_LENGTH);
    return this.backend.tasks.get(taskId);
  }

  /** Resolves with the task of a definition once it finished, its result typed. */
  waitFor<D extends TaskDefinition<unknown, unknown, unknown>>(definition: D, taskId: string, options?: WaitOptions): Promise<TypedTaskRecord<ResultOf<D>>>;
  /** Resolves with the task once it is completed, dead or cancelled (by any process). */
  waitFor(taskId: string, options?: WaitOptions): Promise<TaskRecord>;
  async waitFor(a: string | TaskDefinition<unknown, unknown, unknown>, b?: string | WaitOptions, c?: WaitOptions): Promise<TaskRecord> {
    const taskId = typeof a === 'string' ? a : (b as string);
    const options = (typeof a === 'string' ? (b as WaitOptions | undefined) : c) ?? {};
    validateText('Task id', taskId, MAX_ID_LENGTH);
    const timeoutMs = options.timeoutMs ?? 60_000;
    const pollMs = options.pollMs ?? 250;
    const clock = this.clock;
    const deadline = clock.now() + timeoutMs;
    for (;;) {
      const task = await this.backend.tasks.get(taskId);
      if (!task) throw new NotFoundError(`No task with id ${taskId}: it was never enqueued on this backend, or retention removed it.`, taskId);
      if (isTerminal(task.state)) return task;
      const left = deadline - clock.now();
      if (left <= 0) throw new TimeoutError(`Task ${taskId} is still ${task.state} after ${timeoutMs} ms.${this.idleHint(task)}`);
      await new Promise<void>((resolve) => {
        const off = this.events.on('*', (e) => {
          if (e.taskId === taskId && (e.type === 'task.completed' || e.type === 'task.dead' || e.type === 'task.cancelled')) done();
        });
        // Referenced: a script awaiting a task must not exit while it waits.
        const timer = clock.setTimeout(() => done(), Math.min(pollMs, left), { keepAlive: true });
        function done() {
          off();
          clock.clearTimeout(timer);
          resolve();
        }
      });
    }
  }

  private idleHint(task: TaskRecord): string {
    if (task.state !== 'pending' || this.started?.worker) return '';
    if (this.registry.size === 0) return ` This baton runs no worker (start() was not called and no task type is registered here): a worker process serving queue "${task.queue}" must run it.`;
    return ` This baton was not started: call baton.start() to run workers here, or run a worker process serving queue "${task.queue}".`;
  }

  /** Cancels a task that has not finished; a running handler sees `ctx.signal` abort. Returns false if it had already finished. */
  async cancel(taskId: string): Promise<boolean> {
    validateText('Task id', taskId, MAX_ID_LENGTH);
    return (await this.admin.cancelIds([taskId], 'cancelled')).length === 1;
  }

  /** Cancels every unfinished task of a phase and aborts the running ones. Returns their ids. */
  async cancelPhase(phaseId: string, reason: 'cancelled' | 'timeout' = 'cancelled'): Promise<string[]> {
    validateText('phaseId', phaseId, MAX_ID_LENGTH);
    await this.backend.timers.cancel({ phaseId });
    const ids: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.backend.tasks.list({ phaseId, states: [...ACTIVE_STATES], limit: 1_000, ...(cursor ? { cursor } : {}) });
      ids.push(...(await this.admin.cancelIds(page.tasks.map((t) => t.id), reason, phaseId)));
      cursor = page.cursor ?? undefined;
    } while (cursor);
    return ids;
  }

  /** Subscribes to lifecycle events of this process ('*' for all). Returns the unsubscribe function. */
  on(type: EventType | '*', listener: EventListener): () => void {
    if (typeof listener !== 'function') throw new ValidationError('baton.on(type, listener) needs a function.');
    return this.events.on(type, listener);
  }

  /** Reads the durable audit log (events of every process). */
  async queryEvents(query: EventQueryInput = {}): Promise<StoredEvent[]> {
    const q = normaliseEventQuery(query);
    await this.events.flush();
    return this.backend.events.query(q);
  }

  /** Backend reachability and schema, worker state, event-loop lag and overdue timers (for readiness probes). */
  health(options: { timeoutMs?: number } = {}): Promise<HealthReport> {
    return checkHealth(
      {
        backend: this.backend,
        clock: this.clock,
        pool: () => ({ ...this.workers.stats(), eventLoopLagMs: this.workers.eventLoopLagMs }),
        expectsWorker: () => this.started?.worker === true,
      },
      options.timeoutMs ?? 2_000,
    );
  }

  async stats(): Promise<BatonStats> {
    const [queue, queues, counts, checkpoints, breakers] = await Promise.all([
      this.backend.queue.depth(),
      this.backend.queue.queues(),
      this.backend.tasks.counts('phase'),
      this.backend.checkpoints.stats(),
      this.engine.breaker.fleet(),
    ]);
    const byState = emptyCounts();
    const byPhase: Record<string, StateCounts> = {};
    for (const c of counts) {
      byState[c.state] += c.count;
      if (c.key !== null) (byPhase[c.key] ??= emptyCounts())[c.state] += c.count;
    }
    return {
      workerId: this.workerId,
      backend: this.backend.name,
      queue,
      queues,
      pool: this.workers.stats(),
      tasks: { byState, byPhase },
      checkpoints,
      breakers,
    };
  }

  private async setQueue(queue: string, patch: Partial<QueueSettings>, event: EventType): Promise<QueueSettings> {
    this.assertOpen();
    validateQueueName(queue);
    const settings = await this.backend.queue.configure(queue, patch);
    this.events.emit(event, { data: { queue, ...(patch as Record<string, JsonValue>) } });
    return settings;
  }

  /** Puts retried tasks back in their queues. */
  private async redeliver(tasks: readonly Pick<TaskRecord, 'id' | 'queue' | 'priority' | 'group'>[]): Promise<void> {
    if (tasks.length === 0) return;
    await this.backend.queue.enqueue(tasks.map((t) => ({ taskId: t.id, queue: t.queue, priority: t.priority, group: t.group })));
  }

  private assertOpen(): void {
    if (this.closed) throw new ConfigError('This Baton is closed; create a new one with createBaton().');
  }
}

export function createBaton(options: BatonOptions): Baton {
  return new Baton(options);
}

