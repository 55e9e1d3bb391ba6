// EventLog on a capped Redis Stream. Each append is ONE stream entry with id <firstSeq>-0 and
// seqs from a counter: an event's seq is firstSeq + its index, an integer strictly increasing in
// append order, and the audit trail costs one XADD per batch. Task writes append their events in
// their own scripts (event-lib.lua). Purging raises a floor (the lowest visible seq) and trims
// entries below it. Queries page through entries from `after` and filter here, decoding event by
// event: one undecodable event comes back in its place as `record.quarantined`.
import type { EventLog, EventPurgeOptions, EventQuery, NewEvent, StoredEvent } from '@baton/core/adapter';
import { appendArgs, decodeEvent } from './event-codec.js';
import type { Keys } from './keys.js';
import type { RedisConnection } from './redis-connection.js';

/** Stream entries (append batches) read per round trip while querying. */
const PAGE = 20;

export class RedisEventLog implements EventLog {
  constructor(
    private readonly conn: RedisConnection,
    private readonly keys: Keys,
  ) {}

  async append(events: NewEvent[]): Promise<void> {
    if (events.length === 0) return;
    await this.conn.run('events.append', 'events-append', [events.length, ...appendArgs(events)]);
  }

  async query(query: EventQuery): Promise<StoredEvent[]> {
    if (query.limit <= 0) return [];
    const types = query.type === undefined ? null : new Set<string>(query.type);
    const [fromSeq, startId] = (await this.conn.run('events.query', 'events-seek', [query.after ?? 0])) as [number, string | null];
    const out: StoredEvent[] = [];
    if (startId === null) return out;
    let from = startId;
    for (;;) {
      const page = (await this.conn.guard('events.query', (c) => c.call('XRANGE', [this.keys.events, from, '+', 'COUNT', PAGE]))) as [string, string[]][];
      for (const [id, fields] of page) {
        const ats = (fieldOf(fields, 'a') ?? '').split(',');
        const lines = (fieldOf(fields, 'e') ?? '').split('\n');
        const first = Number(id.slice(0, id.indexOf('-')));
        for (let i = 0; i < lines.length; i++) {
          const seq = first + i;
          if (seq < fromSeq) continue;
          const e = decodeEvent(lines[i]!, seq, Number(ats[i]));
          if (query.runId !== undefined && e.runId !== query.runId) continue;
          if (query.phaseId !== undefined && e.phaseId !== query.phaseId) continue;
          if (query.taskId !== undefined && e.taskId !== query.taskId) continue;
          if (types !== null && !types.has(e.type)) continue;
          if (query.since !== undefined && e.at < query.since) continue;
          out.push(e);
          if (out.length >= query.limit) return out;
        }
      }
      if (page.length < PAGE) return out;
      from = `(${page[page.length - 1]![0]}`;
    }
  }

  async purge(options: EventPurgeOptions): Promise<number> {
    if (options.limit <= 0) return 0;
    return Number(await this.conn.run('events.purge', 'events-purge', [Math.max(0, options.olderThanMs), Math.max(0, options.keepLatest), options.limit]));
  }
}

function fieldOf(fields: readonly string[], name: string): string | undefined {
  for (let i = 0; i < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
  return undefined;
}
