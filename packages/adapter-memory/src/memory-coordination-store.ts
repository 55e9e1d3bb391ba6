// In-process CoordinationStore: versioned documents in a Map. Each call is synchronous, so a
// compare-and-set can never interleave with another write of the same key.
import type { CoordinationStore, JsonValue, Versioned } from '@baton/core/adapter';
import { cloneJson } from './clone-json.js';
import type { MemoryState } from './memory-state.js';

const MAX_SCAN = 1000;

export class MemoryCoordinationStore implements CoordinationStore {
  private readonly docs = new Map<string, Versioned>();

  constructor(private readonly state: MemoryState) {}

  async read(keys: string[]): Promise<(Versioned | null)[]> {
    this.state.assertOpen();
    return keys.map((key) => {
      const doc = this.docs.get(key);
      return doc === undefined ? null : { value: cloneJson(doc.value), version: doc.version };
    });
  }

  async write(key: string, value: JsonValue, expected: number | null): Promise<number | null> {
    this.state.assertOpen();
    const current = this.docs.get(key);
    if ((current?.version ?? null) !== expected) return null;
    const version = (current?.version ?? 0) + 1;
    this.docs.set(key, { value: cloneJson(value), version });
    return version;
  }

  async scan(prefix: string): Promise<({ key: string } & Versioned)[]> {
    this.state.assertOpen();
    const out: ({ key: string } & Versioned)[] = [];
    for (const [key, doc] of this.docs) if (key.startsWith(prefix)) out.push({ key, value: cloneJson(doc.value), version: doc.version });
    out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    return out.slice(0, MAX_SCAN);
  }
}
