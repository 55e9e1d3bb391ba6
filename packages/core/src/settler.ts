// Writes how runs ended in batches: one finish, one ack (or release) and at most one
// checkpoint delete per batch, however many tasks ended in the same turn of the event loop.
// A batch that cannot be written is retried with backoff until it is: completions are never dropped.
import type { Clock } from './clock.js';
import { sleep } from './clock.js';
import type { Logger } from './logger.js';
import type { BackendPorts } from './ports/backend.js';
import type { NewEvent } from './ports/event-log.js';
import type { TaskOutcome } from './ports/task-store.js';
import type { EventPublisher } from './event-publisher.js';

export interface Settlement {
  outcome: TaskOutcome;
  /** Delete the task's checkpoint once the outcome is applied. */
  deleteCheckpoint: boolean;
  /** For 'pending' outcomes: how long before the released delivery is claimable again. */
  releaseDelayMs?: number;
  /** Published once the outcome is applied. */
  events: NewEvent[];
}

interface Entry {
  s: Settlement;
  resolve: (applied: boolean) => void;
}

const MAX_BATCH = 500;

export class Settler {
  private queue: Entry[] = [];
  private running: Promise<void> | null = null;
  private scheduled = false;
  private stopped = false;

  constructor(
    private readonly ports: Pick<BackendPorts, 'tasks' | 'queue' | 'checkpoints'>,
    private readonly events: EventPublisher,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {}

  /** Resolves with whether the outcome was applied (false: the lease had moved on). */
  settle(s: Settlement): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      this.queue.push({ s, resolve });
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
      const applied = await this.retry(batch.length, () => this.ports.tasks.finish(batch.map((e) => e.s.outcome)));
      if (!applied) {
        batch.forEach((e) => e.resolve(false));
        continue;
      }
      batch.forEach((e, i) => {
        if (applied[i]) this.events.publish(e.s.events);
        e.resolve(applied[i] ?? false);
      });
      // After finish, and retried on its own: a crash before it leaves a leased delivery for a
      // finished task, which the supervisor reclaims and the next claimer acks. The reverse
      // order could drop a delivery whose outcome was never written.
      await this.retry(batch.length, () => this.afterFinish(batch.map((e) => e.s), applied));
    }
  }

  /** Runs `op` until it succeeds; undefined only when stopped. */
  private async retry<T>(tasks: number, op: () => Promise<T>): Promise<T | undefined> {
    for (let failures = 1; ; failures++) {
      try {
        return await op();
      } catch (err) {
        this.logger.error({ err, tasks, failures }, 'writing task outcomes failed; retrying');
        if (this.stopped) return undefined;
        await sleep(this.clock, Math.min(5_000, 50 * 2 ** Math.min(failures, 7)));
      }
    }
  }

  private async afterFinish(batch: Settlement[], applied: boolean[]): Promise<void> {
    const acks: { taskId: string; leaseId: string }[] = [];
    const releases: { taskId: string; leaseId: string; delayMs?: number }[] = [];
    const deletes: string[] = [];
    batch.forEach((s, i) => {
      if (!applied[i]) return;
      const ref = { taskId: s.outcome.taskId, leaseId: s.outcome.leaseId };
      if (s.outcome.state === 'pending') releases.push({ ...ref, delayMs: s.releaseDelayMs ?? 0 });
      else acks.push(ref);
      if (s.deleteCheckpoint) deletes.push(ref.taskId);
    });
    await Promise.all([
      acks.length > 0 ? this.ports.queue.ack(acks) : undefined,
      releases.length > 0 ? this.ports.queue.release(releases) : undefined,
      deletes.length > 0 ? this.ports.checkpoints.delete(deletes) : undefined,
    ]);
  }
}
