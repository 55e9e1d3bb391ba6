// Task records in the `tasks` bucket (`t.<task>`), read and changed by compare-and-set on the
// key's revision. Shared by the TaskStore and the CheckpointStore, whose saves are fenced on the
// same record. The last revision this process wrote is cached so a finish right after a start
// skips a read; a decision never rests on a cached value unless the write succeeds.
import { BackendError, type TaskRecord } from '@baton/core';
import type { Bucket, Meta, Versioned } from './nats-bucket.js';
import { encodeToken } from './nats-names.js';

/** Where a task's checkpoint lives: chunk keys `<task>.<sid>.<i>` at the given revisions. */
export interface CheckpointPointer {
  sid: string;
  revs: number[];
  token: string;
  encoding: 'json' | 'gzip';
  sizeBytes: number;
  /** Stored body size. */
  bytes: number;
  at: number;
}

export interface StoredTask extends TaskRecord {
  /** Creation order within one process: tie-break for tasks created in the same millisecond. */
  ord: number;
  cp: CheckpointPointer | null;
}

export interface Decision<R> {
  /** The record to write, or null to leave it as it is. */
  next: StoredTask | null;
  result: R;
}

const CACHE_MAX_ENTRIES = 20_000;
/** Records are cached only while the cache stays under this many bytes of JSON. */
const CACHE_MAX_BYTES = 32 * 1024 * 1024;
const MAX_CONFLICTS = 25;

export function taskKey(id: string): string {
  return `t.${encodeToken(id)}`;
}

/** Header names of the fields scans filter on (values are header-safe: numbers, states, encoded tokens). */
export const H = {
  state: 'Baton-State',
  type: 'Baton-Type',
  run: 'Baton-Run',
  phase: 'Baton-Phase',
  created: 'Baton-Created',
  ord: 'Baton-Ord',
  updated: 'Baton-Updated',
  finished: 'Baton-Finished',
  cpBytes: 'Baton-Cp-Bytes',
} as const;

/** Marks null in a header (encodeToken never produces it). */
export const NULL_TOKEN = '!';

export function nullableToken(value: string | null): string {
  return value === null ? NULL_TOKEN : encodeToken(value);
}

export function metaOf(rec: StoredTask): Meta {
  return {
    [H.state]: rec.state,
    [H.type]: encodeToken(rec.type),
    [H.run]: nullableToken(rec.runId),
    [H.phase]: nullableToken(rec.phaseId),
    [H.created]: String(rec.createdAt),
    [H.ord]: String(rec.ord),
    [H.updated]: String(rec.updatedAt),
    [H.finished]: rec.finishedAt === null ? '' : String(rec.finishedAt),
    [H.cpBytes]: rec.cp ? String(rec.cp.bytes) : '',
  };
}

export function toRecord(stored: StoredTask): TaskRecord {
  const { ord: _ord, cp: _cp, ...rec } = stored;
  return rec;
}

export class TaskRecords {
  private readonly cache = new Map<string, Versioned<StoredTask> & { bytes: number }>();
  private cachedBytes = 0;

  async get(bucket: Bucket, id: string): Promise<Versioned<StoredTask> | null> {
    const cur = await bucket.get<StoredTask>(taskKey(id));
    if (cur) this.remember(id, cur);
    else this.drop(id);
    return cur;
  }

  /**
   * Applies `decide` to the current record with compare-and-set, re-reading and re-deciding when
   * another writer got there first. Returns `missing` when the task does not exist.
   */
  async mutate<R>(bucket: Bucket, id: string, decide: (rec: StoredTask) => Decision<R>, missing: R): Promise<R> {
    const key = taskKey(id);
    let cur: Versioned<StoredTask> | null = this.cache.get(id) ?? null;
    let fromCache = cur !== null;
    for (let i = 0; i < MAX_CONFLICTS; i++) {
      if (!cur) {
        cur = await bucket.get<StoredTask>(key);
        fromCache = false;
        if (!cur) {
          this.drop(id);
          return missing;
        }
      }
      const { next, result } = decide(cur.value);
      if (!next) {
        if (!fromCache) return result;
        cur = null; // a refusal must rest on a fresh read
        continue;
      }
      const rev = await bucket.update(key, next, cur.revision, metaOf(next));
      if (rev !== null) {
        this.remember(id, { key, value: next, revision: rev, time: 0 });
        return result;
      }
      this.drop(id);
      cur = null;
    }
    throw new BackendError(`Task ${id}: ${MAX_CONFLICTS} concurrent updates in a row won the compare-and-set before this one; retry.`);
  }

  /** Removes the record at the given revision (no tombstone); false when it changed meanwhile. */
  async delete(bucket: Bucket, id: string, revision: number): Promise<boolean> {
    this.drop(id);
    return bucket.deleteRevision(revision);
  }

  /** Notes a record this process just wrote (e.g. created), so the next change can skip its read. */
  remember(id: string, entry: Versioned<StoredTask>, bytes = JSON.stringify(entry.value).length): void {
    this.drop(id);
    if (bytes > CACHE_MAX_BYTES / 1024) return; // large inputs or results are read again rather than held
    this.cache.set(id, { ...entry, bytes });
    this.cachedBytes += bytes;
    while (this.cache.size > CACHE_MAX_ENTRIES || this.cachedBytes > CACHE_MAX_BYTES) {
      const oldest = this.cache.keys().next().value;
      if (oldest === undefined) break;
      this.drop(oldest);
    }
  }

  private drop(id: string): void {
    const hit = this.cache.get(id);
    if (!hit) return;
    this.cache.delete(id);
    this.cachedBytes -= hit.bytes;
  }
}
