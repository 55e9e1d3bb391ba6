// Writes how runs ended in batches: one fused finish-and-settle per batch (or its composition
// from the ports), however many tasks ended in the same turn of the event loop. A batch that
// cannot be written is retried with backoff until it is: completions are never dropped.
import type { Clock } from './clock.js';
import { sleep } from './clock.js';
import type { Logger } from './logger.js';
import type { NewEvent } from './ports/event-log.js';
import type { SettleItem, TaskFlow } from './ports/task-flow.js';
import type { EventPublisher } from './event-publisher.js';

/**
 * An outcome to write, handed to the flow as its SettleItem (no copy on the hot path). Every field
 * the settler sets on it (`outcome.events`) is best present from the start: a field added later
 * costs each object a property store of its own.
 */
export interface Settlement extends SettleItem {
  /** ack for an outcome that ends the delivery, release for one that hands the task back ('pending'). */
  queue: 'ack' | 'release';
  /** Delete the task's checkpoint once the outcome is applied. */
  deleteCheckpoint: boolean;
  /** The audit record of the outcome: written with it on atomic backends, after it elsewhere; published once applied. */
  events: NewEvent[];
}

interface Entry {
  item: SettleItem;
  events: NewEvent[];
  /** Told whether the outcome was applied: `then(target, applied)`. */
  target: unknown;
  then: (target: unknown, applied: boolean) => void;
}

const resolveWith = (resolve: (applied: boolean) => void, applied: boolean): void => resolve(applied);

const MAX_BATCH = 500;
/**
 * Batches written at once. Two keep the backend busy while the process prepares the next batch
 * (and claims), instead of each side idling through the other's round trip.
 */
const MAX_IN_FLIGHT = 2;

export class Settler {
  private queue: Entry[] = [];
  private inFlight = 0;
  private scheduled = false;
  private stopped = false;
  /** Woken whenever a batch finished writing (drain waits on it). */
  private waiters: (() => void)[] = [];

  constructor(
    private readonly flow: TaskFlow,
    private readonly events: EventPublisher,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly onFinished: (n: number) => void = () => undefined,
  ) {}

  /** Resolves with whether the outcome was applied (false: the lease had moved on). */
  settle(s: Settlement): Promise<boolean> {
    return new Promise<boolean>((resolve) => this.settleThen(s, resolve, resolveWith));
  }

  /**
   * `settle` without a promise: calls `then(target, applied)` once the outcome's batch is written.
   * For the path every task takes, where a promise and its await per task are garbage.
   */
  settleThen<T>(s: Settlement, target: T, then: (target: T, applied: boolean) => void): void {
    const events = this.events.forWrite(s.events);
    if (events !== undefined) s.outcome.events = events;
    this.queue.push({ item: s, events: s.events, target, then: then as (target: unknown, applied: boolean) => void });
    // Everything that ends in this turn of the event loop goes in one batch.
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.scheduledKick);
    }
  }

  private readonly scheduledKick = (): void => {
    this.scheduled = false;
    this.kick();
  };

  /** Waits until every settlement handed in so far is written. */
  async drain(): Promise<void> {
    while (this.queue.length > 0 || this.inFlight > 0) {
      this.kick();
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  /** Abandons retries of unwritten batches (backend gone for good at close). */
  stop(): void {
    this.stopped = true;
  }

  private kick(): void {
    while (this.inFlight < MAX_IN_FLIGHT && this.queue.length > 0) {
      this.inFlight++;
      void this.write(this.queue.splice(0, MAX_BATCH))
        .catch((err: unknown) => this.logger.error({ err }, 'settling a batch failed after its write'))
        .finally(() => {
          this.inFlight--;
          this.kick();
          for (const wake of this.waiters.splice(0)) wake();
        });
    }
  }

  private async write(batch: Entry[]): Promise<void> {
    const items = batch.map((e) => e.item);
    let applied: boolean[] | undefined;
    for (let failures = 1; applied === undefined; failures++) {
      try {
        applied = await this.flow.finishAndSettle(items);
      } catch (err) {
        this.logger.error({ err, tasks: batch.length, failures }, 'writing task outcomes failed; retrying');
        if (this.stopped) break;
        await sleep(this.clock, Math.min(5_000, 50 * 2 ** Math.min(failures, 7)));
      }
    }
    batch.forEach((e, i) => {
      const ok = applied?.[i] ?? false;
      if (ok) this.events.written(e.events);
      try {
        e.then(e.target, ok);
      } catch (err) {
        // One caller's continuation must not keep the rest of the batch from hearing of theirs.
        this.logger.error({ err }, 'a settled outcome\'s continuation threw');
      }
    });
    this.onFinished(batch.length);
  }
}
