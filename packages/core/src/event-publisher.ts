// Lifecycle events reach in-process listeners at once and the EventLog durably. An event that
// records a task write rides with that write on backends with `atomicEvents` (it lands iff the
// write lands, so a crash cannot separate them); elsewhere, and for events that record no write
// (worker, pool, breaker, timer), they are appended here in batches, retried until they land and
// never dropped.
import type { Clock } from './clock.js';
import type { JsonObject } from './json.js';
import type { Logger } from './logger.js';
import { randomBytes } from 'node:crypto';
import type { EventLog, EventType, NewEvent } from './ports/event-log.js';
import type { WriteOptions } from './ports/write-options.js';

export type EventListener = (event: NewEvent) => void;

export interface EventFields {
  taskId?: string | null;
  runId?: string | null;
  phaseId?: string | null;
  workerId?: string | null;
  data?: JsonObject;
}

// Event ids: a random per-process prefix and a counter. Unique across processes like a UUID, at
// a fraction of the cost on the hot path (several events per task).
const ID_PREFIX = randomBytes(9).toString('base64url');
let idCounter = 0;
export function eventId(): string {
  return `${ID_PREFIX}${(idCounter++).toString(36)}`;
}
const MAX_BATCH = 1_000;

export class EventPublisher {
  private readonly listeners = new Map<EventType | '*', Set<EventListener>>();
  private buffer: NewEvent[] = [];
  private flushing: Promise<void> | null = null;
  private scheduled = false;
  private failures = 0;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly log: EventLog,
    /** The backend appends events handed to its writes (capabilities.atomicEvents). */
    readonly atomic: boolean,
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

  /** Whether a listener hears events of this type (its own or '*'). */
  listens(type: EventType): boolean {
    return (this.listeners.get(type)?.size ?? 0) > 0 || (this.listeners.get('*')?.size ?? 0) > 0;
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

  /** What to hand a port write: the events themselves on atomic backends, nothing elsewhere. */
  forWrite(events: NewEvent[] | undefined): NewEvent[] | undefined {
    return this.atomic ? events : undefined;
  }

  /** The write these events record has applied: notify, and append them unless the write already did. */
  written(events: readonly NewEvent[]): void {
    if (events.length === 0) return;
    for (const e of events) this.notify(e);
    if (!this.atomic) this.enqueue(events);
  }

  /** Notifies listeners only: a store wrote these events itself (e.g. `task.started` on a claim). */
  notifyAll(events: readonly NewEvent[]): void {
    for (const e of events) this.notify(e);
  }

  /** An event that records no task write (worker, pool, breaker, timer): notified now, appended durably. */
  emit(type: EventType, fields?: EventFields): NewEvent {
    const e = this.make(type, fields);
    this.notify(e);
    this.enqueue([e]);
    return e;
  }

  /** Appends inside the caller's transaction (transactional enqueue), then notifies. */
  async appendNow(events: NewEvent[], options: WriteOptions): Promise<void> {
    await this.log.append(events, options);
    for (const e of events) this.notify(e);
  }

  /** Events not yet in the EventLog (backend unreachable, or not flushed yet). */
  get pending(): number {
    return this.buffer.length;
  }

  /** Resolves once everything handed in so far is in the EventLog, or when `signal` aborts (then some may still be pending). */
  async flush(signal?: AbortSignal): Promise<void> {
    while ((this.buffer.length > 0 || this.flushing) && !signal?.aborted) {
      if (this.flushing) await this.flushing;
      else await this.drainOnce();
      if (this.failures > 0 && this.buffer.length > 0) {
        // Wait out the backoff (or the abort) before trying again.
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, this.backoffMs());
          signal?.addEventListener('abort', () => {
            clearTimeout(t);
            resolve();
          }, { once: true });
        });
      }
    }
  }

  /** Stops retrying in the background (the baton is closing); what is left is reported by the caller. */
  stop(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
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

  private enqueue(events: readonly NewEvent[]): void {
    for (const e of events) this.buffer.push(e);
    this.schedule();
  }

  private backoffMs(): number {
    return Math.min(5_000, 100 * 2 ** Math.min(this.failures, 6));
  }

  private schedule(): void {
    if (this.scheduled || this.flushing || this.retryTimer) return;
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
          this.logger.warn({ err, events: batch.length, pending: this.buffer.length, failures: this.failures }, 'event append failed; will retry (nothing is dropped)');
        },
      )
      .finally(() => {
        this.flushing = null;
        if (this.buffer.length === 0) return;
        if (this.failures === 0) this.schedule();
        else {
          this.retryTimer = setTimeout(() => {
            this.retryTimer = null;
            this.schedule();
          }, this.backoffMs());
          this.retryTimer.unref?.();
        }
      });
    return this.flushing;
  }
}
