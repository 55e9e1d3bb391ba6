// CoordinationStore on the coordination bucket: each key (encoded into one KV key, so no key is
// ever read as a subject pattern) holds its JSON value; the version is the KV revision, which
// changes on every write, and a write is a compare-and-set on it (expected null: create-if-absent).
// `scan` reads the bucket's keys (few: breaker states) and keeps those starting with the prefix,
// compared on the decoded keys, so the prefix is literal.
import type { CoordinationStore, JsonValue, Versioned } from '@baton/core/adapter';
import { decodeJson, encodeJson } from './nats-codec.js';
import { decodeToken, encodeToken } from './nats-names.js';
import type { NatsContext, NatsRuntime } from './nats-runtime.js';

const MAX_SCAN = 1000;
const isJson = (_v: unknown): _v is JsonValue => true;

export class NatsCoordinationStore implements CoordinationStore {
  constructor(private readonly rt: NatsRuntime) {}

  async read(keys: string[]): Promise<(Versioned | null)[]> {
    if (keys.length === 0) return [];
    return this.rt.run('coordination.read', (c) =>
      Promise.all(
        keys.map(async (key) => {
          const e = await c.buckets.coordination.get(encodeToken(key));
          return e ? this.decode(c, key, e.data, e.revision) : null;
        }),
      ),
    );
  }

  async write(key: string, value: JsonValue, expected: number | null): Promise<number | null> {
    return this.rt.run('coordination.write', (c) => {
      const data = encodeJson(value);
      const k = encodeToken(key);
      return expected === null ? c.buckets.coordination.create(k, data) : c.buckets.coordination.update(k, data, expected);
    });
  }

  async scan(prefix: string): Promise<({ key: string } & Versioned)[]> {
    return this.rt.run('coordination.scan', async (c) => {
      const found: { key: string; data: Uint8Array; revision: number }[] = [];
      await c.buckets.coordination.scan('>', (e) => {
        const key = decodeToken(e.key);
        if (key !== null && key.startsWith(prefix)) found.push({ key, data: e.data, revision: e.revision });
      });
      found.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
      const out: ({ key: string } & Versioned)[] = [];
      for (const f of found) {
        if (out.length >= MAX_SCAN) break;
        const v = this.decode(c, f.key, f.data, f.revision);
        if (v) out.push({ key: f.key, ...v });
      }
      return out;
    });
  }

  /** A value written behind the store's back that is not JSON reads as absent (a writer with expected null then cannot take it: it is logged). */
  private decode(c: NatsContext, key: string, data: Uint8Array, revision: number): Versioned | null {
    const d = decodeJson(data, isJson);
    if (d.ok) return { value: d.value, version: revision };
    c.logger.error({ key, reason: d.reason }, 'NATS: a coordination value cannot be decoded; it reads as absent');
    return null;
  }
}
