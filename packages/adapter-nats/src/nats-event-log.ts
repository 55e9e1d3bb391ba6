// EventLog on a limits stream: one message per event, seq = stream sequence (strictly increasing in
// append order). Subjects (nats-event-subjects.ts) let the server filter queries on one type, run,
// phase or task; several types and `since` are filtered here. A row whose body cannot be decoded
// is returned in its place as `record.quarantined`, with the columns its subject still tells.
import { transitions, type EventLog, type EventPurgeOptions, type EventQuery, type NewEvent, type StoredEvent } from '@baton/core/adapter';
import { decodeText } from './nats-codec.js';
import { decodeEvent, eventColumns, eventFilter, publishEvent } from './nats-event-subjects.js';
import type { NatsContext, NatsRuntime } from './nats-runtime.js';
import { scanStream, type ScanStart, type ScannedMsg } from './nats-scan.js';

/** Server store times and the engine's `at` may differ a little; start time-based reads this much earlier. */
const SINCE_SLACK_MS = 60_000;

export class NatsEventLog implements EventLog {
  /** Appends from this process go out one call at a time, so a call's events stay contiguous. */
  private tail: Promise<unknown> = Promise.resolve();

  constructor(private readonly rt: NatsRuntime) {}

  async append(events: NewEvent[]): Promise<void> {
    if (events.length === 0) return;
    const run = this.tail.then(() =>
      this.rt.run('events.append', async (c) => {
        // Publishes on one connection are stored in the order sent; the id as msgID makes a retry idempotent.
        await Promise.all(events.map((e) => publishEvent(c, e)));
      }),
    );
    this.tail = run.catch(() => undefined);
    await run;
  }

  async query(query: EventQuery): Promise<StoredEvent[]> {
    return this.rt.run('events.query', async (c) => {
      const limit = Math.floor(query.limit);
      if (limit <= 0) return [];
      const types = query.type === undefined ? null : new Set(query.type);
      const one = types !== null && types.size === 1 ? [...types][0] : undefined;
      const filter = eventFilter(c.names, { taskId: query.taskId, type: one, runId: query.runId, phaseId: query.phaseId });
      let start: ScanStart = { policy: 'all' };
      if (query.after !== undefined) start = { policy: 'by_start_sequence', seq: Math.floor(query.after) + 1 };
      else if (query.since !== undefined) start = { policy: 'by_start_time', time: query.since - SINCE_SLACK_MS };
      const out: StoredEvent[] = [];
      await scanStream(c, c.names.eventStream, {
        filter,
        start,
        onMessage: (m) => {
          if (query.after !== undefined && m.seq <= query.after) return;
          const e = this.decode(c, m);
          // Filters match the stored columns: a quarantined row by the type its subject carries.
          const storedType = eventColumns(c.names, m.subject).type;
          if (types && (storedType === null || !types.has(storedType))) return;
          if (query.since !== undefined && e.at < query.since) return;
          out.push(e);
          return out.length < limit;
        },
      });
      return out;
    });
  }

  async purge(options: EventPurgeOptions): Promise<number> {
    return this.rt.run('events.purge', async (c) => {
      const si = await c.jsm.streams.info(c.names.eventStream);
      const { first_seq: first, last_seq: last, messages } = si.state;
      if (messages === 0 || options.limit <= 0) return 0;
      const keepFrom = Math.max(first, last - Math.max(0, options.keepLatest) + 1);
      const threshold = c.clock.now() - options.olderThanMs;
      // The log is in append order, which is time order: drop the leading run of events that are
      // beyond keepLatest or older than the threshold, in one purge below the first keeper.
      let cut = first;
      let seen = 0;
      await scanStream(c, c.names.eventStream, {
        filter: `${c.names.prefix}.ev.>`,
        start: { policy: 'all' },
        onMessage: (m) => {
          if (m.seq >= keepFrom && this.decode(c, m).at >= threshold) return false;
          cut = m.seq + 1;
          seen += 1;
          return seen < options.limit;
        },
      });
      if (cut <= first) return 0;
      const res = await c.jsm.streams.purge(c.names.eventStream, { seq: cut });
      return res.purged;
    });
  }

  /** The stored event, or a `record.quarantined` stand-in for a row that cannot be decoded. */
  private decode(c: NatsContext, m: ScannedMsg): StoredEvent {
    const d = decodeEvent(m.data);
    if (d.ok) return { ...d.value, seq: m.seq };
    const cols = eventColumns(c.names, m.subject);
    const q = transitions.quarantinedEvent('event', String(m.seq), d.reason, d.raw || decodeText(m.data), `quarantined-event-${m.seq}`, m.time);
    return { ...q, taskId: cols.taskId, runId: cols.runId, phaseId: cols.phaseId, seq: m.seq };
  }
}
