import type { WriteOptions } from './backend.js';

export interface QueueItem {
  taskId: string;
  /** Not deliverable before this many ms from now (backend clock). */
  delayMs?: number;
}

export interface LeaseRef {
  taskId: string;
  leaseId: string;
}

export type Delivery = LeaseRef;

export interface ClaimOptions {
  /** Most deliveries to take. */
  limit: number;
  /** Lease length; the delivery comes back to the queue via reclaimExpired if not extended or acked by then. */
  leaseMs: number;
  /** When nothing is ready, wait up to this long for work before returning empty. 0: do not wait. */
  waitMs: number;
  /** Aborting ends the wait early with whatever was claimed (usually nothing). */
  signal?: AbortSignal;
}

export interface QueueDepth {
  /** Deliverable now. */
  ready: number;
  /** Claimed, lease live or expired but not yet reclaimed. */
  leased: number;
  /** Waiting for their delay to pass. */
  delayed: number;
}

/**
 * Deliveries of task ids with leases. At-least-once: a delivery leaves the queue only by `ack`
 * or `remove`. A task has at most one live delivery at a time.
 */
export interface Queue {
  /** Makes each task deliverable (after its delay). A task that already has a live delivery is left as it is. */
  enqueue(items: QueueItem[], options?: WriteOptions): Promise<void>;
  /** Takes up to `limit` ready deliveries, oldest first, each under a fresh unique leaseId; never gives one delivery to two claimers. */
  claim(options: ClaimOptions): Promise<Delivery[]>;
  /** Removes each delivery whose lease is still `leaseId`; returns per ref whether it did. */
  ack(refs: LeaseRef[]): Promise<boolean[]>;
  /** Puts each delivery still leased under `leaseId` back as ready (after `delayMs`), lease cleared. */
  release(refs: (LeaseRef & { delayMs?: number })[]): Promise<boolean[]>;
  /** Pushes each lease still held under `leaseId` to now + leaseMs (backend clock); false where it moved on. */
  extend(refs: LeaseRef[], leaseMs: number): Promise<boolean[]>;
  /** Returns deliveries whose lease expired (backend clock) to ready and reports the expired leases. */
  reclaimExpired(limit: number): Promise<LeaseRef[]>;
  /** Drops the tasks' deliveries whatever their lease (cancellation). Returns how many were dropped. */
  remove(taskIds: string[]): Promise<number>;
  depth(): Promise<QueueDepth>;
}
