// Bad input through the public API on this backend: every malformed name, payload and option is
// refused at the call with a typed error and nothing is stored; every odd-but-valid value is
// stored and comes back exactly as sent; nothing reaches Object.prototype.
import { describe, expect, it } from 'vitest';
import { ConfigError, PayloadTooLargeError, ValidationError, createBaton, silentLogger, type Backend, type Baton } from '@baton/core';
import { makeBaton, WAIT } from './engine-suite.js';
import type { Harness } from './harness.js';

async function nothingStored(b: Backend): Promise<void> {
  expect((await b.tasks.list({ limit: 10 })).tasks).toEqual([]);
  expect(await b.queue.depth()).toMatchObject({ ready: 0, leased: 0, delayed: 0 });
}

function prototypeSnapshot(): string[] {
  return Object.getOwnPropertyNames(Object.prototype).sort();
}

const GOOD_NAMES = ["x'; DROP TABLE tasks; --", '{hash}tag', '__proto__', 'constructor', 'prototype', '报告🚀', 'a'.repeat(200), 'with space', '$(rm -rf /)'];
const BAD_NAMES: [string, unknown][] = [
  ['empty', ''],
  ['300 characters', 'a'.repeat(300)],
  ['a lone high surrogate', 'task\uD800'],
  ['a lone low surrogate', '\uDC00task'],
  ['a control character', 'tab\u0000null'],
  ['a number', 42],
  ['null', null],
];

export function badInputSuite(h: Harness): void {
  describe('Bad input at the API', () => {
    it('refuses malformed task types, queue names and groups with a ValidationError and stores nothing', async () => {
      const b = h.backend();
      const baton = makeBaton(h, b);
      for (const [, name] of BAD_NAMES) {
        await expect(baton.enqueue(name as string, {})).rejects.toBeInstanceOf(ValidationError);
        // null is "no group"; every other bad name is refused.
        if (name !== null) await expect(baton.enqueue('t', {}, { group: name as string })).rejects.toBeInstanceOf(ValidationError);
        expect(() => baton.register(name as string, () => null)).toThrow(ConfigError);
      }
      for (const q of ['', 'a b', '{slot}', '_leading', 'é', 'x'.repeat(101), 'a/b', '*']) {
        await expect(baton.enqueue('t', {}, { queue: q })).rejects.toBeInstanceOf(ValidationError);
        expect(() => baton.register(`t-${q}`, () => null, { queue: q })).toThrow(ConfigError);
        await expect(baton.queues.pause(q)).rejects.toBeInstanceOf(ValidationError);
      }
      await nothingStored(b);
    });

    it('stores odd but valid names exactly and runs their handlers', async () => {
      const b = h.backend();
      const baton = makeBaton(h, b);
      for (const name of GOOD_NAMES) baton.register(name, (input) => input);
      const before = prototypeSnapshot();
      const ids = await baton.enqueueMany(GOOD_NAMES.map((name, i) => ({ type: name, input: { i }, group: name })));
      await baton.start();
      for (const [i, r] of ids.entries()) {
        expect(await baton.waitFor(r.taskId, WAIT)).toMatchObject({ type: GOOD_NAMES[i], group: GOOD_NAMES[i], state: 'completed', result: { i } });
      }
      expect(prototypeSnapshot()).toEqual(before);
    });

    it('refuses payloads that are not plain JSON or too large, with typed errors, storing nothing', async () => {
      const b = h.backend();
      const baton = makeBaton(h, b);
      const cyclic: Record<string, unknown> = { a: 1 };
      cyclic.self = cyclic;
      let deep: Record<string, unknown> = {};
      for (let i = 0; i < 100_000; i++) deep = { d: deep };
      const bad: unknown[] = [cyclic, { n: 10n }, undefined, { f: () => 1 }, { n: NaN }, { n: Infinity }, { s: Symbol('x') }, new Map([[1, 2]]), [1, undefined, () => 1].slice(2), deep];
      for (const input of bad) await expect(baton.enqueue('t', input)).rejects.toBeInstanceOf(ValidationError);
      await expect(baton.enqueue('t', { s: 'x'.repeat(10 * 1024 * 1024) })).rejects.toBeInstanceOf(PayloadTooLargeError);
      // One bad spec in a batch: nothing of the batch is written.
      await expect(baton.enqueueMany([{ type: 'ok', input: 1 }, { type: 'bad', input: cyclic as never }])).rejects.toBeInstanceOf(ValidationError);
      await nothingStored(b);
    });

    it('input round-trips as the exact JSON text sent, prototype-named keys included, and hashes on what was sent', async () => {
      const b = h.backend();
      const baton = makeBaton(h, b);
      const text = '{"constructor":"Ford","model":"T","__proto__":{"polluted":true},"prototype":{"x":[1,{"constructor":null}]},"z":1,"a":"é\\u0000"}';
      const input = JSON.parse(text) as Record<string, unknown>;
      const before = prototypeSnapshot();
      const sent = await baton.enqueue('car', input);
      const plain = await baton.enqueue('car', { model: 'T' });
      expect(plain.duplicate).toBe(false);
      expect(plain.key).not.toBe(sent.key);
      const stored = await b.tasks.get(sent.taskId);
      expect(JSON.stringify(stored?.input)).toBe(text);
      expect(Object.getPrototypeOf(stored?.input)).toBe(Object.prototype);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      expect(prototypeSnapshot()).toEqual(before);
      baton.register('car', (i) => i);
      await baton.start();
      const done = await baton.waitFor(sent.taskId, WAIT);
      expect(JSON.stringify(done.result)).toBe(text);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    });

    it('refuses out-of-range or mistyped enqueue options with a ValidationError and stores nothing', async () => {
      const b = h.backend();
      const baton = makeBaton(h, b);
      const bad: Record<string, unknown>[] = [
        { delayMs: NaN },
        { delayMs: -1 },
        { delayMs: 1e20 },
        { delayMs: '5' },
        { keyTtlMs: 1e20 },
        { keyTtlMs: 0 },
        { priority: 1.5 },
        { priority: 1e6 },
        { priority: '1' },
        { maxRetries: -1 },
        { maxRetries: 2.5 },
        { version: 10n },
        { version: '' },
        { key: 'k'.repeat(10 * 1024) },
        { key: 42 },
        { runId: 'r'.repeat(300) },
        { phaseId: 7 },
        { budget: { costUsd: -1 } },
        { budget: { tokens: NaN } },
        { budget: 'lots' },
      ];
      for (const options of bad) {
        const attempt = baton.enqueue('t', {}, options as never);
        await expect(attempt, JSON.stringify(options, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v))).rejects.toBeInstanceOf(ValidationError);
      }
      await nothingStored(b);
    });

    it('refuses bad baton and queue options with ConfigError / ValidationError naming the field', async () => {
      const b = h.backend();
      const make = (o: Record<string, unknown>) => () => createBaton({ backend: b, logger: silentLogger, ...o } as never);
      expect(make({ worker: { concurrency: 0 } })).toThrow(/worker\.concurrency/);
      expect(make({ worker: { stallTimeoutMs: 1e20 } })).toThrow(ConfigError);
      expect(make({ worker: { queues: ['bad name'] } })).toThrow(ConfigError);
      expect(make({ queues: { pdf: { concurrency: 0 } } })).toThrow(/concurrency of queue "pdf"/);
      expect(make({ queues: { pdf: { rateLimit: { max: 0, perMs: 1000 } } } })).toThrow(ConfigError);
      expect(make({ queues: { pdf: { rateLimit: { max: 5, perMs: -1 } } } })).toThrow(ConfigError);
      expect(make({ retry: { maxRetries: -1 } })).toThrow(/retry\.maxRetries/);
      expect(make({ breaker: { failureRate: 2 } })).toThrow(/breaker\.failureRate/);
      expect(() => createBaton({ backend: (() => b) as never })).toThrow(ConfigError);
      const baton: Baton = makeBaton(h, b);
      await expect(baton.queues.configure('pdf', { concurrency: 0 })).rejects.toBeInstanceOf(ValidationError);
      await expect(baton.queues.configure('pdf', { rateLimit: { max: -5, perMs: 10 } })).rejects.toBeInstanceOf(ValidationError);
      await expect(baton.queues.configure('pdf', { groupConcurrency: 1.5 })).rejects.toBeInstanceOf(ValidationError);
      expect((await b.queue.queues()).find((q) => q.name === 'pdf')).toBeUndefined();
      await expect(baton.timers.schedule('t', 1e20)).rejects.toBeInstanceOf(ValidationError);
      await expect(baton.queryEvents({ limit: Number.NaN })).rejects.toBeInstanceOf(ValidationError);
      await expect(baton.waitFor('')).rejects.toBeInstanceOf(ValidationError);
    });
  });
}
