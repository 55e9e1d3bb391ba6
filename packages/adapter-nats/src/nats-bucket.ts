// A thin JSON/bytes layer over a KV bucket's stream. Deletes remove the key's message by its
// revision (no tombstone), which is also a compare-and-set: it fails once the key moved on. So a
// bucket holds exactly its live keys, and scans and message counts reflect them.
import { formatBytes, parseJson, PayloadTooLargeError } from '@baton/core';
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import { headers as makeHeaders, type NatsConnection } from '@nats-io/transport-node';
import { isCasFailure, jsCode, JsCode } from './nats-errors.js';
import { bucketStream } from './nats-names.js';
import { scanStream } from './nats-scan.js';

export interface Versioned<T> {
  key: string;
  value: T;
  revision: number;
  /** Server time of this revision, epoch ms. */
  time: number;
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

const encoder = new TextEncoder();
const decoder = new TextDecoder();

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

  async getBytes(key: string): Promise<Versioned<Uint8Array> | null> {
    const sm = await this.deps.jsm.direct.getMessage(this.stream, { last_by_subj: this.subject(key) });
    if (!sm) return null;
    const op = sm.header?.get('KV-Operation');
    if (op === 'DEL' || op === 'PURGE') return null;
    return { key, value: sm.data, revision: sm.seq, time: sm.time.getTime() };
  }

  async get<T>(key: string): Promise<Versioned<T> | null> {
    const raw = await this.getBytes(key);
    if (!raw) return null;
    return { ...raw, value: parseJson<T>(decoder.decode(raw.value)) };
  }

  /** Writes only when the key is absent; returns the revision, or null when it exists. `meta` rides as headers (see scanMeta). */
  async create<T>(key: string, value: T, meta?: Meta): Promise<number | null> {
    return this.write(key, encode(value), 0, meta);
  }

  /** Writes only when the key is still at `revision`; null when it moved on (or is gone). */
  async update<T>(key: string, value: T, revision: number, meta?: Meta): Promise<number | null> {
    return this.write(key, encode(value), revision, meta);
  }

  async put<T>(key: string, value: T): Promise<number> {
    return this.putBytes(key, encode(value));
  }

  async putBytes(key: string, value: Uint8Array): Promise<number> {
    this.checkSize(key, value);
    const pa = await this.deps.js.publish(this.subject(key), value);
    return pa.seq;
  }

  /** Largest value a single key can hold on this server. */
  get maxValueBytes(): number {
    return this.deps.maxPayload - 1024;
  }

  async createBytes(key: string, value: Uint8Array): Promise<number | null> {
    return this.write(key, value, 0);
  }

  async getRevision(revision: number): Promise<Uint8Array | null> {
    const sm = await this.deps.jsm.direct.getMessage(this.stream, { seq: revision });
    return sm ? sm.data : null;
  }

  /** Removes the key's value at `revision`; false when the key moved on or is already gone. */
  async deleteRevision(revision: number): Promise<boolean> {
    try {
      return await this.deps.jsm.streams.deleteMessage(this.stream, revision, false);
    } catch (err) {
      const code = jsCode(err);
      if (code === JsCode.MessageDeleteFailed || code === JsCode.NoMessageFound) return false;
      throw err;
    }
  }

  /** Deletes whatever value the key holds now (re-reading on a lost race); false when absent. */
  async deleteKey(key: string): Promise<boolean> {
    for (let i = 0; i < 10; i++) {
      const cur = await this.getBytes(key);
      if (!cur) return false;
      if (await this.deleteRevision(cur.revision)) return true;
    }
    return false;
  }

  /** Current value of every key matching `keyFilter` (a subject pattern relative to the bucket). */
  async scan<T>(keyFilter: string, onEntry?: (entry: Versioned<T>) => boolean | void): Promise<Versioned<T>[]> {
    const out: Versioned<T>[] = [];
    await scanStream(this.deps, this.stream, {
      filter: this.subject(keyFilter),
      start: { policy: 'last_per_subject' },
      onMessage: (m) => {
        const op = m.headers?.get('KV-Operation');
        if (op === 'DEL' || op === 'PURGE' || m.data.length === 0) return;
        const entry: Versioned<T> = {
          key: m.subject.slice(this.subjectPrefix.length),
          value: parseJson<T>(decoder.decode(m.data)),
          revision: m.seq,
          time: m.time,
        };
        if (onEntry) return onEntry(entry);
        out.push(entry);
      },
    });
    return out;
  }

  /**
   * Headers (`meta`) of the current value of every matching key, without the values: a scan that
   * ships a few dozen bytes per key whatever the record size. Values are fetched afterwards only for
   * the keys that match (getRevision).
   */
  async scanMeta(keyFilter: string, onEntry: (entry: { key: string; revision: number; meta: (name: string) => string }) => boolean | void): Promise<void> {
    await scanStream(this.deps, this.stream, {
      filter: this.subject(keyFilter),
      start: { policy: 'last_per_subject' },
      headersOnly: true,
      onMessage: (m) => {
        const h = m.headers;
        const op = h?.get('KV-Operation');
        if (op === 'DEL' || op === 'PURGE') return;
        return onEntry({ key: m.subject.slice(this.subjectPrefix.length), revision: m.seq, meta: (name) => h?.get(name) ?? '' });
      },
    });
  }

  /** The value at `revision` if that is still the key's current value (null when it moved on). */
  async getCurrent<T>(key: string, revision: number): Promise<Versioned<T> | null> {
    const sm = await this.deps.jsm.direct.getMessage(this.stream, { seq: revision });
    if (!sm || sm.subject !== this.subject(key)) return null;
    return { key, value: parseJson<T>(decoder.decode(sm.data)), revision, time: sm.time.getTime() };
  }

  /** Number of live keys (the stream holds no tombstones). */
  async count(): Promise<number> {
    const si = await this.deps.jsm.streams.info(this.stream);
    return si.state.messages;
  }

  /** Throws PayloadTooLargeError when `data` cannot be stored under one key on this server. */
  checkSize(key: string, data: Uint8Array | string): void {
    const size = typeof data === 'string' ? Buffer.byteLength(data, 'utf8') : data.length;
    if (size > this.maxValueBytes) {
      throw new PayloadTooLargeError(
        `NATS: value for ${this.name}/${key} is ${formatBytes(size)}; the server's max_payload allows ${formatBytes(this.maxValueBytes)}. Raise max_payload in nats-server.conf or keep large data elsewhere and pass a reference.`,
        { sizeBytes: size, limitBytes: this.maxValueBytes },
      );
    }
  }

  private async write(key: string, data: Uint8Array, expectRevision: number, meta?: Meta): Promise<number | null> {
    this.checkSize(key, data);
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

function encode(value: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(value));
}
