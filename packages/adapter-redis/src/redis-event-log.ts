// EventLog on a capped Redis Stream. Each append call is ONE stream entry holding its events as a
// JSON array, with entry id <firstSeq>-0 and seqs from a counter: an event's seq is firstSeq + its
// index, an integer strictly increasing in append order, and the audit trail costs one XADD per
// batch rather than per event. Purging raises a floor (lowest visible seq) and trims entries below
// it. Queries page through entries from `after` and filter in the process: a filtered query costs a
// scan of the events after `after` (bounded by retention), not an index lookup.
import { parseJson, type EventLog, type EventQuery, type NewEvent, type StoredEvent } from '@baton/core';
import type { Keys } from './keys.js';
import type { RedisConnection } from './redis-connection.js';

/** Stream entries (append batches) read per round trip while querying. */
const PAGE = 20;

export class RedisEventLog implements EventLog {
  private readonly keys3: readonly string[];

  constructor(
    private readonly conn: RedisConnection,
    private readonly keys: Keys,
    private readonly maxLen: number,
  ) {
    this.keys3 = [keys.events, keys.eventSeq, keys.eventFloor];
  }

  async append(events: NewEvent[]): Promise<void> {
    if (events.length === 0) return;
    await this.conn.run('events-append', this.keys3, [this.maxLen, events.length, eventAts(events), JSON.stringify(events)]);
  }

  async query(query: EventQuery): Promise<StoredEvent[]> {
    const limit = Math.min(Math.max(query.limit ?? 100, 0), 1000);
    if (limit === 0) return [];
    const types = query.type === undefined ? null : new Set(Array.isArray(query.type) ? query.type : [query.type]);
    const after = query.after === undefined ? 0 : Math.max(0, Math.floor(query.after));
    const [fromSeq, startId] = (await this.conn.run('events-seek', [this.keys.events, this.keys.eventFloor], [after])) as [number, string | null];
    const out: StoredEvent[] = [];
    if (startId === null) return out;
    let from = startId;
    for (;;) {
      const page = (await this.conn.command('XRANGE', [this.keys.events, from, '+', 'COUNT', PAGE])) as [string, string[]][];
      for (const [id, fields] of page) {
        const json = fieldOf(fields, 'e');
        if (json === undefined) continue;
        const events = parseJson<NewEvent[]>(json);
        let seq = Number(id.slice(0, id.indexOf('-')));
        for (const e of events) {
          const s = seq++;
          if (s < fromSeq) continue;
          if (query.runId !== undefined && e.runId !== query.runId) continue;
          if (query.phaseId !== undefined && e.phaseId !== query.phaseId) continue;
          if (query.taskId !== undefined && e.taskId !== query.taskId) continue;
          if (types !== null && !types.has(e.type)) continue;
          if (query.since !== undefined && e.at < query.since) continue;
          out.push({ ...e, seq: s });
          if (out.length >= limit) return out;
        }
      }
      if (page.length < PAGE) return out;
      from = `(${page[page.length - 1]![0]}`;
    }
  }

  async purge(options: { olderThanMs: number; keepLatest: number; limit: number }): Promise<number> {
    if (options.limit <= 0) return 0;
    return Number(await this.conn.run('events-purge', this.keys3, [Math.max(0, options.olderThanMs), Math.max(0, options.keepLatest), options.limit]));
  }
}

/** The `at`s of events comma-separated: the field purging reads without parsing the events. */
export function eventAts(events: readonly NewEvent[]): string {
  let ats = '';
  for (let i = 0; i < events.length; i++) ats += i === 0 ? String(events[i]!.at) : `,${events[i]!.at}`;
  return ats;
}

function fieldOf(fields: readonly string[], name: string): string | undefined {
  for (let i = 0; i < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
  return undefined;
}

