import type { WriteOptions } from './write-options.js';

export interface QueueItem {
  taskId: string;
  /** The named queue; claims take only from the queues they list. */
  queue: string;
  /**
   * Higher first within the queue; FIFO within one priority by readiness (the enqueue or release
   * time plus its delay), then enqueue order.
   */
  priority: number;
  /** Counted against its queue's `groupConcurrency` (per queue); null: no group. */
  group: string | null;
  /** Not deliverable before this many ms from now (backend clock). */
  delayMs?: number;
}

export interface LeaseRef {
  taskId: string;
  leaseId: string;
}

export type Delivery = LeaseRef;

/** Already normalised by core. */
export interface ClaimOptions {
  /** The queues to take from (non-empty, de-duplicated). */
  queues: readonly string[];
  /** Most deliveries to take. */
  limit: number;
  /** Lease length; the delivery comes back to the queue via reclaimExpired if not extended or acked by then. */
  leaseMs: number;
  /** When nothing is claimable, wait up to this long for work before returning empty. 0: do not wait. */
  waitMs: number;
  /** Aborting ends the wait early with whatever was claimed (usually nothing). */
  signal?: AbortSignal;
}

export interface QueueDepth {
  /** Deliverable now (paused queues included). */
  ready: number;
  /** Claimed, lease live or expired but not yet reclaimed. */
  leased: number;
  /** Leased deliveries whose lease has passed: their holder stopped heartbeating. */
  expired: number;
  /** Waiting for their delay to pass. */
  delayed: number;
}

export interface RateLimit {
  /** Claims allowed per window (the bucket's size)… */
  max: number;
  /** …refilled evenly over this many ms. */
  perMs: number;
}

/** Fleet-wide settings of one queue, enforced by the backend at claim time. */
export interface QueueSettings {
  /** A paused queue hands out nothing; running tasks finish. */
  paused: boolean;
  /** Most deliveries of the queue leased at once across all workers; null: no cap. */
  concurrency: number | null;
  /** A token bucket on the backend's clock, full when first set; null: no limit. A waiting claim need not wake for a refill. */
  rateLimit: RateLimit | null;
  /** Most leased deliveries of one group in this queue at once; null: no cap. Deliveries without a group are not capped. */
  groupConcurrency: number | null;
}

export const DEFAULT_QUEUE_SETTINGS: QueueSettings = Object.freeze({ paused: false, concurrency: null, rateLimit: null, groupConcurrency: null });

export interface QueueInfo extends QueueSettings {
  name: string;
  depth: QueueDepth;
}

/**
 * Deliveries of task ids with leases, in named queues. At-least-once: a delivery leaves the queue
 * only by `ack` or `remove`. A task has at most one live delivery at a time. A delivery the
 * store cannot decode is never handed out and never stops the others: it is moved out of the
 * ready set (and, on backends with `atomicEvents`, reported as a `record.quarantined` event).
 */
export interface Queue {
  /** Makes each task deliverable in its queue (after its delay). A task that already has a live delivery is left as it is. */
  enqueue(items: QueueItem[], options?: WriteOptions): Promise<void>;
  /**
   * Takes up to `limit` ready deliveries from the listed queues — highest priority first, then
   * oldest readiness, then enqueue order — each under a fresh unique leaseId; never gives one
   * delivery to two claimers, and returns them in that order. Skips paused queues and stays within
   * each queue's concurrency, rate limit and group caps, counted across every claimer of the
   * backend. A leased delivery is never claimed again until `reclaimExpired` (or release) returns
   * it, even after its lease passed: until then its holder's ack, extend and release still apply.
   */
  claim(options: ClaimOptions): Promise<Delivery[]>;
  /** Removes each delivery whose lease is still `leaseId` (its concurrency slot is free again); returns per ref whether it did. */
  ack(refs: LeaseRef[]): Promise<boolean[]>;
  /** Puts each delivery still leased under `leaseId` back as ready (after `delayMs`), lease and slot freed. */
  release(refs: (LeaseRef & { delayMs?: number })[]): Promise<boolean[]>;
  /** Pushes each lease still held under `leaseId` to now + leaseMs (backend clock); false where it moved on. */
  extend(refs: LeaseRef[], leaseMs: number): Promise<boolean[]>;
  /**
   * Returns deliveries whose lease expired (backend clock) to ready, freeing their slots, and
   * reports the expired leases. A lease is reported by at least one pass; one that a pass removed
   * is never lost if that pass then fails.
   */
  reclaimExpired(limit: number): Promise<LeaseRef[]>;
  /** Drops the tasks' deliveries whatever their lease (cancellation). Returns how many were dropped. */
  remove(taskIds: string[]): Promise<number>;
  /** Totals over every queue. */
  depth(): Promise<QueueDepth>;
  /** Every queue that has deliveries or non-default settings, with its settings and depth (others may be left out). */
  queues(): Promise<QueueInfo[]>;
  /** Changes the given settings of a queue (durably, for every worker) and returns all of them. */
  configure(queue: string, settings: Partial<QueueSettings>): Promise<QueueSettings>;
}
