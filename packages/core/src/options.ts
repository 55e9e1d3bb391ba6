// All defaults live here. Options are compiled once into a frozen object with durations in ms;
// a bad value throws ConfigError naming the field and the accepted range.
import { availableParallelism } from 'node:os';
import { ConfigError } from './errors.js';
import type { Backend } from './ports/backend.js';
import type { QueueSettings, RateLimit } from './ports/queue.js';
import type { Logger } from './logger.js';
import type { Clock } from './clock.js';
import { boolOption, intOption, numberOption } from './option-helpers.js';
import { validateQueueName } from './names.js';
import { ValidationError } from './errors.js';
import { compileRetryPolicy, type CompiledRetryPolicy, type RetryPolicyOptions } from './retry-policy.js';
import type { Instrumentation } from './instrumentation.js';

export interface WorkerOptions {
  /** Tasks run at once by this process. @default min(cpus, 4) */
  concurrency?: number;
  /**
   * The queues this worker claims from. @default the queues of the task types it registered.
   * Narrow it to split one codebase into fleets (`queues: ['pdf']`).
   */
  queues?: string[];
  /** A task whose lease was not extended for this long may be reclaimed by any worker. @default 180_000 (3 min) */
  stallTimeoutMs?: number;
  /** How often running tasks extend their lease. Must be under half the stall timeout. @default min(60_000, stallTimeoutMs / 3) */
  heartbeatIntervalMs?: number;
  /** How long an idle worker waits for work per claim before checking again. @default 1_000 */
  pollIntervalMs?: number;
  /** On stop, in-flight tasks get this long to finish before their leases are released. @default 30_000 */
  shutdownDeadlineMs?: number;
  /** Largest number of deliveries claimed per round trip. @default 100 */
  claimBatchSize?: number;
  /** Scale the number of task slots with queue depth (depth > slots×5 grows it, depth < slots×2 shrinks it). */
  autoScale?: { min: number; max: number; intervalMs?: number } | false;
  /** Report `worker.event_loop_blocked` when the event loop stalls longer than this. @default 1_000 */
  eventLoopBlockedMs?: number;
  /**
   * A task whose type this worker has no handler for (a deploy mismatch: it serves the queue but
   * not the type) is released for a worker that knows it, with a backoff, this many times; then it
   * is dead with UNKNOWN_TASK_TYPE. @default 20
   */
  unknownTypeReleases?: number;
}

export interface CheckpointOptions {
  /** At most one checkpoint write per task per interval; the newest state wins. @default 120_000 (2 min) */
  intervalMs?: number;
  /** Gzip checkpoints whose JSON is larger than this. @default 10_240 */
  gzipAboveBytes?: number;
  /** Largest checkpoint JSON accepted. @default 16 MiB */
  maxBytes?: number;
  /** Keep a task's checkpoint after it completes. @default false */
  keepAfterCompletion?: boolean;
}

export interface RetentionRule {
  /** Remove after this long. */
  maxAgeMs: number;
  /** Keep at most this many of the newest. */
  maxCount: number;
}

export interface RetentionOptions {
  /** @default { maxAgeMs: 24 h, maxCount: 10_000 } */
  completed?: Partial<RetentionRule>;
  /** @default { maxAgeMs: 7 days, maxCount: 100_000 } */
  dead?: Partial<RetentionRule>;
  /** @default { maxAgeMs: 24 h, maxCount: 10_000 } */
  cancelled?: Partial<RetentionRule>;
  /** @default { maxAgeMs: 7 days, maxCount: 100_000 } */
  events?: Partial<RetentionRule>;
  /** How often retention runs (a pass also repeats while it finds full batches). @default 5_000 */
  intervalMs?: number;
}

/**
 * The fleet-wide circuit breaker of each task type (state kept in the backend, so every worker
 * opens and closes together). It judges health over a rolling window and counts only retryable
 * failures: permanent errors (bad input) say nothing about the health of what a task calls.
 */
export interface BreakerOptions {
  /** `false` turns breakers off. @default true */
  enabled?: boolean;
  /** The rolling window outcomes are judged over. @default 30_000 */
  windowMs?: number;
  /** Fewest outcomes in the window before the failure rate can open the breaker. @default 10 */
  minimumVolume?: number;
  /** Share of failed outcomes in the window that opens the breaker. @default 0.5 */
  failureRate?: number;
  /**
   * How long an opened breaker holds first runs back before half-open trials. It doubles each time
   * a trial fails, up to `maxCooldownMs`, and starts over once the breaker closes. @default 1_000
   */
  cooldownMs?: number;
  /** @default 30_000 */
  maxCooldownMs?: number;
  /** Successful trial runs (fleet-wide, run concurrently) that close a half-open breaker. @default 3 */
  halfOpenTrials?: number;
}

/** Fleet-wide limits of a queue, enforced by the backend at claim time. */
export interface QueueOptions {
  /** Most tasks of the queue running at once across all workers. */
  concurrency?: number;
  /** At most `max` claims per `perMs` (a token bucket on the backend's clock). */
  rateLimit?: RateLimit;
  /** Most tasks of one `group` running at once across all workers. */
  groupConcurrency?: number;
}

export interface BatonOptions {
  backend: Backend;
  /** pino (or compatible) logger. @default warnings and errors to stderr */
  logger?: Logger;
  /** Overrides the backend's clock for the engine's loops (tests). */
  clock?: Clock;
  worker?: WorkerOptions;
  retry?: RetryPolicyOptions;
  breaker?: BreakerOptions;
  checkpoints?: CheckpointOptions;
  retention?: RetentionOptions;
  /** Limits per queue name, written to the backend when this baton starts (the last process to start wins). */
  queues?: Record<string, QueueOptions>;
  /** An idempotency key maps to its task for this long. @default 86_400_000 (24 h), at most 365 days */
  idempotencyKeyTtlMs?: number;
  /** Reclaims after which a task is dead as a poison pill. @default 10 */
  maxRecoveries?: number;
  /** Largest serialised task input. @default 1 MiB */
  maxPayloadBytes?: number;
  /** Deepest nesting of task input. @default 64 */
  maxPayloadDepth?: number;
  /** Longest the timer loop sleeps before looking for timers other processes scheduled. @default 5_000 */
  timerMaxSleepMs?: number;
  /** Pending tasks idle this long without a delivery are re-enqueued by the reconciler. @default 60_000 */
  reconcileAfterMs?: number;
  /** Identifies this process in leases, heartbeats and events. @default host:pid:random */
  workerId?: string;
  /** Hooks around enqueue, run and checkpoint (tracing and metrics packages plug in here). */
  instrumentation?: Instrumentation | Instrumentation[];
}

export interface CompiledBreaker {
  readonly enabled: boolean;
  readonly windowMs: number;
  readonly minimumVolume: number;
  readonly failureRate: number;
  readonly cooldownMs: number;
  readonly maxCooldownMs: number;
  readonly halfOpenTrials: number;
}

export interface CompiledOptions {
  readonly concurrency: number;
  readonly queues: readonly string[] | null;
  readonly stallTimeoutMs: number;
  readonly heartbeatIntervalMs: number;
  readonly pollIntervalMs: number;
  readonly shutdownDeadlineMs: number;
  readonly claimBatchSize: number;
  readonly autoScale: { readonly min: number; readonly max: number; readonly intervalMs: number } | null;
  readonly eventLoopBlockedMs: number;
  readonly unknownTypeReleases: number;
  readonly checkpointIntervalMs: number;
  readonly gzipAboveBytes: number;
  readonly maxCheckpointBytes: number;
  readonly keepCheckpointAfterCompletion: boolean;
  readonly retention: {
    readonly completed: RetentionRule;
    readonly dead: RetentionRule;
    readonly cancelled: RetentionRule;
    readonly events: RetentionRule;
    readonly intervalMs: number;
  };
  readonly retry: CompiledRetryPolicy;
  readonly breaker: CompiledBreaker;
  readonly queueLimits: ReadonlyMap<string, Omit<QueueSettings, 'paused'>>;
  readonly idempotencyKeyTtlMs: number;
  readonly maxRecoveries: number;
  readonly maxPayloadBytes: number;
  readonly maxPayloadDepth: number;
  readonly timerMaxSleepMs: number;
  readonly reconcileAfterMs: number;
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** The longest duration Baton accepts anywhere (delays, TTLs, retention ages): one year. */
export const MAX_DURATION_MS = 365 * DAY;

function rule(field: string, given: Partial<RetentionRule> | undefined, fallback: RetentionRule): RetentionRule {
  return Object.freeze({
    maxAgeMs: intOption(`${field}.maxAgeMs`, given?.maxAgeMs, fallback.maxAgeMs, 0, MAX_DURATION_MS),
    maxCount: intOption(`${field}.maxCount`, given?.maxCount, fallback.maxCount, 0),
  });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function compileBreaker(b: BreakerOptions = {}): CompiledBreaker {
  const cooldownMs = intOption('breaker.cooldownMs', b.cooldownMs, 1_000, 0, MAX_DURATION_MS);
  return Object.freeze({
    enabled: boolOption('breaker.enabled', b.enabled, true),
    windowMs: intOption('breaker.windowMs', b.windowMs, 30_000, 100, MAX_DURATION_MS),
    minimumVolume: intOption('breaker.minimumVolume', b.minimumVolume, 10, 1, 1_000_000),
    failureRate: numberOption('breaker.failureRate', b.failureRate, 0.5, 0.01, 1),
    cooldownMs,
    maxCooldownMs: intOption('breaker.maxCooldownMs', b.maxCooldownMs, Math.max(30_000, cooldownMs), cooldownMs, MAX_DURATION_MS),
    halfOpenTrials: intOption('breaker.halfOpenTrials', b.halfOpenTrials, 3, 1, 100),
  });
}

/** Checks the limits of one queue; throws ValidationError naming the queue and the field. */
export function compileQueueLimits(queue: string, o: QueueOptions): Omit<QueueSettings, 'paused'> {
  if (!isObject(o)) throw new ValidationError(`Limits of queue "${queue}" must be an object { concurrency?, rateLimit?, groupConcurrency? }.`);
  const positive = (field: string, v: unknown): number | null => {
    if (v === undefined || v === null) return null;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 1_000_000) {
      throw new ValidationError(`${field} of queue "${queue}" must be an integer from 1 to 1000000; got ${String(v)}. To stop a queue, pause it.`);
    }
    return v;
  };
  let rateLimit: RateLimit | null = null;
  if (o.rateLimit !== undefined && o.rateLimit !== null) {
    if (!isObject(o.rateLimit)) throw new ValidationError(`rateLimit of queue "${queue}" must be { max, perMs }.`);
    const max = positive('rateLimit.max', o.rateLimit.max)!;
    const perMs = o.rateLimit.perMs;
    if (typeof perMs !== 'number' || !Number.isInteger(perMs) || perMs < 1 || perMs > MAX_DURATION_MS) {
      throw new ValidationError(`rateLimit.perMs of queue "${queue}" must be an integer from 1 to ${MAX_DURATION_MS}; got ${String(perMs)}.`);
    }
    if (max === null) throw new ValidationError(`rateLimit.max of queue "${queue}" is required.`);
    rateLimit = { max, perMs };
  }
  return { concurrency: positive('concurrency', o.concurrency), rateLimit, groupConcurrency: positive('groupConcurrency', o.groupConcurrency) };
}

export function compileOptions(options: BatonOptions): CompiledOptions {
  if (!isObject(options) || !isObject(options.backend) || typeof (options.backend as { claim?: unknown }).claim === 'function') {
    throw new ConfigError(
      'createBaton needs { backend }: a backend object such as memoryBackend(), sqliteBackend({ file }), redisBackend(redis) or postgresBackend(pool) — call the factory, do not pass it.',
    );
  }
  const backend = options.backend as Partial<Backend>;
  for (const port of ['queue', 'tasks', 'checkpoints', 'timers', 'heartbeats', 'events', 'coordination'] as const) {
    if (!isObject(backend[port])) throw new ConfigError(`The backend has no ${port} store; pass a complete backend from an adapter (or mixBackend({ … })).`);
  }
  if (typeof backend.ready !== 'function' || typeof backend.close !== 'function' || !isObject(backend.capabilities)) {
    throw new ConfigError('The backend is missing ready(), close() or capabilities; pass a backend made by an adapter, built against this version of @baton/core.');
  }
  const w = options.worker ?? {};
  if (typeof w !== 'object' || w === null) throw new ConfigError('worker must be an object.');
  const stallTimeoutMs = intOption('worker.stallTimeoutMs', w.stallTimeoutMs, 180_000, 100, MAX_DURATION_MS);
  const heartbeatIntervalMs = intOption('worker.heartbeatIntervalMs', w.heartbeatIntervalMs, Math.max(1, Math.floor(Math.min(60_000, stallTimeoutMs / 3))), 1, MAX_DURATION_MS);
  if (heartbeatIntervalMs * 2 > stallTimeoutMs) {
    throw new ConfigError(
      `worker.heartbeatIntervalMs (${heartbeatIntervalMs}) must be at most half of worker.stallTimeoutMs (${stallTimeoutMs}), or healthy tasks would be reclaimed as stalled.`,
    );
  }
  const concurrency = intOption('worker.concurrency', w.concurrency, Math.min(availableParallelism(), 4), 1, 10_000);
  let autoScale: CompiledOptions['autoScale'] = null;
  if (w.autoScale) {
    const min = intOption('worker.autoScale.min', w.autoScale.min, 1, 1, 10_000);
    const max = intOption('worker.autoScale.max', w.autoScale.max, min, min, 10_000);
    autoScale = Object.freeze({ min, max, intervalMs: intOption('worker.autoScale.intervalMs', w.autoScale.intervalMs, 5_000, 10, MAX_DURATION_MS) });
  }
  let queues: string[] | null = null;
  if (w.queues !== undefined) {
    if (!Array.isArray(w.queues) || w.queues.length === 0) throw new ConfigError('worker.queues must be a non-empty array of queue names.');
    try {
      queues = [...new Set(w.queues.map((q) => validateQueueName(q, 'worker.queues entry')))];
    } catch (err) {
      throw new ConfigError((err as Error).message);
    }
  }
  const queueLimits = new Map<string, Omit<QueueSettings, 'paused'>>();
  if (options.queues !== undefined) {
    if (!isObject(options.queues)) throw new ConfigError('queues must be an object { [queueName]: { concurrency?, rateLimit?, groupConcurrency? } }.');
    for (const [name, limits] of Object.entries(options.queues)) {
      try {
        queueLimits.set(validateQueueName(name), compileQueueLimits(name, limits));
      } catch (err) {
        throw new ConfigError((err as Error).message);
      }
    }
  }
  const c = options.checkpoints ?? {};
  const r = options.retention ?? {};
  return Object.freeze({
    concurrency,
    queues: queues === null ? null : Object.freeze(queues),
    stallTimeoutMs,
    heartbeatIntervalMs,
    pollIntervalMs: intOption('worker.pollIntervalMs', w.pollIntervalMs, 1_000, 1, 60_000),
    shutdownDeadlineMs: intOption('worker.shutdownDeadlineMs', w.shutdownDeadlineMs, 30_000, 0, MAX_DURATION_MS),
    claimBatchSize: intOption('worker.claimBatchSize', w.claimBatchSize, 100, 1, 1_000),
    autoScale,
    eventLoopBlockedMs: intOption('worker.eventLoopBlockedMs', w.eventLoopBlockedMs, 1_000, 10, MAX_DURATION_MS),
    unknownTypeReleases: intOption('worker.unknownTypeReleases', w.unknownTypeReleases, 20, 0, 1_000_000),
    checkpointIntervalMs: intOption('checkpoints.intervalMs', c.intervalMs, 120_000, 0, MAX_DURATION_MS),
    gzipAboveBytes: intOption('checkpoints.gzipAboveBytes', c.gzipAboveBytes, 10_240, 0),
    maxCheckpointBytes: intOption('checkpoints.maxBytes', c.maxBytes, 16 * 1024 * 1024, 1, 1024 * 1024 * 1024),
    keepCheckpointAfterCompletion: boolOption('checkpoints.keepAfterCompletion', c.keepAfterCompletion, false),
    retention: Object.freeze({
      completed: rule('retention.completed', r.completed, { maxAgeMs: DAY, maxCount: 10_000 }),
      dead: rule('retention.dead', r.dead, { maxAgeMs: 7 * DAY, maxCount: 100_000 }),
      cancelled: rule('retention.cancelled', r.cancelled, { maxAgeMs: DAY, maxCount: 10_000 }),
      events: rule('retention.events', r.events, { maxAgeMs: 7 * DAY, maxCount: 100_000 }),
      intervalMs: intOption('retention.intervalMs', r.intervalMs, 5_000, 10, MAX_DURATION_MS),
    }),
    retry: compileRetryPolicy('retry', options.retry),
    breaker: compileBreaker(options.breaker),
    queueLimits,
    idempotencyKeyTtlMs: intOption('idempotencyKeyTtlMs', options.idempotencyKeyTtlMs, DAY, 1, MAX_DURATION_MS),
    maxRecoveries: intOption('maxRecoveries', options.maxRecoveries, 10, 0, 1_000_000),
    maxPayloadBytes: intOption('maxPayloadBytes', options.maxPayloadBytes, 1024 * 1024, 2, 256 * 1024 * 1024),
    maxPayloadDepth: intOption('maxPayloadDepth', options.maxPayloadDepth, 64, 1, 1_000),
    timerMaxSleepMs: intOption('timerMaxSleepMs', options.timerMaxSleepMs, 5_000, 1, MAX_DURATION_MS),
    reconcileAfterMs: intOption('reconcileAfterMs', options.reconcileAfterMs, 60_000, 1, MAX_DURATION_MS),
  });
}
