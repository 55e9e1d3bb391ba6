// Events written with a task write (`atomicEvents`) on a server without multi-message atomic
// publish. The events ride in the same compare-and-set as the record change — the record's
// outbox (`ob`) — so they exist iff the change applied. Right after the write they are published
// to the event stream with their id as message id; nothing clears the outbox then (that would cost
// a write per change). Instead, whoever next writes the record checks the outbox it finds: events
// this process saw land are dropped, the others are carried into its own write's outbox and made
// sure of before its own events go out. Making sure is one direct get of the task's newest event
// (usually the outbox's last: nothing to do), a republish deduplicated by the server inside the
// duplicate window, or, past it, a read of the task's events since the outbox was written. So an
// event is never lost (a SIGKILL between write and publish leaves it in the record, and the
// lease left behind brings a reclaim that replays it) and never appended twice.
import type { NewEvent } from '@baton/core/adapter';
import { decodeEvent, publishEvent, taskEventsFilter } from './nats-event-subjects.js';
import type { NatsContext } from './nats-runtime.js';
import { scanStream } from './nats-scan.js';

/** Event ids remembered as landed, per process. */
const LANDED_MAX = 50_000;
/** A republish this close to the end of the duplicate window is not trusted to be deduplicated. */
const WINDOW_MARGIN_MS = 15_000;
/** The read of a task's events starts this long before its outbox was written (clock skew between hosts). */
const SCAN_SLACK_MS = 60_000;
const RETRIES = 8;

export class Outbox {
  private readonly landed = new Set<string>();
  /** The last publish of each task's events from this process: the next one waits for it, so a task's events keep their order. */
  private readonly inflight = new Map<string, Promise<boolean>>();

  /** The events of an outbox this process cannot vouch for (yet: some may still be on their way). */
  unconfirmed(events: readonly NewEvent[]): NewEvent[] {
    return events.length === 0 ? [] : events.filter((e) => !this.landed.has(e.id));
  }

  /**
   * Appends the events of a write that just applied: first `carried` (an earlier write's events
   * this process could not vouch for, written at `carriedAt`), then the write's own, in order and
   * after any earlier publish of the task from this process. Resolves false when some did not
   * land: they stay in the record's outbox, are retried here in the background, and are replayed
   * by the task's next writer.
   */
  flush(c: NatsContext, taskId: string, carried: readonly NewEvent[], carriedAt: number, own: readonly NewEvent[]): Promise<boolean> {
    if (carried.length === 0 && own.length === 0) return Promise.resolve(true);
    return this.chain(taskId, async () => {
      try {
        await this.ensureNow(c, taskId, carried, carriedAt);
        if (own.length > 0) await this.publish(c, own);
        return true;
      } catch (err) {
        c.logger.warn({ err, taskId, events: own.length + carried.length }, 'NATS: events written with a task change did not reach the event stream yet; retrying (they are kept in the task record meanwhile)');
        this.retryLater(c, taskId, [...carried, ...own], Math.min(carriedAt || c.clock.now(), c.clock.now()));
        return false;
      }
    });
  }

  /** Makes sure an outbox found on a record (written at `writtenAt`) is in the log, without appending any event twice. */
  async ensure(c: NatsContext, taskId: string, events: readonly NewEvent[], writtenAt: number): Promise<void> {
    if (events.length === 0) return;
    let failure: unknown;
    await this.chain(taskId, async () => {
      try {
        await this.ensureNow(c, taskId, events, writtenAt);
        return true;
      } catch (err) {
        failure = err;
        return false;
      }
    });
    if (failure !== undefined) throw failure;
  }

  /** Runs `fn` after the task's earlier publish from this process. */
  private chain(taskId: string, fn: () => Promise<boolean>): Promise<boolean> {
    const prev = this.inflight.get(taskId);
    const run = prev === undefined ? fn() : prev.then(fn, fn);
    this.inflight.set(taskId, run);
    void run.finally(() => {
      if (this.inflight.get(taskId) === run) this.inflight.delete(taskId);
    });
    return run;
  }

  private async ensureNow(c: NatsContext, taskId: string, events: readonly NewEvent[], writtenAt: number): Promise<void> {
    // Checked only now: an earlier publish of this process may have landed them meanwhile.
    const open = this.unconfirmed(events);
    if (open.length === 0) return;
    const missing = await this.missing(c, taskId, open, writtenAt);
    await this.publish(c, missing);
    for (const e of open) this.remember(e.id);
  }

  private async publish(c: NatsContext, events: readonly NewEvent[]): Promise<void> {
    // Pipelined on one connection: stored in the order sent.
    await Promise.all(events.map((e) => publishEvent(c, e)));
    for (const e of events) this.remember(e.id);
  }

  /** Which of `events` are not in the log yet (a superset is fine inside the duplicate window). */
  private async missing(c: NatsContext, taskId: string, events: NewEvent[], writtenAt: number): Promise<NewEvent[]> {
    const last = await c.jsm.direct.getMessage(c.names.eventStream, { last_by_subj: taskEventsFilter(c.names, taskId) });
    if (last) {
      const d = decodeEvent(last.data);
      const at = d.ok ? events.findIndex((e) => e.id === d.value.id) : -1;
      // The newest event of the task is one of these: it and the ones before it landed.
      if (at >= 0) return events.slice(at + 1);
    }
    if (c.clock.now() - writtenAt < c.duplicateWindowMs - WINDOW_MARGIN_MS) return events;
    const seen = new Set<string>();
    await scanStream(c, c.names.eventStream, {
      filter: taskEventsFilter(c.names, taskId),
      start: { policy: 'by_start_time', time: writtenAt - SCAN_SLACK_MS },
      onMessage: (m) => {
        const d = decodeEvent(m.data);
        if (d.ok) seen.add(d.value.id);
      },
    });
    return events.filter((e) => !seen.has(e.id));
  }

  private retryLater(c: NatsContext, taskId: string, events: readonly NewEvent[], writtenAt: number, attempt = 0): void {
    if (attempt >= RETRIES) {
      c.logger.error({ taskId, events: events.map((e) => e.id) }, 'NATS: could not publish events of a task change; they stay in the task record and its next writer publishes them');
      return;
    }
    const timer = setTimeout(
      () => {
        this.ensureNow(c, taskId, events, writtenAt).catch(() => this.retryLater(c, taskId, events, writtenAt, attempt + 1));
      },
      Math.min(30_000, 250 * 2 ** attempt),
    );
    timer.unref();
  }

  private remember(id: string): void {
    this.landed.add(id);
    if (this.landed.size > LANDED_MAX) {
      // Oldest first (insertion order); forgetting one only costs a verification later.
      let n = this.landed.size - LANDED_MAX + 1_000;
      for (const old of this.landed) {
        if (n-- <= 0) break;
        this.landed.delete(old);
      }
    }
  }
}
