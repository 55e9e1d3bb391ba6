// EventLog on a capped Redis Stream. Entry ids are <seq>-0 with seq from a counter, so an event's
// seq is a plain integer, strictly increasing in append order. Queries page through the stream from
// `after` and filter in the process: a filtered query costs a scan of the events after `after`
// (bounded by retention), not an index lookup.
import { parseJson, type EventLog, type EventQuery, type NewEvent, type StoredEvent } from '@baton/core';
import type { Keys } from './keys.js';
import type { RedisArg } from './redis-client.js';
import type { RedisConnection } from './redis-connection.js';

const PAGE = 1_000;

export class RedisEventLog implements EventLog {
  constructor(
    private readonly conn: RedisConnection,
    private readonly keys: Keys,
    private readonly maxLen: number,
  ) {}

  async append(events: NewEvent[]): Promise<void> {
    if (events.length === 0) return;
    const args: RedisArg[] = [this.maxLen];
    for (const e of events) args.push(e.at, JSON.stringify(e));
    await this.conn.run('events-append', [this.keys.events, this.keys.eventSeq], args);
  }

  async query(query: EventQuery): Promise<StoredEvent[]> {
    const limit = Math.min(Math.max(query.limit ?? 100, 0), 1000);
    if (limit === 0) return [];
    const types = query.type === undefined ? null : new Set(Array.isArray(query.type) ? query.type : [query.type]);
    const out: StoredEvent[] = [];
    let from = query.after === undefined ? '-' : `(${Math.max(0, Math.floor(query.after))}-0`;
    for (;;) {
      const page = (await this.conn.command('XRANGE', [this.keys.events, from, '+', 'COUNT', PAGE])) as [string, string[]][];
      for (const [id, fields] of page) {
        const json = fieldOf(fields, 'e');
        if (json === undefined) continue;
        const e = parseJson<NewEvent>(json);
        if (query.runId !== undefined && e.runId !== query.runId) continue;
        if (query.phaseId !== undefined && e.phaseId !== query.phaseId) continue;
        if (query.taskId !== undefined && e.taskId !== query.taskId) continue;
        if (types !== null && !types.has(e.type)) continue;
        if (query.since !== undefined && e.at < query.since) continue;
        out.push({ ...e, seq: Number(id.slice(0, id.indexOf('-'))) });
        if (out.length >= limit) return out;
      }
      if (page.length < PAGE) return out;
      from = `(${page[page.length - 1]![0]}`;
    }
  }

  async purge(options: { olderThanMs: number; keepLatest: number; limit: number }): Promise<number> {
    if (options.limit <= 0) return 0;
    return Number(
      await this.conn.run('events-purge', [this.keys.events], [Math.max(0, options.olderThanMs), Math.max(0, options.keepLatest), options.limit]),
    );
  }
}

function fieldOf(fields: readonly string[], name: string): string | undefined {
  for (let i = 0; i < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
  return undefined;
}
