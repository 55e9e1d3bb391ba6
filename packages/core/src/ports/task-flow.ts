import type { ClaimOptions, Delivery, LeaseRef } from './queue.js';
import type { CreateResult, NewTask, StartResult, TaskOutcome } from './task-store.js';
import type { NewEvent } from './event-log.js';
import type { WriteOptions } from './write-options.js';

export interface ClaimedStart {
  delivery: Delivery;
  start: StartResult;
}

/** An outcome (with its events) plus what happens to the task's delivery and checkpoint once it is applied. */
export interface SettleItem {
  outcome: TaskOutcome;
  /** ack: remove the delivery; release: make it deliverable again after `releaseDelayMs`; none: leave it. */
  queue: 'ack' | 'release' | 'none';
  releaseDelayMs?: number;
  /** Delete the task's checkpoint when the outcome was applied. */
  deleteCheckpoint?: boolean;
}

/**
 * Operations spanning ports that a backend owning the queue, tasks and checkpoints can do in one
 * round trip (one script, statement or transaction). Optional: when a backend has none, or ports
 * are mixed across backends, core composes the same operations from the single ports. Each must
 * mean exactly what the composition (core's `composeFlow`) means, events included.
 */
export interface TaskFlow {
  /**
   * tasks.create, then queue.enqueue of the tasks it created (not duplicates), as one step; `delaysMs[i]`
   * delays task i. `events[i]` (when given) is appended iff task i was created.
   */
  createAndEnqueue(
    tasks: NewTask[],
    delaysMs: readonly (number | undefined)[],
    options?: WriteOptions,
    events?: readonly (NewEvent[] | undefined)[],
  ): Promise<CreateResult[]>;
  /**
   * queue.claim (waiting as claim does), then tasks.start of each delivery claimed under its
   * leaseId; with `startedEvents`, appends each started task's `task.started` event.
   */
  claimAndStart(options: ClaimOptions, workerId: string, startedEvents: boolean): Promise<ClaimedStart[]>;
  /** tasks.finish, then for each applied outcome its queue action and checkpoint delete. Returns per item whether it was applied. */
  finishAndSettle(items: SettleItem[]): Promise<boolean[]>;
  /** queue.extend, then tasks.heartbeat of the leases still held. Returns per ref whether the lease is still held. */
  heartbeat(refs: LeaseRef[], leaseMs: number): Promise<boolean[]>;
}
