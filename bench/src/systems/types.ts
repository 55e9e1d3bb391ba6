// The one interface every benchmarked system is driven through, so each scenario runs the
// same code path for Baton (any backend) and for the peers.
import type { Payload } from '../payload.js';

export type Family = 'memory' | 'sqlite' | 'redis' | 'postgres' | 'production' | 'nats';
export type ScenarioId = 1 | 2 | 3 | 4 | 5 | 6 | 7;

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
}

/** One system bound to one isolated namespace (prefix / schema / file / queue name). */
export interface Instance {
  enqueue(payload: Payload): Promise<void>;
  enqueueBatch(payloads: Payload[]): Promise<void>;
  /** Starts this process's worker; `onCompleted` gets the job id once the system reports it completed. */
  startWorker(handler: JobHandler, onCompleted: (jobId: string) => void): Promise<void>;
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
