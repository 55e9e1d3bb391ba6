// Small pure pieces of core: idempotency keys, canonical and checked JSON, the retry policy,
// budgets, identifier checks, URL redaction and task sharding.
import { describe, expect, it } from 'vitest';
import { splitBudget, validateBudget } from '../src/budget.js';
import { ConfigError, LeaseLostError, PermanentError, ValidationError, isRetryable } from '../src/errors.js';
import { generateKey, newId } from '../src/idempotency.js';
import { createHash } from 'node:crypto';
import { canonicalJson, copyJson, serializeJson } from '../src/json.js';
import { PayloadTooLargeError } from '../src/errors.js';
import { redactUrl } from '../src/logger.js';
import { validateName } from '../src/names.js';
import { compileRetryPolicy } from '../src/retry-policy.js';
import { Scheduler } from '../src/scheduler.js';

describe('idempotency keys', () => {
  it('are sha256 over type, canonical input and version', () => {
    expect(generateKey('t', { a: 1, b: [1, { d: 2, c: 3 }] })).toBe(generateKey('t', { b: [1, { c: 3, d: 2 }], a: 1 }));
    expect(generateKey('t', { a: 1 }, 'v1')).not.toBe(generateKey('t', { a: 1 }, 'v2'));
    expect(generateKey('t', { a: 1 })).not.toBe(generateKey('u', { a: 1 }));
    expect(generateKey('t', {})).toMatch(/^[0-9a-f]{64}$/);
    expect(canonicalJson({ b: 1, a: { d: 1, c: 2 } })).toBe('{"a":{"c":2,"d":1},"b":1}');
    // The same bytes whichever sha256 Node offers (one-shot crypto.hash or createHash).
    expect(generateKey('t', { b: 'é', a: [1] }, 'v3')).toBe(createHash('sha256').update('["t",{"a":[1],"b":"é"},"v3"]').digest('hex'));
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

describe('ids', () => {
  it('are UUID v7: the creation ms in the first 48 bits, random after, unique, and later ids sort after earlier ones', async () => {
    const before = Date.now();
    const a = Array.from({ length: 20_000 }, () => newId());
    const after = Date.now();
    for (const id of a) {
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      const ms = parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
      expect(ms).toBeGreaterThanOrEqual(before);
      expect(ms).toBeLessThanOrEqual(after);
    }
    expect(new Set(a).size).toBe(a.length);
    // Within one ms the order is random; across ms it is creation order.
    await new Promise((r) => setTimeout(r, 3));
    const later = newId();
    expect(a.every((id) => id < later)).toBe(true);
  });
});

describe('checked JSON', () => {
  it('names the path of the offending value', () => {
    const limits = { maxBytes: 1_000, maxDepth: 5 };
    const cyclic: Record<string, unknown> = { a: [1, {}] };
    (cyclic.a as unknown[])[1] = cyclic;
    expect(() => serializeJson({ a: [1, { b: NaN }] }, 'x', limits)).toThrow('at $.a[1].b;');
    expect(() => serializeJson(cyclic, 'x', limits)).toThrow('cycle at $.a[1];');
    const shared = { s: 1 };
    expect(serializeJson({ a: shared, b: [shared] }, 'x', limits)).toBe('{"a":{"s":1},"b":[{"s":1}]}');
  });

  it('refuses class instances, symbols, BigInt, functions, NaN and too-deep nesting with ValidationError', () => {
    const limits = { maxBytes: 1_000, maxDepth: 3 };
    expect(() => serializeJson(new Map(), 'x', limits)).toThrow(/Map instance/);
    expect(() => serializeJson({ n: NaN }, 'x', limits)).toThrow(/non-finite/);
    expect(() => serializeJson({ s: Symbol('s') }, 'x', limits)).toThrow(/symbol/);
    expect(() => serializeJson({ n: 10n }, 'x', limits)).toThrow(ValidationError);
    expect(() => serializeJson({ f: () => 1 }, 'x', limits)).toThrow(/function/);
    expect(() => serializeJson(undefined, 'x', limits)).toThrow(ValidationError);
    expect(() => serializeJson({ a: { b: { c: { d: 1 } } } }, 'x', limits)).toThrow(/deeper than 3/);
    expect(serializeJson({ d: new Date(0) }, 'x', limits)).toBe('{"d":"1970-01-01T00:00:00.000Z"}');
  });
});

describe('copyJson: the checked copy an enqueue stores', () => {
  let seed = 11;
  const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % n);
  const atoms = ['', 'a"b\\c\n', 'ünï 🎉', '\u2028', '\ud800', '\u0001'.repeat(3), 0, -0, 1.5e300, -7.25, true, false, null, undefined, new Date(86_400_000), new Date(NaN)];
  const gen = (depth: number): unknown => {
    const pick = rnd(depth > 3 ? 1 : 4);
    if (pick === 0) return atoms[rnd(atoms.length)];
    if (pick === 1) {
      const a: unknown[] = Array.from({ length: rnd(4) }, () => gen(depth + 1));
      if (rnd(4) === 0) a[a.length + 1] = 1; // a hole
      return a;
    }
    if (pick === 2) return Object.create(null) as object;
    const o: Record<string, unknown> = {};
    for (let i = rnd(5); i > 0; i--) Object.defineProperty(o, ['z', 'a', '__proto__', 'é', '10', '9', 'constructor', 'a.b'][rnd(8)]!, { value: gen(depth + 1), enumerable: true, writable: true, configurable: true });
    return o;
  };
  /** Key order and -0 included, which toEqual does not check. */
  const same = (a: unknown, b: unknown): boolean => {
    if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return Object.is(a, b);
    if (Array.isArray(a) !== Array.isArray(b) || Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
    const ka = Object.keys(a);
    const kb = Object.keys(b);
    return ka.length === kb.length && ka.every((k, i) => k === kb[i] && same((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
  };

  it('is exactly what JSON.parse(JSON.stringify(value)) gives, key order, -0 and __proto__ included', () => {
    const limits = { maxBytes: 1_000_000, maxDepth: 10 };
    for (let i = 0; i < 2_000; i++) {
      const v = gen(0);
      if (v === undefined) continue;
      const copy = copyJson(v, 'x', limits);
      expect(same(copy, JSON.parse(JSON.stringify(v)))).toBe(true);
      expect(JSON.stringify(copy)).toBe(serializeJson(v, 'x', limits));
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('is a copy: changing the value afterwards changes nothing stored', () => {
    const input = { a: { b: [1, 2] }, d: new Date(0) };
    const copy = copyJson(input, 'x', { maxBytes: 1_000, maxDepth: 5 }) as { a: { b: number[] }; d: string };
    input.a.b.push(3);
    input.d.setTime(1);
    expect(copy).toEqual({ a: { b: [1, 2] }, d: '1970-01-01T00:00:00.000Z' });
  });

  it('refuses a value over the limit by its exact size in bytes, and takes one exactly at it', () => {
    for (let i = 0; i < 500; i++) {
      const v = gen(0) ?? null;
      const bytes = Buffer.byteLength(JSON.stringify(v), 'utf8');
      expect(copyJson(v, 'x', { maxBytes: bytes, maxDepth: 10 })).toBeDefined();
      if (bytes < 2) continue;
      let caught: unknown;
      try {
        copyJson(v, 'x', { maxBytes: bytes - 1, maxDepth: 10 });
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(PayloadTooLargeError);
      expect(caught).toMatchObject({ sizeBytes: bytes, limitBytes: bytes - 1 });
    }
    // Multi-byte text counts in UTF-8 bytes: 'é' is 2, an escaped control character 6.
    expect(() => copyJson('é'.repeat(10), 'Input', { maxBytes: 21, maxDepth: 1 })).toThrow(/Input is 22 B; the limit is 21 B/);
    expect(copyJson('\u0001'.repeat(10), 'x', { maxBytes: 62, maxDepth: 1 })).toBe('\u0001'.repeat(10));
  });

  it('refuses what serializeJson refuses, naming the path', () => {
    const limits = { maxBytes: 1_000, maxDepth: 3 };
    expect(() => copyJson({ a: [1, { b: NaN }] }, 'x', limits)).toThrow('at $.a[1].b;');
    expect(() => copyJson({ m: new Map() }, 'x', limits)).toThrow(/Map instance at \$\.m/);
    expect(() => copyJson(undefined, 'x', limits)).toThrow(ValidationError);
    expect(() => copyJson({ a: { b: { c: { d: 1 } } } }, 'x', limits)).toThrow(/deeper than 3/);
  });
});

describe('retry policy', () => {
  it('doubles from base to max, jitters within bounds, classifies permanence', () => {
    const p = compileRetryPolicy('retry', { baseMs: 1_000, maxMs: 5_000 });
    expect([0, 1, 2, 3, 10].map((a) => p.delayMs(a))).toEqual([1_000, 2_000, 4_000, 5_000, 5_000]);
    const j = compileRetryPolicy('retry', { baseMs: 1_000, jitter: 0.5 }, undefined, () => 1);
    expect(j.delayMs(0)).toBe(500);
    expect(p.shouldRetry(new Error('x'), 2)).toBe(true);
    expect(p.shouldRetry(new Error('x'), 3)).toBe(false);
    expect(p.shouldRetry(new PermanentError('x'), 0)).toBe(false);
    expect(isRetryable(new LeaseLostError('t'))).toBe(false);
    expect(() => compileRetryPolicy('retry', { baseMs: -1 })).toThrow(ConfigError);
    expect(() => compileRetryPolicy('retry', { jitter: 2 })).toThrow(/retry.jitter/);
  });

  it('a per-type policy merges over the base one and keeps its classifier', () => {
    const base = compileRetryPolicy('retry', { baseMs: 100, maxRetries: 5, classify: (err) => (String(err).includes('401') ? 'permanent' : undefined) });
    const own = compileRetryPolicy('retry of task type "x"', { maxRetries: 1 }, base);
    expect(own).toMatchObject({ baseMs: 100, maxRetries: 1 });
    expect(own.classify(new Error('HTTP 401'))).toBe('permanent');
    expect(own.classify(new Error('HTTP 503'))).toBe('retryable');
    expect(() => compileRetryPolicy('retry of task type "x"', { maxRetries: 1.5 }, base)).toThrow(/retry of task type "x".maxRetries/);
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

  it('are checked field by field', () => {
    expect(validateBudget('task "t"', { costUsd: 1, tokens: 0 })).toEqual({ costUsd: 1, tokens: 0 });
    expect(validateBudget('task "t"', undefined)).toBeNull();
    expect(() => validateBudget('task "t"', { tokens: -1 })).toThrow(/budget.tokens of task "t"/);
    expect(() => validateBudget('task "t"', { timeMs: NaN })).toThrow(ValidationError);
    expect(() => validateBudget('task "t"', [])).toThrow(ValidationError);
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

describe('scheduler', () => {
  const scheduler = new Scheduler({
    enqueueMany: () => Promise.reject(new Error('unused')),
    scheduleTimeout: () => Promise.reject(new Error('unused')),
    cancelPhase: () => Promise.reject(new Error('unused')),
  });

  it('shards a task into pieces of at most N items, splitting its budget', () => {
    const shards = scheduler.shardTask({ type: 'embed', input: { model: 'm', items: Array.from({ length: 250 }, (_, i) => i) }, budget: { tokens: 1_000 } }, 100);
    expect(shards.map((s) => (s.input as { items: number[] }).items.length)).toEqual([100, 100, 50]);
    expect(shards.map((s) => (s.input as { shard: unknown }).shard)).toEqual([
      { index: 0, count: 3 },
      { index: 1, count: 3 },
      { index: 2, count: 3 },
    ]);
    expect(shards.map((s) => s.budget?.tokens)).toEqual([334, 333, 333]);
    expect(() => scheduler.shardTask({ type: 'x', input: { notItems: 1 } }, 10)).toThrow(ValidationError);
    expect(() => scheduler.shardTask({ type: 'x', input: { items: [] } }, 0)).toThrow(ValidationError);
  });

  it('plans a phase: budget split with integer remainders, keys scoped to run, phase and position', () => {
    const plan = { phaseId: 'research', tasks: [0, 1, 2].map((i) => ({ type: 'agent', input: { i } })), budget: { costUsd: 1, tokens: 10, timeMs: 1_000 } };
    const specs = scheduler.plan(plan, { runId: 'run-1' });
    expect(specs.map((s) => s.budget)).toEqual([
      { costUsd: 0.333334, tokens: 4, timeMs: 334 },
      { costUsd: 0.333333, tokens: 3, timeMs: 333 },
      { costUsd: 0.333333, tokens: 3, timeMs: 333 },
    ]);
    expect(scheduler.plan(plan, { runId: 'run-1' }).map((s) => s.key)).toEqual(specs.map((s) => s.key));
    const other = scheduler.plan(plan, { runId: 'run-2' }).map((s) => s.key);
    expect(other.filter((k) => specs.some((s) => s.key === k))).toEqual([]);
    expect(() => scheduler.plan({ ...plan, phaseId: '' }, { runId: 'r' })).toThrow(ValidationError);
  });
});
