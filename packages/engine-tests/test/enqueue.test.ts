// Enqueue: idempotent by key, refuses bad input with typed errors storing nothing, keeps every
// key of the input (prototype-named ones too), honours delay, queue and priority.
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, PayloadTooLargeError, ValidationError, generateKey } from '@baton/core';
import { closeAll, harness, type Harness } from './helpers.js';

afterEach(closeAll);

async function nothingStored(h: Harness): Promise<void> {
  expect((await h.memory.tasks.list({ limit: 10 })).tasks).toEqual([]);
  expect(await h.memory.queue.depth()).toMatchObject({ ready: 0, leased: 0, delayed: 0 });
  expect(await h.memory.events.query({ limit: 10 })).toEqual([]);
}

const prototypeNames = () => Object.getOwnPropertyNames(Object.prototype).sort();

describe('enqueue', () => {
  it('skips a duplicate enqueue: same type and input (any key order) give one task', async () => {
    const h = harness();
    const a = await h.baton.enqueue('intake', { idea: 'test', n: 1 });
    const b = await h.baton.enqueue('intake', { n: 1, idea: 'test' });
    expect(a.duplicate).toBe(false);
    expect(b).toEqual({ taskId: a.taskId, duplicate: true, key: a.key });
    expect(a.key).toBe(generateKey('intake', { idea: 'test', n: 1 }, 'v1'));
    expect((await h.memory.queue.depth()).ready).toBe(1);
    expect((await h.memory.events.query({ type: ['task.enqueued'], limit: 10 })).map((e) => e.taskId)).toEqual([a.taskId]);
  });

  it('a key maps to its task for keyTtlMs only; the registered version goes into the key', async () => {
    const h = harness();
    h.baton.register('versioned', () => null, { version: 'v2' });
    const a = await h.baton.enqueue('versioned', { x: 1 }, { keyTtlMs: 1_000 });
    expect(a.key).toBe(generateKey('versioned', { x: 1 }, 'v2'));
    expect((await h.baton.enqueue('versioned', { x: 1 })).duplicate).toBe(true);
    await h.clock.advance(1_001);
    const again = await h.baton.enqueue('versioned', { x: 1 });
    expect(again.duplicate).toBe(false);
    expect(again.taskId).not.toBe(a.taskId);
  });

  it('refuses cyclic, BigInt, function and oversized payloads with typed errors and stores nothing', async () => {
    const h = harness({ maxPayloadBytes: 1024 });
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    await expect(h.baton.enqueue('t', cyclic)).rejects.toBeInstanceOf(ValidationError);
    await expect(h.baton.enqueue('t', { n: 10n } as never)).rejects.toThrow(/BigInt/);
    await expect(h.baton.enqueue('t', { f: () => 1 } as never)).rejects.toThrow(/function/);
    const big = h.baton.enqueue('t', { s: 'x'.repeat(2048) });
    await expect(big).rejects.toBeInstanceOf(PayloadTooLargeError);
    await expect(big).rejects.toThrow(/maxPayloadBytes/);
    await expect(h.baton.enqueue('', {})).rejects.toBeInstanceOf(ValidationError);
    await expect(h.baton.enqueue('t', {}, null as never)).rejects.toBeInstanceOf(ValidationError);
    await expect(h.baton.enqueue('t', {}, { version: 10n } as never)).rejects.toBeInstanceOf(ValidationError);
    await expect(h.baton.enqueue('t', {}, { priority: 10_001 })).rejects.toBeInstanceOf(ValidationError);
    await expect(h.baton.enqueue('t', {}, { delayMs: 366 * 24 * 3_600_000 })).rejects.toBeInstanceOf(ValidationError);
    // One bad spec in a batch: nothing of the batch is written.
    await expect(h.baton.enqueueMany([{ type: 'ok', input: 1 }, { type: 'bad', input: cyclic as never }])).rejects.toBeInstanceOf(ValidationError);
    await expect(h.baton.enqueueMany('nope' as never)).rejects.toBeInstanceOf(ValidationError);
    await nothingStored(h);
  });

  it('refuses a transaction on a backend that cannot enqueue inside one', async () => {
    const h = harness();
    await expect(h.baton.enqueue('t', {}, { transaction: {} })).rejects.toBeInstanceOf(ConfigError);
    await nothingStored(h);
  });

  it('refuses to enqueue once closed', async () => {
    const h = harness();
    await h.baton.close();
    await expect(h.baton.enqueue('t', {})).rejects.toBeInstanceOf(ConfigError);
  });

  it('every input key round-trips through enqueue and get, Object.prototype untouched', async () => {
    const h = harness();
    const text = '{"constructor":"Ford","model":"T","__proto__":{"polluted":true},"prototype":{"x":[1,{"constructor":null,"__proto__":[]}]},"z":1}';
    const input = JSON.parse(text) as Record<string, unknown>;
    const before = prototypeNames();
    const sent = await h.baton.enqueue('car', input);
    const stored = await h.baton.getTask(sent.taskId);
    expect(JSON.stringify(stored?.input)).toBe(text);
    expect(Object.getPrototypeOf(stored?.input)).toBe(Object.prototype);
    expect(Object.keys(stored!.input as object)).toEqual(['constructor', 'model', '__proto__', 'prototype', 'z']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    // The key hashes on what was sent: dropping the odd keys gives another task.
    const plain = await h.baton.enqueue('car', { constructor: 'Ford', model: 'T', prototype: { x: [1, { constructor: null }] }, z: 1 });
    expect(plain.duplicate).toBe(false);
    // And back out as a result, through a handler.
    h.baton.register('car', (i) => i);
    await h.baton.start();
    await h.until(async () => (await h.task(sent.taskId)).state === 'completed', 'completion');
    expect(JSON.stringify((await h.task(sent.taskId)).result)).toBe(text);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(prototypeNames()).toEqual(before);
  });
});

describe('delivery', () => {
  it('a delayed task is not claimable before its delay', async () => {
    const h = harness();
    const runs: number[] = [];
    h.baton.register('later', () => void runs.push(h.clock.now()));
    await h.baton.start();
    const start = h.clock.now();
    const { taskId } = await h.baton.enqueue('later', {}, { delayMs: 5_000 });
    expect((await h.memory.queue.depth()).delayed).toBe(1);
    await h.clock.advance(4_900);
    expect(runs).toEqual([]);
    await h.until(async () => (await h.task(taskId)).state === 'completed', 'completion');
    expect(runs[0]! - start).toBeGreaterThanOrEqual(5_000);
    expect((await h.stored(taskId))[0]!.data).toMatchObject({ delayMs: 5_000 });
  });

  it('runs higher priority first within a queue, FIFO within one priority', async () => {
    const h = harness({ worker: { concurrency: 1, claimBatchSize: 1 } });
    const order: string[] = [];
    h.baton.register('job', (input: { name: string }) => void order.push(input.name));
    await h.baton.enqueueMany([
      { type: 'job', input: { name: 'low-1' }, priority: -5 },
      { type: 'job', input: { name: 'mid-1' } },
      { type: 'job', input: { name: 'high' }, priority: 10 },
      { type: 'job', input: { name: 'mid-2' } },
      { type: 'job', input: { name: 'low-2' }, priority: -5 },
    ]);
    await h.baton.start();
    await h.until(() => order.length === 5, 'all ran');
    expect(order).toEqual(['high', 'mid-1', 'mid-2', 'low-1', 'low-2']);
  });

  it('routes a task to its registered queue, or the one enqueue names', async () => {
    const h = harness({ worker: { queues: ['pdf'] } });
    h.baton.register('render', () => 'pdf', { queue: 'pdf' });
    h.baton.register('mail', () => 'sent');
    const a = await h.baton.enqueue('render', {});
    const b = await h.baton.enqueue('mail', {});
    const c = await h.baton.enqueue('mail', { urgent: true }, { queue: 'pdf' });
    await h.baton.start();
    await h.until(async () => (await h.task(a.taskId)).state === 'completed' && (await h.task(c.taskId)).state === 'completed', 'pdf queue drained');
    expect(await h.task(b.taskId)).toMatchObject({ state: 'pending', queue: 'default' });
    expect((await h.task(c.taskId)).queue).toBe('pdf');
  });
});
