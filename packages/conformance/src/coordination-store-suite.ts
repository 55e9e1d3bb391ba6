// CoordinationStore: small shared documents under compare-and-set. A write lands iff the version
// it expects is current, so of concurrent writers expecting one version exactly one wins; every
// write changes the version; values come back as the exact JSON written.
import { describe, expect, it } from 'vitest';
import { canonicalJson, newId, type JsonValue } from '@baton/core/adapter';
import { type Harness } from './harness.js';

// Keys stay within the alphabet core uses (letters, digits, `_ . : -`); `_` and `.` are
// wildcards in SQL LIKE and regular expressions, so a prefix scan built on either must escape them.
const key = (name: string): string => `breaker:${name}`;

export function coordinationStoreSuite(h: Harness): void {
  describe('CoordinationStore', () => {
    it('read of absent keys gives null for each, aligned with the keys', async () => {
      const b = h.backend();
      expect(await b.coordination.read([key('absent-1'), key('absent-2')])).toEqual([null, null]);
      expect(await b.coordination.read([])).toEqual([]);
    });

    it('write with expected null creates the key and returns its version; read returns value and version', async () => {
      const b = h.backend();
      const version = await b.coordination.write(key('a'), { state: 'open', failures: 3 }, null);
      expect(typeof version).toBe('number');
      expect(await b.coordination.read([key('absent'), key('a')])).toEqual([null, { value: { state: 'open', failures: 3 }, version }]);
    });

    it('write with expected null fails (null) when the key exists, and changes nothing', async () => {
      const b = h.backend();
      const version = await b.coordination.write(key('a'), 1, null);
      expect(await b.coordination.write(key('a'), 2, null)).toBeNull();
      expect(await b.coordination.read([key('a')])).toEqual([{ value: 1, version }]);
    });

    it('write with the current version succeeds with a new version; a stale or absent-key version fails and changes nothing', async () => {
      const b = h.backend();
      const v1 = (await b.coordination.write(key('a'), 'one', null))!;
      const v2 = await b.coordination.write(key('a'), 'two', v1);
      expect(v2).not.toBeNull();
      expect(v2).not.toBe(v1);
      expect(await b.coordination.write(key('a'), 'stale', v1)).toBeNull();
      expect(await b.coordination.read([key('a')])).toEqual([{ value: 'two', version: v2 }]);
      expect(await b.coordination.write(key('never-written'), 'x', v2!)).toBeNull();
      expect(await b.coordination.read([key('never-written')])).toEqual([null]);
    });

    it('every write changes the version, even when the value is the same', async () => {
      const b = h.backend();
      const seen = [(await b.coordination.write(key('a'), { same: true }, null))!];
      for (let i = 0; i < 5; i++) {
        const next = await b.coordination.write(key('a'), { same: true }, seen[seen.length - 1]!);
        expect(next).not.toBeNull();
        seen.push(next!);
      }
      expect(new Set(seen).size).toBe(seen.length);
    });

    it('of 10 concurrent writers expecting the same version exactly one wins and its value is stored', async () => {
      const b = h.backend();
      const v1 = (await b.coordination.write(key('race'), { writer: -1 }, null))!;
      const results = await Promise.all(Array.from({ length: 10 }, (_, i) => b.coordination.write(key('race'), { writer: i }, v1)));
      const winners = results.flatMap((v, i) => (v === null ? [] : [{ i, v }]));
      expect(winners).toHaveLength(1);
      expect(await b.coordination.read([key('race')])).toEqual([{ value: { writer: winners[0]!.i }, version: winners[0]!.v }]);
    });

    it('of 10 concurrent creators of an absent key exactly one wins', async () => {
      const b = h.backend();
      const k = key(`new-${newId()}`);
      const results = await Promise.all(Array.from({ length: 10 }, (_, i) => b.coordination.write(k, i, null)));
      const winners = results.flatMap((v, i) => (v === null ? [] : [{ i, v }]));
      expect(winners).toHaveLength(1);
      expect(await b.coordination.read([k])).toEqual([{ value: winners[0]!.i, version: winners[0]!.v }]);
    });

    it('scan returns every key starting with the prefix with its value and version, and no other key', async () => {
      const b = h.backend();
      const written = new Map<string, number>();
      for (const k of ['breaker:a_b:1', 'breaker:a_b:2', 'breaker:a.b:1', 'breaker:axb:1', 'breaker:a_', 'other:a_b:1', 'xbreaker:a_b:1']) {
        written.set(k, (await b.coordination.write(k, { k }, null))!);
      }
      const scan = async (prefix: string) => (await b.coordination.scan(prefix)).sort((x, y) => (x.key < y.key ? -1 : 1));
      const entry = (k: string) => ({ key: k, value: { k }, version: written.get(k) });
      expect(await scan('breaker:a_b:')).toEqual([entry('breaker:a_b:1'), entry('breaker:a_b:2')]);
      expect(await scan('breaker:a.b')).toEqual([entry('breaker:a.b:1')]);
      expect(await scan('breaker:a_')).toEqual([entry('breaker:a_'), entry('breaker:a_b:1'), entry('breaker:a_b:2')]);
      expect((await scan('breaker:')).map((e) => e.key)).toEqual(['breaker:a.b:1', 'breaker:a_', 'breaker:a_b:1', 'breaker:a_b:2', 'breaker:axb:1']);
      expect(await scan('nothing-here:')).toEqual([]);
    });

    it('values round-trip as the exact JSON written, including __proto__ and constructor keys, without polluting prototypes', async () => {
      const b = h.backend();
      const hostile = JSON.parse('{"__proto__":{"polluted":"yes"},"constructor":{"prototype":{"polluted2":"yes"}},"nested":[{"__proto__":[1]}]}') as JsonValue;
      const values: JsonValue[] = [
        hostile,
        { unicode: 'héllo — 日本語 — 🚀 \u2028', escapes: '" \\ / \n \t', numbers: [0, -1, 3.25, 1e-7, 2 ** 53 - 1], nothing: null, t: true, f: false, empty: {}, list: [] },
        null,
        'just a string',
        -0.5,
        [1, [2, [3]]],
      ];
      for (const [i, value] of values.entries()) {
        await b.coordination.write(key(`json-${i}`), value, null);
        const [got] = await b.coordination.read([key(`json-${i}`)]);
        expect(canonicalJson(got?.value)).toBe(canonicalJson(value));
      }
      const [scanned] = await b.coordination.scan(key('json-0'));
      expect(canonicalJson(scanned?.value)).toBe(canonicalJson(hostile));
      const probe: Record<string, unknown> = {};
      expect(probe.polluted).toBeUndefined();
      expect(probe.polluted2).toBeUndefined();
      expect(Object.prototype).not.toHaveProperty('polluted');
    });

    it('values read back share nothing with the caller: mutating one changes nothing stored', async () => {
      const b = h.backend();
      const value = { list: [1, 2], inner: { v: 'a' } };
      const version = (await b.coordination.write(key('copy'), value, null))!;
      value.list.push(3);
      const [got] = await b.coordination.read([key('copy')]);
      (got!.value as { list: number[] }).list.push(99);
      expect(await b.coordination.read([key('copy')])).toEqual([{ value: { list: [1, 2], inner: { v: 'a' } }, version }]);
    });
  });
}
