// EventLog on the `events` stream: one message per event, seq = stream sequence. The subject
// `<prefix>.ev.<type>.<run>.<phase>.<task>` lets the server filter queries on one type / run /
// phase / task without shipping other events; several types, and `since`, are filtered here.
import { parseJson, type EventLog, type EventQuery, type EventType, type NewEvent, type StoredEvent } from '@baton/core';
import { encodeToken } from './nats-names.js';
import type { NatsRuntime } from './nats-runtime.js';
import { scanStream, type ScanStart } from './nats-scan.js';

const NONE = '!';
/** Server store times and the engine's `at` may differ a little; start time-based reads this much earlier. */
const SINCE_SLACK_MS = 60_000;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

function token(value: string | null): string {
  return value === null ? NONE : encodeToken(value);
}

function typeToken(type: EventType): string {
  return type.replaceAll('.', '-');
}

export class NatsEventLog implements EventLog {
  /** Appends from this process go out one call at a time, so a call's events stay contiguous. */
  private tail: Promise<unknown> = Promise.resolve();

  constructor(private readonly rt: NatsRuntime) {}

  async append(events: NewEvent[]): Promise<void> {
    if (events.length === 0) return;
    const run = this.tail.then(() =>
      this.rt.run('append events', async (c) => {
        const pre = c.names.eventSubjectPrefix;
        // Publishes on one connection are stored in the order sent; msgID makes a retry idempotent.
        await Promise.all(
          events.map((e) =>
            c.js.publish(`${pre}.${typeToken(e.type)}.${token(e.runId)}.${token(e.phaseId)}.${token(e.taskId)}`, encoder.encode(JSON.stringify(e)), { msgID: e.id }),
          ),
        );
      }),
    );
    this.tail = run.catch(() => undefined);
    await run;
  }

  async query(query: EventQuery): Promise<StoredEvent[]> {
    return this.rt.run('query events', async (c) => {
      const limit = Math.min(1000, Math.max(1, Math.floor(query.limit ?? 100)));
      const types = query.type === undefined ? null : new Set(Array.isArray(query.type) ? query.type : [query.type]);
      if (types && types.size === 0) return [];
      const one = types && types.size === 1 ? typeToken([...types][0] as EventType) : '*';
      const filter = [
        c.names.eventSubjectPrefix,
        one,
        query.runId === undefined ? '*' : token(query.runId),
        query.phaseId === undefined ? '*' : token(query.phaseId),
        query.taskId === undefined ? '*' : token(query.taskId),
      ].join('.');
      let start: ScanStart = { policy: 'all' };
      if (query.after !== undefined) start = { policy: 'by_start_sequence', seq: Math.floor(query.after) + 1 };
      else if (query.since !== undefined) start = { policy: 'by_start_time', time: query.since - SINCE_SLACK_MS };
      const out: StoredEvent[] = [];
      await scanStream(c, c.names.eventStream, {
        filter,
        start,
        onMessage: (m) => {
          if (query.after !== undefined && m.seq <= query.after) return;
          const e = parseJson<NewEvent>(decoder.decode(m.data));
          if (types && !types.has(e.type)) return;
          if (query.since !== undefined && e.at < query.since) return;
          out.push({ ...e, seq: m.seq });
          return out.length < limit;
        },
      });
      return out;
    });
  }

  async purge(options: { olderThanMs: number; keepLatest: number; limit: number }): Promise<number> {
    return this.rt.run('purge events', async (c) => {
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
        filter: `${c.names.eventSubjectPrefix}.>`,
        start: { policy: 'all' },
        onMessage: (m) => {
          if (m.seq >= keepFrom && parseJson<NewEvent>(decoder.decode(m.data)).at >= threshold) return false;
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
}
