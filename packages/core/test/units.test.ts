import { describe, expect, it } from 'vitest';
import { RetryPolicy, canonicalJson, generateKey, parseJson, serializeJson, splitBudget, validateName, ConfigError, PermanentError, LeaseLostError, isRetryable, redactUrl } from '@baton/core';

describe('idempotency keys', () => {
  it('are sha256 over type, canonical input and version', () => {
    expect(generateKey('t', { a: 1, b: [1, { d: 2, c: 3 }] })).toBe(generateKey('t', { b: [1, { c: 3, d: 2 }], a: 1 }));
    expect(generateKey('t', { a: 1 }, 'v1')).not.toBe(generateKey('t', { a: 1 }, 'v2'));
    expect(generateKey('t', { a: 1 })).not.toBe(generateKey('u', { a: 1 }));
    expect(generateKey('t', {})).toMatch(/^[0-9a-f]{64}$/);
    expect(canonicalJson({ b: 1, a: { d: 1, c: 2 } })).toBe('{"a":{"c":2,"d":1},"b":1}');
  });

  it('canonical JSON is JSON.stringify of a key-sorted copy, for every shape of JSON (keys stay stable across versions)', () => {
    const sorted = (v: unknown): unknown => {
      if (Array.isArray(v)) return v.map(sorted);
      if (v !== null && typeof v === 'object' && !(v instanceof Date)) {
        return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sorted((v as Record<string, unknown>)[k])]));
      }
      return v;
    };
    let seed = 7;
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % n);
    const atoms = ['', 'a"b\\c', 'ünï 🎉', '\u2028', 0, -0, 1.5e300, -7, true, false, null, undefined, new Date(86_400_000)];
    const gen = (depth: number): unknown => {
      const pick = rnd(depth > 3 ? 1 : 3);
      if (pick === 0) return atoms[rnd(atoms.length)];
      if (pick === 1) return Array.from({ length: rnd(4) }, () => gen(depth + 1));
      return Object.fromEntries(Array.from({ length: rnd(5) }, () => [['z', 'a', 'B', 'é', '10', '9', '__x', 'a.b'][rnd(8)]!, gen(depth + 1)]));
    };
    for (let i = 0; i < 500; i++) {
      const v = gen(0);
      expect(canonicalJson(v)).toBe(JSON.stringify(sorted(v)) ?? 'null');
    }
  });
});

describe('JSON safety', () => {
  it('parses without letting __proto__ or constructor keys pollute prototypes', () => {
    const parsed = parseJson<Record<string, unknown>>('{"__proto__":{"polluted":true},"constructor":{"x":1},"ok":1}');
    expect(parsed).toEqual({ ok: 1 });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(parseJson('{"a":{"prototype":1,"b":[{"constructor":2}]},"c":"__proto__"}')).toEqual({ a: { b: [{}] }, c: '__proto__' });
    expect(parseJson('{"a":[1,{"b":"c"}]}')).toEqual({ a: [1, { b: 'c' }] });
    const escaped = parseJson<Record<string, unknown>>('{"\\u005f_proto__":{"polluted":1},"a":2}');
    expect(Object.prototype.hasOwnProperty.call(escaped, '__proto__')).toBe(false);
    expect(escaped.a).toBe(2);
  });

  it('names the path of the offending value', () => {
    const limits = { maxBytes: 1_000, maxDepth: 5 };
    const cyclic: Record<string, unknown> = { a: [1, {}] };
    (cyclic.a as unknown[])[1] = cyclic;
    expect(() => serializeJson({ a: [1, { b: NaN }] }, 'x', limits)).toThrow('at $.a[1].b;');
    expect(() => serializeJson(cyclic, 'x', limits)).toThrow('cycle at $.a[1];');
    const shared = { s: 1 };
    expect(serializeJson({ a: shared, b: [shared] }, 'x', limits)).toBe('{"a":{"s":1},"b":[{"s":1}]}');
  });

  it('refuses class instances, symbols, NaN and too-deep nesting', () => {
    const limits = { maxBytes: 1_000, maxDepth: 3 };
    expect(() => serializeJson(new Map(), 'x', limits)).toThrow(/Map instance/);
    expect(() => serializeJson({ n: NaN }, 'x', limits)).toThrow(/non-finite/);
    expect(() => serializeJson({ s: Symbol('s') }, 'x', limits)).toThrow(/symbol/);
    expect(() => serializeJson({ a: { b: { c: { d: 1 } } } }, 'x', limits)).toThrow(/deeper than 3/);
    expect(serializeJson({ d: new Date(0) }, 'x', limits)).toBe('{"d":"1970-01-01T00:00:00.000Z"}');
  });
});

describe('retry policy', () => {
  it('doubles from base to max, jitters within bounds, classifies permanence', () => {
    const p = new RetryPolicy({ baseMs: 1_000, maxMs: 5_000 });
    expect([0, 1, 2, 3, 10].map((a) => p.delayMs(a))).toEqual([1_000, 2_000, 4_000, 5_000, 5_000]);
    const j = new RetryPolicy({ baseMs: 1_000, jitter: 0.5 }, () => 1);
    expect(j.delayMs(0)).toBe(500);
    expect(p.shouldRetry(new Error('x'), 2)).toBe(true);
    expect(p.shouldRetry(new Error('x'), 3)).toBe(false);
    expect(p.shouldRetry(new PermanentError('x'), 0)).toBe(false);
    expect(isRetryable(new LeaseLostError('t'))).toBe(false);
    expect(() => new RetryPolicy({ baseMs: -1 })).toThrow(ConfigError);
  });
});

describe('budgets', () => {
  it('split evenly, remainders to the first shares', () => {
    expect(splitBudget({ tokens: 7, costUsd: 0.1 }, 3)).toEqual([
      { tokens: 3, costUsd: 0.033334 },
      { tokens: 2, costUsd: 0.033333 },
      { tokens: 2, costUsd: 0.033333 },
    ]);
    expect(splitBudget(undefined, 2)).toEqual([undefined, undefined]);
  });
});

describe('names and secrets', () => {
  it('validates identifiers before they reach SQL or keys', () => {
    expect(validateName('schema', 'baton_app1')).toBe('baton_app1');
    for (const bad of ['', 'Baton', '1abc', 'a-b', 'a;drop table', 'x'.repeat(49), 42]) expect(() => validateName('schema', bad)).toThrow(ConfigError);
  });

  it('redacts passwords from connection URLs', () => {
    expect(redactUrl('postgres://app:s3cret@db:5432/x')).toBe('postgres://app:***@db:5432/x');
    expect(redactUrl('redis://:pw@127.0.0.1:6379')).not.toContain('pw');
  });
});
