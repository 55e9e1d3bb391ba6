import type { WriteOptions } from './backend.js';
import type { ClaimOptions, Delivery } from './queue.js';
import type { CreateResult, NewTask, StartResult, TaskOutcome } from './task-store.js';
import type { NewEvent } from './event-log.js';

export interface ClaimedStart {
  delivery: Delivery;
  start: StartResult;
}

/** An outcome plus what happens to the task's delivery and checkpoint once it is applied. */
export interface SettleItem {
  outcome: TaskOutcome;
  /** ack: remove the delivery; release: make it deliverable again after `releaseDelayMs`; none: leave it. */
  queue: 'ack' | 'release' | 'none';
  releaseDelayMs?: number;
  /** Delete the task's checkpoint when the outcome was applied. */
  deleteCheckpoint?: boolean;
  /** Only for flows with `appendsEvents`: appended to the EventLog in the same step when the outcome was applied. */
  events?: NewEvent[];
}

/**
 * Operations spanning ports that a backend owning the queue, tasks and checkpoints can do in one
 * round trip (one script, statement or transaction). Optional: when a backend has none, or ports
 * are mixed across backends, core composes the same operations from the single ports. Each must
 * mean exactly what the composition means.
 */
export interface TaskFlow {
  /**
   * True when finishAndSettle and createAndEnqueue also append the given events in the same step
   * (the backend owns the EventLog too): a write and its audit record then land together.
   */
  readonly appendsEvents?: boolean;
  /**
   * tasks.create, then queue.enqueue of the tasks it created (not duplicates), as one step; `delaysMs[i]`
   * delays task i. With `appendsEvents`, `events[i]` (when given) is appended iff task i was created.
   */
  createAndEnqueue(
    tasks: NewTask[],
    delaysMs: readonly (number | undefined)[],
    options?: WriteOptions,
    events?: readonly (NewEvent | undefined)[],
  ): Promise<CreateResult[]>;
  /** queue.claim (waiting as claim does), then tasks.start of each delivery claimed under its leaseId. */
  claimAndStart(options: ClaimOptions, workerId: string): Promise<ClaimedStart[]>;
  /** tasks.finish, then for each applied outcome its queue action and checkpoint delete. Returns per item whether it was applied. */
  finishAndSettle(items: SettleItem[]): Promise<boolean[]>;
}
