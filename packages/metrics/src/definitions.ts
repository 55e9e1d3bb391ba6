// Every Baton metric, defined once: its Prometheus name, its OpenTelemetry instrument name, type,
// unit, labels and meaning. @baton/prometheus and @baton/otel both register exactly this list, so
// a dashboard built on one works (after the usual OTel→Prometheus renaming) on the other.

export type MetricKind = 'counter' | 'histogram' | 'gauge';

/**
 * Label keys. Every value is bounded: queue names and task types are what the application
 * registers, the rest are fixed sets. Task ids, run ids and worker ids are never labels.
 */
export type LabelKey = 'queue' | 'type' | 'outcome' | 'state' | 'error_code' | 'trigger';

/** The OpenTelemetry attribute each label is exported as (messaging semantic conventions where one fits). */
export const LABEL_ATTRIBUTES: Readonly<Record<LabelKey, string>> = {
  queue: 'messaging.destination.name',
  type: 'baton.task.type',
  outcome: 'baton.outcome',
  state: 'baton.state',
  error_code: 'error.type',
  trigger: 'baton.trigger',
};

export interface MetricDefinition {
  /** Prometheus metric name (counters end in `_total`). */
  readonly prom: string;
  /** OpenTelemetry instrument name. */
  readonly otel: string;
  readonly kind: MetricKind;
  /** UCUM unit, as OpenTelemetry takes it. */
  readonly unit: string;
  readonly help: string;
  readonly labels: readonly LabelKey[];
  /** Histogram bucket upper bounds. */
  readonly buckets?: readonly number[];
  /** Gauges: fleet-wide (read from the backend) or of this process. */
  readonly scope?: 'fleet' | 'process';
}

/**
 * Seconds, for work that runs from milliseconds to hours: roughly ×2–×2.5 per step up to a
 * minute, then the minutes and hours an operator reasons in (5 min, 10 min, 30 min, 1 h, 2 h, 4 h, 12 h).
 */
export const DURATION_BUCKETS: readonly number[] = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1_800, 3_600, 7_200, 14_400, 43_200,
];

/** Bytes of one checkpoint: 256 B to 16 MB by ×4 (core caps checkpoints well below the top). */
export const SIZE_BUCKETS: readonly number[] = [256, 1_024, 4_096, 16_384, 65_536, 262_144, 1_048_576, 4_194_304, 16_777_216];

const QT: readonly LabelKey[] = ['queue', 'type'];

export const METRICS = {
  tasksEnqueued: {
    prom: 'baton_tasks_enqueued_total',
    otel: 'baton.tasks.enqueued',
    kind: 'counter',
    unit: '{task}',
    help: 'Tasks handed to enqueue by this process; outcome is created, duplicate (the idempotency key mapped to an existing task) or error (the enqueue failed).',
    labels: ['queue', 'type', 'outcome'],
  },
  tasksStarted: {
    prom: 'baton_tasks_started_total',
    otel: 'baton.tasks.started',
    kind: 'counter',
    unit: '{run}',
    help: 'Handler runs started by this process (first runs, retries and runs after a recovery; not claims handed back before the handler ran: open breaker, unknown type, unreadable checkpoint).',
    labels: QT,
  },
  tasksCompleted: {
    prom: 'baton_tasks_completed_total',
    otel: 'baton.tasks.completed',
    kind: 'counter',
    unit: '{task}',
    help: 'Tasks this process completed (the completion was written under a live lease).',
    labels: QT,
  },
  tasksFailed: {
    prom: 'baton_tasks_failed_total',
    otel: 'baton.tasks.failed',
    kind: 'counter',
    unit: '{run}',
    help: 'Failed runs (each one, whether a retry follows or not); error_code is the Baton error code, else the error\'s own code, else ERROR.',
    labels: ['queue', 'type', 'error_code'],
  },
  tasksDead: {
    prom: 'baton_tasks_dead_total',
    otel: 'baton.tasks.dead',
    kind: 'counter',
    unit: '{task}',
    help: 'Tasks that went dead in this process: retries exhausted or permanent failure (the failure\'s code), POISON_PILL (too many recoveries), CORRUPT_RECORD (quarantined), UNKNOWN_TASK_TYPE.',
    labels: ['queue', 'type', 'error_code'],
  },
  tasksRetried: {
    prom: 'baton_tasks_retried_total',
    otel: 'baton.tasks.retried',
    kind: 'counter',
    unit: '{task}',
    help: 'Retries: trigger is backoff (a failed run scheduled its retry timer) or operator (admin retry of a finished task).',
    labels: ['queue', 'type', 'trigger'],
  },
  tasksCancelled: {
    prom: 'baton_tasks_cancelled_total',
    otel: 'baton.tasks.cancelled',
    kind: 'counter',
    unit: '{task}',
    help: 'Tasks cancelled by this process (cancel, cancelMany, phase timebox).',
    labels: QT,
  },
  leaseLosses: {
    prom: 'baton_task_lease_losses_total',
    otel: 'baton.task.lease_losses',
    kind: 'counter',
    unit: '{run}',
    help: 'Runs of this process that lost their lease (a fenced write was refused: the task was reclaimed or cancelled); each is reported once.',
    labels: QT,
  },
  recoveries: {
    prom: 'baton_task_recoveries_total',
    otel: 'baton.task.recoveries',
    kind: 'counter',
    unit: '{task}',
    help: 'Tasks this process reclaimed after their holder stopped heartbeating (crash or stall) and put back to pending.',
    labels: QT,
  },
  runDuration: {
    prom: 'baton_task_run_duration_seconds',
    otel: 'baton.task.run.duration',
    kind: 'histogram',
    unit: 's',
    help: 'Wall time of one run, handler start to outcome written; outcome is completed, retry, dead, lease_lost or released.',
    labels: ['queue', 'type', 'outcome'],
    buckets: DURATION_BUCKETS,
  },
  startLatency: {
    prom: 'baton_task_start_latency_seconds',
    otel: 'baton.task.start_latency',
    kind: 'histogram',
    unit: 's',
    help: 'Enqueue to start of the first run (backend clock; an enqueue delay counts too). Retries and runs after a recovery are not counted.',
    labels: QT,
    buckets: DURATION_BUCKETS,
  },
  checkpointSaves: {
    prom: 'baton_checkpoint_saves_total',
    otel: 'baton.checkpoint.saves',
    kind: 'counter',
    unit: '{write}',
    help: 'Checkpoint writes (after coalescing); outcome is saved, failed (kept pending and retried) or lease_lost.',
    labels: ['queue', 'type', 'outcome'],
  },
  checkpointSize: {
    prom: 'baton_checkpoint_size_bytes',
    otel: 'baton.checkpoint.size',
    kind: 'histogram',
    unit: 'By',
    help: 'Size of each checkpoint saved (encoded JSON before compression).',
    labels: QT,
    buckets: SIZE_BUCKETS,
  },
  usageCost: {
    prom: 'baton_task_cost_usd_total',
    otel: 'baton.task.cost',
    kind: 'counter',
    unit: '[USD]',
    help: 'Cost reported with ctx.reportUsage by runs of this process.',
    labels: QT,
  },
  usageTokens: {
    prom: 'baton_task_tokens_total',
    otel: 'baton.task.tokens',
    kind: 'counter',
    unit: '{token}',
    help: 'Tokens reported with ctx.reportUsage by runs of this process.',
    labels: QT,
  },
  breakerTransitions: {
    prom: 'baton_breaker_transitions_total',
    otel: 'baton.breaker.transitions',
    kind: 'counter',
    unit: '{transition}',
    help: 'Circuit breaker transitions this process decided; state is the new state (open, half_open, closed).',
    labels: ['type', 'state'],
  },
  queueTasks: {
    prom: 'baton_queue_tasks',
    otel: 'baton.queue.tasks',
    kind: 'gauge',
    unit: '{task}',
    help: 'Stored tasks of each queue by state (pending, running, scheduled, completed, dead, cancelled), fleet-wide.',
    labels: ['queue', 'state'],
    scope: 'fleet',
  },
  queueDeliveries: {
    prom: 'baton_queue_deliveries',
    otel: 'baton.queue.deliveries',
    kind: 'gauge',
    unit: '{delivery}',
    help: 'Deliveries of each queue by state: ready (claimable now), delayed, leased, expired (leased, holder stopped heartbeating), fleet-wide.',
    labels: ['queue', 'state'],
    scope: 'fleet',
  },
  queueOldestWaiting: {
    prom: 'baton_queue_oldest_waiting_seconds',
    otel: 'baton.queue.oldest_waiting',
    kind: 'gauge',
    unit: 's',
    help: 'How long the longest-waiting pending task of each queue has waited (0 when none is pending), fleet-wide.',
    labels: ['queue'],
    scope: 'fleet',
  },
  queuePaused: {
    prom: 'baton_queue_paused',
    otel: 'baton.queue.paused',
    kind: 'gauge',
    unit: '1',
    help: '1 while the queue is paused, else 0, fleet-wide.',
    labels: ['queue'],
    scope: 'fleet',
  },
  breakerState: {
    prom: 'baton_breaker_state',
    otel: 'baton.breaker.state',
    kind: 'gauge',
    unit: '1',
    help: 'Circuit breaker of each task type, one series per state (closed, half_open, open): 1 for the current state, 0 for the others, fleet-wide.',
    labels: ['type', 'state'],
    scope: 'fleet',
  },
  checkpointsStored: {
    prom: 'baton_checkpoints_stored',
    otel: 'baton.checkpoints.stored',
    kind: 'gauge',
    unit: '{checkpoint}',
    help: 'Checkpoints stored in the backend, fleet-wide.',
    labels: [],
    scope: 'fleet',
  },
  checkpointsStoredBytes: {
    prom: 'baton_checkpoints_stored_bytes',
    otel: 'baton.checkpoints.stored.size',
    kind: 'gauge',
    unit: 'By',
    help: 'Bytes of the checkpoints stored in the backend (as stored, after compression), fleet-wide.',
    labels: [],
    scope: 'fleet',
  },
  workerSlots: {
    prom: 'baton_worker_slots',
    otel: 'baton.worker.slots',
    kind: 'gauge',
    unit: '{slot}',
    help: 'Task slots of this process\'s worker pool (0 when it runs no worker).',
    labels: [],
    scope: 'process',
  },
  workerBusy: {
    prom: 'baton_worker_busy',
    otel: 'baton.worker.busy',
    kind: 'gauge',
    unit: '{slot}',
    help: 'Slots of this process running a handler now.',
    labels: [],
    scope: 'process',
  },
  sampleFailures: {
    prom: 'baton_metrics_sample_failures_total',
    otel: 'baton.metrics.sample_failures',
    kind: 'counter',
    unit: '{sample}',
    help: 'Reads of the fleet-wide gauges that failed or timed out (the fleet gauges are left out of that collection rather than reported stale).',
    labels: [],
  },
} as const satisfies Record<string, MetricDefinition>;

export type MetricKey = keyof typeof METRICS;

export const METRIC_LIST: readonly MetricDefinition[] = Object.values(METRICS);

/** The README table of every metric, in one flavour's names and label spelling. */
export function metricsTable(flavour: 'prometheus' | 'otel'): string {
  const rows = METRIC_LIST.map((m) => {
    const name = flavour === 'prometheus' ? m.prom : m.otel;
    const type = m.kind === 'gauge' ? (flavour === 'prometheus' ? 'gauge' : 'observable gauge') : m.kind;
    const labels = m.labels.length === 0 ? '—' : m.labels.map((l) => `\`${flavour === 'prometheus' ? l : LABEL_ATTRIBUTES[l]}\``).join(', ');
    const unit = flavour === 'otel' ? ` (\`${m.unit}\`)` : '';
    return `| \`${name}\` | ${type}${unit} | ${labels} | ${m.help.replace(/\|/g, '\\|')} |`;
  });
  return ['| name | type | labels | meaning |', '|---|---|---|---|', ...rows].join('\n');
}
