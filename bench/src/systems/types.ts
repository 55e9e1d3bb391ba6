// The one interface every benchmarked system is driven through, so each scenario runs the
// same code path for Baton (any backend) and for the peers.
import type { Payload } from '../payload.js';

export type Family = 'memory' | 'sqlite' | 'redis' | 'postgres' | 'mysql' | 'production' | 'nats';
export type ScenarioId = 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8;

/**
 * Scenario 8's named queues. Fixed here, in the interface, so a system can set up every queue
 * (and a Baton worker can register every queue's task type, as one codebase split into fleets
 * does) before the clock starts.
 */
export const ROUTED_QUEUES = ['q0', 'q1', 'q2', 'q3'] as const;
export type RoutedQueue = (typeof ROUTED_QUEUES)[number];

/** Each system maps these two levels onto its own priority option (said in its settings). */
export type RoutedPriority = 'high' | 'normal';

export interface RoutedJob {
  queue: RoutedQueue;
  priority: RoutedPriority;
  payload: Payload;
}

export interface JobContext {
  /** Durable progress write, awaited (Baton: saveCheckpoint with { flush: true }). Absent when the system has no such API. */
  checkpoint?: (step: number, data: Record<string, unknown>) => Promise<void>;
  /** Progress an earlier (crashed) run of this job saved, or null. */
  restored: unknown;
}

export type JobHandler = (payload: Payload, ctx: JobContext) => Promise<void>;

export interface OpenOptions {
  /** Jobs run at once by this process's worker. */
  concurrency: number;
  /** A job whose holder stopped heartbeating is handed to another worker after this long. */
  stallTimeoutMs?: number;
  /**
   * Scenario 8: the fleet — each entry is one worker and the queues it serves; each worker runs
   * `concurrency` jobs at once. open() sets up each worker's own connections (as a separate worker
   * process would have them) and every queue before any timing; startRoutedWorker starts one.
   */
  fleet?: readonly (readonly RoutedQueue[])[];
}

/** One system bound to one isolated namespace (prefix / schema / file / queue name). */
export interface Instance {
  enqueue(payload: Payload): Promise<void>;
  enqueueBatch(payloads: Payload[]): Promise<void>;
  /** Starts this process's worker; `onCompleted` gets the job id once the system reports it completed. */
  startWorker(handler: JobHandler, onCompleted: (jobId: string) => void): Promise<void>;
  /** Scenario 8: each job into its named queue at its priority (pre-enqueued, before the clock). */
  enqueueRouted(jobs: RoutedJob[]): Promise<void>;
  /**
   * Scenario 8: starts worker `index` of `OpenOptions.fleet`, which claims only from its queues;
   * `onCompleted` as in startWorker. stopWorker() stops it too.
   */
  startRoutedWorker(index: number, handler: JobHandler, onCompleted: (jobId: string) => void): Promise<void>;
  /**
   * For systems that report completion before it is durable (batched completion writes):
   * true once the backend holds no unfinished job of this namespace.
   */
  allSettled?(): Promise<boolean>;
  /** Graceful stop of the worker (bounded by the caller). */
  stopWorker(): Promise<void>;
  /** Bytes the system holds on its server for this namespace, or null when not measurable. */
  backendBytes(): Promise<number | null>;
  /** Records it holds (Postgres: live rows; Redis: keys), or null when not measured. */
  backendRecords(): Promise<number | null>;
  /** Closes connections; leaves the data (destroy() removes it). */
  close(): Promise<void>;
}

export interface System {
  /** CLI name (--only). */
  id: string;
  label: string;
  kind: 'baton' | 'peer';
  family: Family;
  /** The settings used, as written into BENCHMARKS.md. */
  settings: string;
  /** null when usable; otherwise why not ("not built: …", "server unreachable: …"). */
  probe(): Promise<string | null>;
  /** null when the scenario applies; otherwise why it does not (shown as n/a). */
  unsupported(scenario: ScenarioId): string | null;
  open(ns: string, options: OpenOptions): Promise<Instance>;
  /** Removes everything under the namespace, with its own connections (works after a crash). */
  destroy(ns: string): Promise<void>;
}
