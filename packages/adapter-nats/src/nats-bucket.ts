// A thin bytes layer over a KV bucket's stream; decoding is the caller's, per record. Deletes
// remove the key's message by its revision (no tombstone), which is also a compare-and-set: it
// fails once the key moved on. So a bucket holds exactly its live keys, and scans and message
// counts reflect them.
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import { headers as makeHeaders, type MsgHdrs, type NatsConnection } from '@nats-io/transport-node';
import { isAlreadyGone, isCasFailure, payloadTooLarge } from './nats-errors.js';
import { bucketStream } from './nats-names.js';
import { scanStream } from './nats-scan.js';

export interface RawEntry {
  key: string;
  data: Uint8Array;
  revision: number;
  /** Server time of this revision, epoch ms. */
  time: number;
  headers: MsgHdrs | undefined;
}

/** Header values written with a record so scans can filter without reading it; values must be header-safe. */
export type Meta = Record<string, string>;

export interface BucketDeps {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  /** The server's max_payload: no message may be larger. */
  maxPayload: number;
}

export interface MetaEntry {
  key: string;
  revision: number;
  meta: (name: string) => string;
}

function isDeleteMarker(h: MsgHdrs | undefined): boolean {
  const op = h?.get('KV-Operation');
  return op === 'DEL' || op === 'PURGE';
}

export class Bucket {
  readonly stream: string;
  private readonly subjectPrefix: string;

  constructor(
    private readonly deps: BucketDeps,
    readonly name: string,
  ) {
    this.stream = bucketStream(name);
    this.subjectPrefix = `$KV.${name}.`;
  }

  subject(key: string): string {
    return this.subjectPrefix + key;
  }

  async get(key: string): Promise<RawEntry | null> {
    const sm = await this.deps.jsm.direct.getMessage(this.stream, { last_by_subj: this.subject(key) });
    if (!sm || isDeleteMarker(sm.header)) return null;
    return { key, data: sm.data, revision: sm.seq, time: sm.time.getTime(), headers: sm.header };
  }

  /** The value at `revision` if that is still the key's current value (null when it moved on). */
  async getAt(key: string, revision: number): Promise<RawEntry | null> {
    const sm = await this.deps.jsm.direct.getMessage(this.stream, { seq: revision });
    if (!sm || sm.subject !== this.subject(key) || isDeleteMarker(sm.header)) return null;
    return { key, data: sm.data, revision, time: sm.time.getTime(), headers: sm.header };
  }

  /** Writes only when the key is absent; returns the revision, or null when it exists. `meta` rides as headers (see scanMeta). */
  create(key: string, data: Uint8Array, meta?: Meta): Promise<number | null> {
    return this.write(key, data, 0, meta);
  }

  /** Writes only when the key is still at `revision`; null when it moved on (or is gone). */
  update(key: string, data: Uint8Array, revision: number, meta?: Meta): Promise<number | null> {
    return this.write(key, data, revision, meta);
  }

  /** Writes unconditionally. */
  async put(key: string, data: Uint8Array, meta?: Meta): Promise<number> {
    this.checkSize(key, data.length);
    const h = meta ? makeHeaders() : undefined;
    if (h && meta) for (const [name, value] of Object.entries(meta)) h.set(name, value);
    const pa = await this.deps.js.publish(this.subject(key), data, h ? { headers: h } : undefined);
    return pa.seq;
  }

  /** Largest value a single key can hold on this server. */
  get maxValueBytes(): number {
    return this.deps.maxPayload - 1024;
  }

  /**
   * Removes the key's value at `revision`; false when the key moved on or is already gone. Only
   * true says this call removed it: after false, concurrent deleters of the same revision (all but
   * one get false) must re-read rather than assume the entry is handled.
   */
  async deleteRevision(revision: number): Promise<boolean> {
    try {
      return await this.deps.jsm.streams.deleteMessage(this.stream, revision, false);
    } catch (err) {
      if (isAlreadyGone(err)) return false;
      throw err;
    }
  }

  /** Deletes whatever value the key holds now (re-reading on a lost race); false when absent. */
  async deleteKey(key: string): Promise<boolean> {
    for (let i = 0; i < 10; i++) {
      const cur = await this.get(key);
      if (!cur) return false;
      if (await this.deleteRevision(cur.revision)) return true;
    }
    return false;
  }

  /** Current value of every key matching `keyFilter` (a subject pattern relative to the bucket). */
  async scan(keyFilter: string, onEntry: (entry: RawEntry) => boolean | void): Promise<void> {
    await scanStream(this.deps, this.stream, {
      filter: this.subject(keyFilter),
      start: { policy: 'last_per_subject' },
      onMessage: (m) => {
        if (isDeleteMarker(m.headers) || m.data.length === 0) return;
        return onEntry({ key: m.subject.slice(this.subjectPrefix.length), data: m.data, revision: m.seq, time: m.time, headers: m.headers });
      },
    });
  }

  /**
   * Headers (`meta`) of the current value of every matching key, without the values: a scan that
   * ships a few dozen bytes per key whatever the record size. Values are fetched afterwards only for
   * the keys that match (getAt).
   */
  async scanMeta(keyFilter: string, onEntry: (entry: MetaEntry) => boolean | void): Promise<void> {
    await scanStream(this.deps, this.stream, {
      filter: this.subject(keyFilter),
      start: { policy: 'last_per_subject' },
      headersOnly: true,
      onMessage: (m) => {
        const h = m.headers;
        if (isDeleteMarker(h)) return;
        return onEntry({ key: m.subject.slice(this.subjectPrefix.length), revision: m.seq, meta: (name) => h?.get(name) ?? '' });
      },
    });
  }

  /** Throws (PAYLOAD_TOO_LARGE) when `size` bytes cannot be stored under one key on this server. */
  checkSize(key: string, size: number): void {
    if (size > this.maxValueBytes) throw payloadTooLarge(`the value for ${this.name}/${key}`, size, this.maxValueBytes);
  }

  private async write(key: string, data: Uint8Array, expectRevision: number, meta?: Meta): Promise<number | null> {
    this.checkSize(key, data.length);
    const h = makeHeaders();
    h.set('Nats-Expected-Last-Subject-Sequence', String(expectRevision));
    if (meta) for (const [name, value] of Object.entries(meta)) h.set(name, value);
    try {
      const pa = await this.deps.js.publish(this.subject(key), data, { headers: h });
      return pa.seq;
    } catch (err) {
      if (isCasFailure(err)) return null;
      throw err;
    }
  }
}
