// CoordinationStore on Redis: one hash of `<version>\t<json>` per key, compare-and-set in Lua, and
// a zset of the keys (all score 0) so `scan` is a lexicographic range: the prefix is matched
// byte for byte, never read as a pattern.
import { parseJson, type CoordinationStore, type JsonValue, type Versioned } from '@baton/core/adapter';
import type { RedisConnection } from './redis-connection.js';

const MAX_SCAN = 1000;

export class RedisCoordinationStore implements CoordinationStore {
  constructor(private readonly conn: RedisConnection) {}

  async read(keys: string[]): Promise<(Versioned | null)[]> {
    if (keys.length === 0) return [];
    const reply = (await this.conn.run('coordination.read', 'coord-read', keys)) as (string | null)[];
    return reply.map((v) => (v === null ? null : decode(v)));
  }

  async write(key: string, value: JsonValue, expected: number | null): Promise<number | null> {
    const reply = await this.conn.run('coordination.write', 'coord-write', [key, JSON.stringify(value), expected === null ? '' : expected]);
    return reply === null ? null : Number(reply);
  }

  async scan(prefix: string): Promise<({ key: string } & Versioned)[]> {
    const flat = (await this.conn.run('coordination.scan', 'coord-scan', [prefix])) as string[];
    const out: ({ key: string } & Versioned)[] = [];
    for (let i = 0; i < flat.length && out.length < MAX_SCAN; i += 2) {
      const v = decode(flat[i + 1]!);
      if (v !== null) out.push({ key: flat[i]!, ...v });
    }
    return out;
  }
}

/** A stored document; null when it does not decode (a foreign write): readers then see it as absent. */
function decode(stored: string): Versioned | null {
  const tab = stored.indexOf('\t');
  const version = Number(stored.slice(0, tab));
  if (tab < 0 || !Number.isSafeInteger(version)) return null;
  try {
    return { value: parseJson<JsonValue>(stored.slice(tab + 1)), version };
  } catch {
    return null;
  }
}
