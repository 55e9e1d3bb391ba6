// Task records in the tasks bucket, read and changed by compare-and-set on the key's revision.
// Shared by the TaskStore and the CheckpointStore (whose saves are fenced on the same record).
// Every change goes through `mutate`: decode (quarantining a record that cannot be decoded), let
// the caller decide with core's transitions, write the next record with its events in the outbox,
// then publish them. The last revision this process wrote is cached so a finish right after a start
// skips a read; a decision never rests on a cached value unless its write succeeds.
import { BackendError, newId, transitions, type Corruption, type NewEvent, type TaskRecord } from '@baton/core/adapter';
import type { Bucket, RawEntry } from './nats-bucket.js';
import { decodeText, encodeText } from './nats-codec.js';
import type { Outbox } from './nats-outbox.js';
import type { NatsContext } from './nats-runtime.js';
import { decodeTask, encodeTask, metaOf, taskKey, type CheckpointPointer, type Held, type StoredText } from './nats-task-codec.js';

export interface Change<R> {
  /** The record to write, or null to leave it as it is. */
  next: TaskRecord | null;
  /** Events of this change, appended iff it applies (their runId and phaseId are taken from the record). */
  events?: readonly NewEvent[];
  /** The checkpoint pointer to store (undefined: keep the current one). */
  cp?: CheckpointPointer | null;
  result: R;
}

export interface Mutated<R> {
  result: R;
  /**
   * Resolves once the change's events are in the log (false: they are not yet — kept in the
   * record and retried). The public ports wait for it; the flow's start does not.
   */
  landed: Promise<boolean>;
}

/** A record read for a caller: `corrupt` is set when this read found it undecodable and quarantined it. */
export interface Read {
  held: Held;
  corrupt?: Corruption;
}

const LANDED = Promise.resolve(true);
const CACHE_MAX_ENTRIES = 20_000;
/** Records are cached only while the cache stays under this many bytes of JSON. */
const CACHE_MAX_BYTES = 32 * 1024 * 1024;
const MAX_CONFLICTS = 25;
/** An outbox still unconfirmed this long after its write (at most half the duplicate window) is settled by the next reader. */
const SETTLE_AFTER_MS = 60_000;
/** Most old outboxes settled at once per process (the rest wait for a later read). */
const MAX_SETTLING = 32;

export class TaskRecords {
  /** Task id → the text of the revision this process last wrote or read. Text, so nothing a caller holds aliases it. */
  private readonly cache = new Map<string, StoredText>();
  private cachedBytes = 0;
  /** Tasks whose old outbox a reader is settling now. */
  private readonly settling = new Set<string>();

  constructor(readonly outbox: Outbox) {}

  /** The task (quarantined first when undecodable), or null. `reader`: a get or list, which settles an old outbox in the background. */
  async read(c: NatsContext, id: string, reader = false): Promise<Read | null> {
    for (let i = 0; i < MAX_CONFLICTS; i++) {
      const entry = await c.buckets.tasks.get(taskKey(id));
      if (!entry) {
        this.drop(id);
        return null;
      }
      const r = await this.decoded(c, id, stored(entry), reader);
      if (r) return r;
    }
    throw conflict(id);
  }

  /** A record a scan found at `revision` (re-read when it moved on since), decoded or quarantined. */
  async readAt(c: NatsContext, id: string, revision: number, reader = false): Promise<Read | null> {
    const entry = await c.buckets.tasks.getAt(taskKey(id), revision);
    if (!entry) return this.read(c, id, reader);
    return (await this.decoded(c, id, stored(entry), reader)) ?? this.read(c, id, reader);
  }

  /** Writes a new task with its events (create-if-absent); false when the key exists. */
  async create(c: NatsContext, rec: TaskRecord, ord: number, events: readonly NewEvent[] | undefined): Promise<boolean> {
    const own = stamp(events, rec);
    const held: Held = { rec, ord, cp: null, ob: own, oa: rec.createdAt, revision: 0 };
    const text = encodeTask(held);
    const key = taskKey(rec.id);
    const rev = await c.buckets.tasks.create(key, encodeText(text), metaOf(held));
    if (rev === null) return false;
    this.remember(rec.id, { key, text, revision: rev, time: rec.createdAt });
    if (own.length > 0) await this.outbox.flush(c, rec.id, [], 0, own);
    return true;
  }

  /** Size check before anything is written, so an oversized create leaves no key behind. */
  checkSize(c: NatsContext, rec: TaskRecord): void {
    c.buckets.tasks.checkSize(taskKey(rec.id), Buffer.byteLength(encodeTask({ rec, ord: 0, cp: null, ob: [], oa: 0, revision: 0 }), 'utf8'));
  }

  /**
   * Applies `decide` to the current record with compare-and-set, re-reading and re-deciding when
   * another writer got there first. `missing` is the answer for an unknown task. An outbox left
   * unconfirmed by the previous write is made sure of (carried into this write, or replayed when
   * this change does not apply), so its events reach the log before this change's.
   */
  async mutate<R>(c: NatsContext, id: string, decide: (rec: TaskRecord, read: Read) => Change<R>, missing: R): Promise<Mutated<R>> {
    let fromCache = false;
    for (let i = 0; i < MAX_CONFLICTS; i++) {
      let read: Read | null = null;
      const hit = i === 0 ? this.cache.get(id) : undefined;
      if (hit) {
        const d = decodeTask(hit);
        if (d.ok) read = { held: d.held };
      }
      fromCache = read !== null;
      read ??= await this.read(c, id);
      if (!read) return { result: missing, landed: LANDED };
      const cur = read.held;
      const change = decide(cur.rec, read);
      const carried = this.outbox.unconfirmed(cur.ob);
      if (change.next === null) {
        if (fromCache) continue; // a refusal must rest on a fresh read
        if (carried.length > 0) await this.outbox.ensure(c, id, carried, cur.oa);
        return { result: change.result, landed: LANDED };
      }
      const own = stamp(change.events, change.next);
      const next: Held = {
        rec: change.next,
        ord: cur.ord,
        cp: change.cp === undefined ? cur.cp : change.cp,
        ob: carried.length > 0 ? [...carried, ...own] : own,
        oa: carried.length > 0 ? cur.oa : c.clock.now(),
        revision: 0,
      };
      const text = encodeTask(next);
      const key = taskKey(id);
      const rev = await c.buckets.tasks.update(key, encodeText(text), cur.revision, metaOf(next));
      if (rev === null) {
        this.drop(id);
        continue;
      }
      this.remember(id, { key, text, revision: rev, time: next.oa });
      return { result: change.result, landed: this.outbox.flush(c, id, carried, cur.oa, own) };
    }
    throw conflict(id);
  }

  /** Removes the record at the given revision (no tombstone); false when it changed meanwhile. */
  async delete(bucket: Bucket, id: string, revision: number): Promise<boolean> {
    this.drop(id);
    return bucket.deleteRevision(revision);
  }

  /** Decodes a stored task; an undecodable one is quarantined (null: the quarantine write lost a race, read again). */
  private async decoded(c: NatsContext, id: string, entry: StoredText, reader = false): Promise<Read | null> {
    const d = decodeTask(entry);
    if (d.ok) {
      this.remember(id, entry);
      if (reader) this.settleOld(c, id, entry, d.held);
      return { held: d.held };
    }
    const now = c.clock.now();
    const quarantined = transitions.quarantine(d.held.rec, d.corruption, now);
    const own = [transitions.corruptEvent(quarantined, d.corruption, newId(), now)];
    const carried = this.outbox.unconfirmed(d.held.ob);
    const held: Held = { ...d.held, rec: quarantined, ob: [...carried, ...own], oa: carried.length > 0 ? d.held.oa : now, revision: 0 };
    const text = encodeTask(held);
    const rev = await c.buckets.tasks.update(entry.key, encodeText(text), entry.revision, metaOf(held));
    if (rev === null) return null;
    held.revision = rev;
    c.logger.error({ taskId: quarantined.id, field: d.corruption.field, reason: d.corruption.reason }, 'NATS: a stored task record cannot be decoded; the task is quarantined (dead, CORRUPT_RECORD, raw bytes kept)');
    this.remember(id, { key: entry.key, text, revision: rev, time: now });
    await this.outbox.flush(c, quarantined.id, carried, d.held.oa, own);
    return { held, corrupt: d.corruption };
  }

  /**
   * A reader that meets an outbox long after it was written (the task's last writer may have died
   * before publishing, and nobody may ever write the task again: a cancelled task, say) makes sure
   * of it and clears it, once, in the background: the record is rewritten as it is, without the
   * outbox, iff it did not change meanwhile.
   */
  private settleOld(c: NatsContext, id: string, entry: StoredText, held: Held): void {
    if (held.ob.length === 0 || c.clock.now() - held.oa < Math.min(SETTLE_AFTER_MS, c.duplicateWindowMs / 2) || this.settling.has(id) || this.settling.size >= MAX_SETTLING) return;
    this.settling.add(id);
    void (async () => {
      await this.outbox.ensure(c, id, this.outbox.unconfirmed(held.ob), held.oa);
      const cleared: Held = { ...held, ob: [], oa: 0 };
      if ((await c.buckets.tasks.update(entry.key, encodeText(encodeTask(cleared)), entry.revision, metaOf(cleared))) !== null) this.drop(id);
    })()
      .catch((err: unknown) => c.logger.debug({ err, taskId: id }, 'NATS: could not settle an old outbox; the next reader or writer does'))
      .finally(() => this.settling.delete(id));
  }

  /** Notes a record this process just wrote or read, so the next change can skip its read. */
  private remember(id: string, entry: StoredText): void {
    this.drop(id);
    const bytes = entry.text.length;
    if (bytes > CACHE_MAX_BYTES / 1024) return; // large inputs or results are read again rather than held
    this.cache.set(id, { key: entry.key, text: entry.text, revision: entry.revision, time: entry.time });
    this.cachedBytes += bytes;
    while (this.cache.size > CACHE_MAX_ENTRIES || this.cachedBytes > CACHE_MAX_BYTES) {
      const oldest = this.cache.keys().next().value;
      if (oldest === undefined) break;
      this.drop(oldest);
    }
  }

  drop(id: string): void {
    const hit = this.cache.get(id);
    if (!hit) return;
    this.cache.delete(id);
    this.cachedBytes -= hit.text.length;
  }
}

function stored(entry: RawEntry): StoredText {
  return { key: entry.key, text: decodeText(entry.data), revision: entry.revision, time: entry.time, headers: entry.headers };
}

/** Events as stored with a write: under the task's runId and phaseId, whatever they said. */
function stamp(events: readonly NewEvent[] | undefined, rec: TaskRecord): NewEvent[] {
  if (events === undefined || events.length === 0) return [];
  return events.map((e) => (e.runId === rec.runId && e.phaseId === rec.phaseId ? e : { ...e, runId: rec.runId, phaseId: rec.phaseId }));
}

function conflict(id: string): BackendError {
  return new BackendError(`Task ${id}: ${MAX_CONFLICTS} concurrent updates in a row won the compare-and-set before this one; retry.`);
}
