// Every lifecycle event goes to in-process listeners at once and to the EventLog in batches,
// so auditing costs one append per batch of tasks rather than one round trip per event.
import type { Clock } from './clock.js';
import type { JsonObject } from './json.js';
import type { Logger } from './logger.js';
import { randomBytes } from 'node:crypto';
import type { EventLog, EventType, NewEvent } from './ports/event-log.js';
import type { WriteOptions } from './ports/backend.js';

export type EventListener = (event: NewEvent) => void;

export interface EventFields {
  taskId?: string | null;
  runId?: string | null;
  phaseId?: string | null;
  workerId?: string | null;
  data?: JsonObject;
}

/** Most events held in memory while the EventLog is unreachable; older ones are dropped with an error log. */
const MAX_BUFFERED = 100_000;

// Event ids: a random per-process prefix and a counter. Unique across processes like a UUID, at
// a fraction of the cost on the hot path (two events per task).
const ID_PREFIX = randomBytes(9).toString('base64url');
let idCounter = 0;
function eventId(): string {
  return `${ID_PREFIX}${(idCounter++).toString(36)}`;
}
const MAX_BATCH = 1_000;

export class EventPublisher {
  private readonly listeners = new Map<EventType | '*', Set<EventListener>>();
  private buffer: NewEvent[] = [];
  private flushing: Promise<void> | null = null;
  private scheduled = false;
  private failures = 0;

  constructor(
    private readonly log: EventLog,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly workerId: string,
  ) {}

  /** Subscribes to one event type, or to all with '*'. Returns the unsubscribe function. */
  on(type: EventType | '*', listener: EventListener): () => void {
    let set = this.listeners.get(type);
    if (!set) this.listeners.set(type, (set = new Set()));
    set.add(listener);
    return () => set.delete(listener);
  }

  make(type: EventType, fields: EventFields = {}): NewEvent {
    return {
      id: eventId(),
      type,
      at: this.clock.now(),
      runId: fields.runId ?? null,
      phaseId: fields.phaseId ?? null,
      taskId: fields.taskId ?? null,
      workerId: fields.workerId === undefined ? this.workerId : fields.workerId,
      data: fields.data ?? {},
    };
  }

  /** Notifies listeners now and persists in the next batch. */
  emit(type: EventType, fields?: EventFields): void {
    this.publish([this.make(type, fields)]);
  }

  publish(events: NewEvent[]): void {
    for (const e of events) this.notify(e);
    for (const e of events) this.buffer.push(e);
    if (this.buffer.length > MAX_BUFFERED) {
      const dropped = this.buffer.splice(0, this.buffer.length - MAX_BUFFERED);
      this.logger.error({ dropped: dropped.length }, 'event log unreachable for too long; oldest buffered events dropped');
    }
    this.schedule();
  }

  /** Notifies listeners only: the events were already written by the backend. */
  notifyAll(events: NewEvent[]): void {
    for (const e of events) this.notify(e);
  }

  /** Appends inside the caller's transaction (transactional enqueue), then notifies. */
  async appendNow(events: NewEvent[], options: WriteOptions): Promise<void> {
    await this.log.append(events, options);
    for (const e of events) this.notify(e);
  }

  /** Resolves once everything emitted so far is in the EventLog (or failed after retries). */
  async flush(): Promise<void> {
    while (this.buffer.length > 0 || this.flushing) {
      if (this.flushing) await this.flushing;
      else await this.drainOnce();
      if (this.failures > 0) return;
    }
  }

  private notify(event: NewEvent): void {
    for (const key of [event.type, '*'] as const) {
      const set = this.listeners.get(key);
      if (!set) continue;
      for (const listener of set) {
        try {
          listener(event);
        } catch (err) {
          this.logger.error({ err, eventType: event.type }, 'event listener threw');
        }
      }
    }
  }

  private schedule(): void {
    if (this.scheduled || this.flushing) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.drainOnce();
    });
  }

  private drainOnce(): Promise<void> {
    if (this.flushing || this.buffer.length === 0) return this.flushing ?? Promise.resolve();
    const batch = this.buffer.splice(0, MAX_BATCH);
    this.flushing = this.log
      .append(batch)
      .then(
        () => {
          this.failures = 0;
        },
        (err: unknown) => {
          this.failures++;
          this.buffer.unshift(...batch);
          this.logger.warn({ err, events: batch.length, failures: this.failures }, 'event append failed; will retry');
        },
      )
      .finally(() => {
        this.flushing = null;
        if (this.buffer.length > 0) {
          if (this.failures === 0) this.schedule();
          else {
            const delay = Math.min(5_000, 100 * 2 ** Math.min(this.failures, 6));
            setTimeout(() => this.schedule(), delay).unref?.();
          }
        }
      });
    return this.flushing;
  }
}
