// All defaults live here. Options are compiled once into a frozen object with durations
// in ms; a bad value throws ConfigError naming the field and the accepted range.
import { availableParallelism } from 'node:os';
import { ConfigError } from './errors.js';
import type { Backend } from './ports/backend.js';
import type { Logger } from './logger.js';
import type { Clock } from './clock.js';
import type { RetryPolicyOptions } from './retry-policy.js';

export interface WorkerOptions {
  /** Tasks run at once by this process. @default min(cpus, 4) */
  concurrency?: number;
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
  /** Scale the number of task slots with queue depth (seed rule: depth > slots×5 up, depth < slots×2 down). */
  autoScale?: { min: number; max: number; intervalMs?: number } | false;
  /** Report `worker.event_loop_blocked` when the event loop stalls longer than this. @default 1_000 */
  eventLoopBlockedMs?: number;
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

export interface BreakerOptions {
  /** Consecutive failures of one task type that open its breaker. @default 5 */
  failureThreshold?: number;
  /** How long claims of that type wait before one trial run. @default 30_000 */
  cooldownMs?: number;
}

export interface BatonOptions {
  backend: Backend;
  /** pino (or compatible) logger. @default silent */
  logger?: Logger;
  /** Overrides the backend's clock for the engine's loops (tests). */
  clock?: Clock;
  worker?: WorkerOptions;
  retry?: RetryPolicyOptions;
  breaker?: BreakerOptions;
  checkpoints?: CheckpointOptions;
  retention?: RetentionOptions;
  /** An idempotency key maps to its task for this long. @default 86_400_000 (24 h) */
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
}

export interface CompiledOptions {
  readonly concurrency: number;
  readonly stallTimeoutMs: number;
  readonly heartbeatIntervalMs: number;
  readonly pollIntervalMs: number;
  readonly shutdownDeadlineMs: number;
  readonly claimBatchSize: number;
  readonly autoScale: { readonly min: number; readonly max: number; readonly intervalMs: number } | null;
  readonly eventLoopBlockedMs: number;
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
  readonly breakerThreshold: number;
  readonly breakerCooldownMs: number;
  readonly idempotencyKeyTtlMs: number;
  readonly maxRecoveries: number;
  readonly maxPayloadBytes: number;
  readonly maxPayloadDepth: number;
  readonly timerMaxSleepMs: number;
  readonly reconcileAfterMs: number;
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

function int(field: string, value: number | undefined, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const v = value ?? fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new ConfigError(`${field} must be an integer from ${min} to ${max}; got ${String(value)}.`);
  }
  return v;
}

function rule(field: string, given: Partial<RetentionRule> | undefined, fallback: RetentionRule): RetentionRule {
  return Object.freeze({
    maxAgeMs: int(`${field}.maxAgeMs`, given?.maxAgeMs, fallback.maxAgeMs, 0),
    maxCount: int(`${field}.maxCount`, given?.maxCount, fallback.maxCount, 0),
  });
}

export function compileOptions(options: BatonOptions): CompiledOptions {
  if (!options || typeof options !== 'object' || !options.backend) {
    throw new ConfigError('createBaton needs { backend }: e.g. memoryBackend(), sqliteBackend({ file }), redisBackend(redis) or postgresBackend(pool).');
  }
  const w = options.worker ?? {};
  const stallTimeoutMs = int('worker.stallTimeoutMs', w.stallTimeoutMs, 180_000, 100);
  const heartbeatIntervalMs = int('worker.heartbeatIntervalMs', w.heartbeatIntervalMs, Math.max(1, Math.floor(Math.min(60_000, stallTimeoutMs / 3))), 1);
  if (heartbeatIntervalMs * 2 > stallTimeoutMs) {
    throw new ConfigError(
      `worker.heartbeatIntervalMs (${heartbeatIntervalMs}) must be at most half of worker.stallTimeoutMs (${stallTimeoutMs}), or healthy tasks would be reclaimed as stalled.`,
    );
  }
  const concurrency = int('worker.concurrency', w.concurrency, Math.min(availableParallelism(), 4), 1, 10_000);
  let autoScale: CompiledOptions['autoScale'] = null;
  if (w.autoScale) {
    const min = int('worker.autoScale.min', w.autoScale.min, 1, 1, 10_000);
    const max = int('worker.autoScale.max', w.autoScale.max, min, min, 10_000);
    autoScale = Object.freeze({ min, max, intervalMs: int('worker.autoScale.intervalMs', w.autoScale.intervalMs, 5_000, 10) });
  }
  const c = options.checkpoints ?? {};
  const r = options.retention ?? {};
  const b = options.breaker ?? {};
  return Object.freeze({
    concurrency,
    stallTimeoutMs,
    heartbeatIntervalMs,
    pollIntervalMs: int('worker.pollIntervalMs', w.pollIntervalMs, 1_000, 1, 60_000),
    shutdownDeadlineMs: int('worker.shutdownDeadlineMs', w.shutdownDeadlineMs, 30_000, 0),
    claimBatchSize: int('worker.claimBatchSize', w.claimBatchSize, 100, 1, 1_000),
    autoScale,
    eventLoopBlockedMs: int('worker.eventLoopBlockedMs', w.eventLoopBlockedMs, 1_000, 10),
    checkpointIntervalMs: int('checkpoints.intervalMs', c.intervalMs, 120_000, 0),
    gzipAboveBytes: int('checkpoints.gzipAboveBytes', c.gzipAboveBytes, 10_240, 0),
    maxCheckpointBytes: int('checkpoints.maxBytes', c.maxBytes, 16 * 1024 * 1024, 1),
    keepCheckpointAfterCompletion: c.keepAfterCompletion ?? false,
    retention: Object.freeze({
      completed: rule('retention.completed', r.completed, { maxAgeMs: DAY, maxCount: 10_000 }),
      dead: rule('retention.dead', r.dead, { maxAgeMs: 7 * DAY, maxCount: 100_000 }),
      cancelled: rule('retention.cancelled', r.cancelled, { maxAgeMs: DAY, maxCount: 10_000 }),
      events: rule('retention.events', r.events, { maxAgeMs: 7 * DAY, maxCount: 100_000 }),
      intervalMs: int('retention.intervalMs', r.intervalMs, 5_000, 10),
    }),
    breakerThreshold: int('breaker.failureThreshold', b.failureThreshold, 5, 1),
    breakerCooldownMs: int('breaker.cooldownMs', b.cooldownMs, 30_000, 0),
    idempotencyKeyTtlMs: int('idempotencyKeyTtlMs', options.idempotencyKeyTtlMs, DAY, 1),
    maxRecoveries: int('maxRecoveries', options.maxRecoveries, 10, 0),
    maxPayloadBytes: int('maxPayloadBytes', options.maxPayloadBytes, 1024 * 1024, 2),
    maxPayloadDepth: int('maxPayloadDepth', options.maxPayloadDepth, 64, 1, 1_000),
    timerMaxSleepMs: int('timerMaxSleepMs', options.timerMaxSleepMs, 5_000, 1),
    reconcileAfterMs: int('reconcileAfterMs', options.reconcileAfterMs, 60_000, 1),
  });
}
