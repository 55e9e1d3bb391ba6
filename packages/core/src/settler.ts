// Writes how runs ended in batches: one fused finish-and-settle per batch (or its composition
// from the ports), however many tasks ended in the same turn of the event loop. A batch that
// cannot be written is retried with backoff until it is: completions are never dropped.
import type { Clock } from './clock.js';
import { sleep } from './clock.js';
import type { Logger } from './logger.js';
import type { NewEvent } from './ports/event-log.js';
import type { SettleItem, TaskFlow } from './ports/task-flow.js';
import type { TaskOutcome } from './ports/task-store.js';
import type { EventPublisher } from './event-publisher.js';

/** An outcome to write; becomes the SettleItem handed to the flow (no copy on the hot path). */
export interface Settlement {
  outcome: TaskOutcome;
  /** Delete the task's checkpoint once the outcome is applied. */
  deleteCheckpoint: boolean;
  /** For 'pending' outcomes: how long before the released delivery is claimable again. */
  releaseDelayMs?: number;
  /** Published once the outcome is applied (and written with it by flows that append events). */
  events: NewEvent[];
}

interface Entry {
  item: SettleItem & { events: NewEvent[] };
  resolve: (applied: boolean) => void;
}

const MAX_BATCH = 500;

export class Settler {
  private queue: Entry[] = [];
  private running: Promise<void> | null = null;
  private scheduled = false;
  private stopped = false;

  constructor(
    private readonly flow: TaskFlow,
    private readonly events: EventPublisher,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly onFinished: (n: number) => void = () => undefined,
  ) {}

  /** Resolves with whether the outcome was applied (false: the lease had moved on). */
  settle(s: Settlement): Promise<boolean> {
    const item = s as Settlement & SettleItem;
    item.queue = s.outcome.state === 'pending' ? 'release' : 'ack';
    return new Promise<boolean>((resolve) => {
      this.queue.push({ item, resolve });
      if (!this.scheduled && !this.running) {
        this.scheduled = true;
        setImmediate(() => {
          this.scheduled = false;
          this.kick();
        });
      }
    });
  }

  /** Waits until every settlement handed in so far is written. */
  async drain(): Promise<void> {
    while (this.queue.length > 0 || this.running) {
      if (!this.running) this.kick();
      await this.running;
    }
  }

  /** Abandons retries of unwritten batches (backend gone for good at close). */
  stop(): void {
    this.stopped = true;
  }

  private kick(): void {
    if (this.running || this.queue.length === 0) return;
    this.running = this.loop().finally(() => {
      this.running = null;
      if (this.queue.length > 0) this.kick();
    });
  }

  private async loop(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, MAX_BATCH);
      const inline = this.flow.appendsEvents === true;
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
      this.onFinished(batch.length);
      batch.forEach((e, i) => {
        const ok = applied?.[i] ?? false;
        if (ok) {
          if (inline) this.events.notifyAll(e.item.events);
          else this.events.publish(e.item.events);
        }
        e.resolve(ok);
      });
    }
  }
}
