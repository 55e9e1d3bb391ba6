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
});

describe('JSON safety', () => {
  it('parses without letting __proto__ or constructor keys pollute prototypes', () => {
    const parsed = parseJson<Record<string, unknown>>('{"__proto__":{"polluted":true},"constructor":{"x":1},"ok":1}');
    expect(parsed).toEqual({ ok: 1 });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
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
