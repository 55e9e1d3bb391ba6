import type { JsonValue } from '../json.js';

export interface Versioned {
  value: JsonValue;
  /** Changes on every write; compare-and-set against it. */
  version: number;
}

/**
 * Small shared documents every worker of a backend reads and updates with compare-and-set
 * (the fleet-wide circuit breakers). Not on the per-task hot path: a process writes a key at
 * most a few times a second. Keys are made by core: 1–300 characters, never a control character;
 * stores must treat them as opaque (escape what their query language would read as a pattern).
 */
export interface CoordinationStore {
  /** The current value and version of each key (null where absent), aligned with `keys`. */
  read(keys: string[]): Promise<(Versioned | null)[]>;
  /**
   * Writes `value` iff the key's current version is `expected` (null: the key must not exist).
   * Returns the new version, or null when another writer got there first.
   */
  write(key: string, value: JsonValue, expected: number | null): Promise<number | null>;
  /** Every key starting with `prefix` (literally: no wildcards), in key order, with value and version; at most the first 1000. */
  scan(prefix: string): Promise<({ key: string } & Versioned)[]>;
}
