// What users pass is checked once, before any port sees it: query limits and filters
// (normalize.ts), task specs (task-spec.ts), names (names.ts) and options (options.ts). Bad input
// is a typed Baton error naming the field — never a TypeError from deeper down.
import { describe, expect, it } from 'vitest';
import type { TaskSpec } from '../src/api.js';
import { BatonError, ConfigError, ValidationError } from '../src/errors.js';
import { validateQueueName, validateTaskType, validateText } from '../src/names.js';
import { DEFAULT_LIMIT, MAX_LIMIT, normaliseEventQuery, normaliseLimit, normaliseTaskFilter, normaliseTaskQuery } from '../src/normalize.js';
import { MAX_DURATION_MS, compileBreaker, compileOptions, compileQueueLimits, type BatonOptions } from '../src/options.js';
import { Registry } from '../src/registry.js';
import { prepareTask } from '../src/task-spec.js';
import { stubBackend } from './helpers.js';

const options = compileOptions({ backend: stubBackend() });
const registry = new Registry(options.retry);
/** A spec as a user might pass it, mistakes included (hence untyped values). */
const prepare = (spec: Record<string, unknown>) => prepareTask({ type: 't', input: {}, ...spec } as unknown as TaskSpec, options, registry);
const compile = (o: Partial<BatonOptions> & Record<string, unknown>) => () => compileOptions({ backend: stubBackend(), ...o } as BatonOptions);

/** Runs `fn`, expecting a BatonError of `cls` (a TypeError or RangeError from deeper down fails the test). */
function refuses(fn: () => unknown, cls: typeof ValidationError | typeof ConfigError, message?: RegExp | string): void {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught, 'expected a throw').toBeInstanceOf(BatonError);
  expect(caught).toBeInstanceOf(cls);
  if (message !== undefined) expect((caught as Error).message).toMatch(message);
}

describe('query limits', () => {
  it('default to 100, floor fractions, clamp negatives to 0 and large values to 1000', () => {
    expect(normaliseLimit(undefined)).toBe(DEFAULT_LIMIT);
    expect(normaliseLimit(2.9)).toBe(2);
    expect(normaliseLimit(0.5)).toBe(0);
    expect(normaliseLimit(-5)).toBe(0);
    expect(normaliseLimit(-0.5)).toBe(0);
    expect(normaliseLimit(5_000)).toBe(MAX_LIMIT);
    expect(normaliseLimit(Infinity)).toBe(MAX_LIMIT);
    expect(normaliseLimit(-Infinity)).toBe(0);
  });

  it('refuse NaN and non-numbers with a ValidationError', () => {
    for (const bad of [NaN, '10', null, 10n, {}]) refuses(() => normaliseLimit(bad), ValidationError, /limit/);
    refuses(() => normaliseTaskQuery({}, { limit: NaN }), ValidationError);
    refuses(() => normaliseEventQuery({ limit: NaN }), ValidationError);
    expect(normaliseTaskQuery({}, { limit: 7.5 }).limit).toBe(7);
    expect(normaliseEventQuery({ limit: -3 }).limit).toBe(0);
  });
});

describe('task filters and event queries', () => {
  it('check states, names, ids, times and cursors', () => {
    expect(normaliseTaskFilter({ state: 'dead', ids: ['a', 'a', 'b'], since: new Date(5), until: 9 })).toEqual({ states: ['dead'], ids: ['a', 'b'], since: 5, until: 9 });
    refuses(() => normaliseTaskFilter({ state: 'finished' as never }), ValidationError, /Unknown task state/);
    refuses(() => normaliseTaskFilter({ state: [] }), ValidationError);
    refuses(() => normaliseTaskFilter({ queue: 'a b' }), ValidationError, /Queue name/);
    refuses(() => normaliseTaskFilter({ type: '' }), ValidationError, /Task type/);
    refuses(() => normaliseTaskFilter({ since: NaN }), ValidationError, /since/);
    refuses(() => normaliseTaskFilter({ until: new Date(NaN) }), ValidationError, /until/);
    refuses(() => normaliseTaskFilter({ ids: Array.from({ length: 1_001 }, (_, i) => String(i)) }), ValidationError, /ids/);
    refuses(() => normaliseTaskFilter({ runId: 'r\u0000' }), ValidationError, /runId/);
    refuses(() => normaliseTaskFilter(null as never), ValidationError);
    refuses(() => normaliseTaskQuery({}, { cursor: '' }), ValidationError, /cursor/);
    refuses(() => normaliseTaskQuery({}, { cursor: 42 as never }), ValidationError, /cursor/);
  });

  it('event queries know every event type and take `after` as a whole seq', () => {
    expect(normaliseEventQuery({ type: ['task.failed', 'task.failed'], after: 3 })).toEqual({ limit: DEFAULT_LIMIT, type: ['task.failed'], after: 3 });
    refuses(() => normaliseEventQuery({ type: 'task.exploded' as never }), ValidationError, /Unknown event type/);
    for (const after of [-1, 1.5, NaN, '3']) refuses(() => normaliseEventQuery({ after: after as number }), ValidationError, /after/);
  });
});

describe('names', () => {
  it('refuse lone surrogates and control characters, keep paired surrogates', () => {
    expect(validateText('Task type', '报告🚀', 200)).toBe('报告🚀');
    for (const bad of ['a\uD800', '\uD800', '\uDC00a', 'a\uDBFFb', '\uDC00\uD800']) refuses(() => validateTaskType(bad), ValidationError, /surrogate/);
    for (const bad of ['a\u0000', 'tab\there', 'line\nbreak', 'del\u007F', '\u001F']) refuses(() => validateTaskType(bad), ValidationError, /control character/);
    refuses(() => validateTaskType(''), ValidationError, /non-empty/);
    refuses(() => validateTaskType('x'.repeat(201)), ValidationError, /at most 200/);
    refuses(() => validateTaskType(42), ValidationError);
    refuses(() => validateTaskType(10n), ValidationError, /BigInt/);
  });

  it('queue names are letters, digits and "_ . : -", starting with a letter or digit, at most 100', () => {
    for (const good of ['default', 'pdf', 'a.b:c-d_e', '0', 'X'.repeat(100)]) expect(validateQueueName(good)).toBe(good);
    for (const bad of ['', '-x', '_x', 'a b', 'é', 'a/b', '*', '{slot}', 'x'.repeat(101), 7, null]) refuses(() => validateQueueName(bad), ValidationError, /Queue name/);
  });
});

describe('task specs', () => {
  it('prepare a NewTask with defaults', () => {
    const { task, delayMs } = prepare({ type: 'send', input: { b: 1, a: 2 } });
    expect(task).toMatchObject({ type: 'send', queue: 'default', priority: 0, group: null, runId: null, phaseId: null, maxRetries: 3, budget: null, keyTtlMs: 86_400_000 });
    expect(delayMs).toBe(0);
  });

  it('bound priority to ±10,000 integers', () => {
    expect(prepare({ priority: 10_000 }).task.priority).toBe(10_000);
    expect(prepare({ priority: -10_000 }).task.priority).toBe(-10_000);
    for (const bad of [10_001, -10_001, 1.5, NaN, Infinity, '1', 10n]) refuses(() => prepare({ priority: bad }), ValidationError, /priority of task "t"/);
  });

  it('bound every duration at 365 days', () => {
    expect(prepare({ delayMs: MAX_DURATION_MS }).delayMs).toBe(MAX_DURATION_MS);
    expect(prepare({ keyTtlMs: MAX_DURATION_MS }).task.keyTtlMs).toBe(MAX_DURATION_MS);
    expect(prepare({ delayMs: 1.4 }).delayMs).toBe(1);
    for (const bad of [MAX_DURATION_MS + 1, -1, NaN, Infinity, '5', 10n]) refuses(() => prepare({ delayMs: bad }), ValidationError, /delayMs of task "t".*365 days/);
    for (const bad of [MAX_DURATION_MS + 1, 0, NaN]) refuses(() => prepare({ keyTtlMs: bad }), ValidationError, /keyTtlMs/);
    refuses(compile({ idempotencyKeyTtlMs: MAX_DURATION_MS + 1 }), ConfigError, /idempotencyKeyTtlMs/);
    refuses(compile({ retention: { dead: { maxAgeMs: MAX_DURATION_MS + 1 } } }), ConfigError, /retention.dead.maxAgeMs/);
    refuses(compile({ worker: { stallTimeoutMs: MAX_DURATION_MS + 1 } }), ConfigError, /worker.stallTimeoutMs/);
  });

  it('refuse a BigInt anywhere with a ValidationError, not a TypeError', () => {
    refuses(() => prepare({ version: 10n }), ValidationError, /version of task "t" must be a string; got 10n/);
    refuses(() => prepare({ version: 10 }), ValidationError, /version/);
    refuses(() => prepare({ version: '' }), ValidationError, /version/);
    refuses(() => prepare({ key: 10n }), ValidationError, /Idempotency key/);
    refuses(() => prepare({ maxRetries: 10n }), ValidationError, /maxRetries/);
    refuses(() => prepare({ keyTtlMs: 10n }), ValidationError, /keyTtlMs/);
    refuses(() => prepare({ group: 10n }), ValidationError, /group/);
    refuses(() => prepare({ runId: 10n }), ValidationError, /runId/);
    refuses(() => prepare({ budget: { tokens: 10n } }), ValidationError, /budget.tokens/);
    refuses(() => prepare({ input: { n: 10n } }), ValidationError, /BigInt/);
  });

  it('check names, keys and retries', () => {
    refuses(() => prepare({ type: 'a\uD800' }), ValidationError, /Task type/);
    refuses(() => prepare({ queue: 'a b' }), ValidationError, /queue of task "t"/);
    refuses(() => prepare({ group: 'g\u0000' }), ValidationError, /group of task "t"/);
    refuses(() => prepare({ phaseId: '\uDC00' }), ValidationError, /phaseId/);
    refuses(() => prepare({ key: 'k'.repeat(513) }), ValidationError, /Idempotency key/);
    refuses(() => prepare({ key: 'k\n' }), ValidationError, /Idempotency key/);
    refuses(() => prepare({ maxRetries: -1 }), ValidationError, /maxRetries/);
    refuses(() => prepare({ maxRetries: 2.5 }), ValidationError, /maxRetries/);
    refuses(() => prepareTask(null as never, options, registry), ValidationError);
    expect(prepare({ group: null }).task.group).toBeNull();
  });
});

describe('options', () => {
  it('rejects bad options with ConfigError naming the field', () => {
    refuses(compile({ worker: { concurrency: 0 } }), ConfigError, /worker.concurrency/);
    refuses(compile({ worker: { concurrency: 2.5 } }), ConfigError, /worker.concurrency/);
    refuses(compile({ worker: { stallTimeoutMs: 1_000, heartbeatIntervalMs: 900 } }), ConfigError, /heartbeatIntervalMs/);
    refuses(compile({ worker: { queues: [] } }), ConfigError, /worker.queues/);
    refuses(compile({ worker: { queues: ['bad name'] } }), ConfigError, /worker.queues entry/);
    refuses(compile({ retry: { jitter: 2 } }), ConfigError, /retry.jitter/);
    refuses(compile({ maxRecoveries: -1 }), ConfigError, /maxRecoveries/);
    refuses(compile({ checkpoints: { keepAfterCompletion: 'yes' as never } }), ConfigError, /checkpoints.keepAfterCompletion/);
    refuses(() => compileOptions({} as never), ConfigError, /backend/);
    refuses(() => compileOptions({ backend: () => stubBackend() } as never), ConfigError, /call the factory/);
    refuses(() => compileOptions({ backend: { ...stubBackend(), coordination: undefined } } as never), ConfigError, /coordination/);
  });

  it('breaker options name the field', () => {
    expect(compileBreaker()).toMatchObject({ enabled: true, windowMs: 30_000, minimumVolume: 10, failureRate: 0.5, cooldownMs: 1_000, maxCooldownMs: 30_000, halfOpenTrials: 3 });
    refuses(() => compileBreaker({ failureRate: 2 }), ConfigError, /breaker.failureRate/);
    refuses(() => compileBreaker({ failureRate: NaN }), ConfigError, /breaker.failureRate/);
    refuses(() => compileBreaker({ minimumVolume: 0 }), ConfigError, /breaker.minimumVolume/);
    refuses(() => compileBreaker({ halfOpenTrials: 1.5 }), ConfigError, /breaker.halfOpenTrials/);
    refuses(() => compileBreaker({ windowMs: 10n as never }), ConfigError, /breaker.windowMs/);
    refuses(() => compileBreaker({ cooldownMs: 5_000, maxCooldownMs: 1_000 }), ConfigError, /breaker.maxCooldownMs/);
    refuses(() => compileBreaker({ enabled: 1 as never }), ConfigError, /breaker.enabled/);
    refuses(compile({ breaker: { cooldownMs: -1 } }), ConfigError, /breaker.cooldownMs/);
  });

  it('queue limits name the queue and the field', () => {
    expect(compileQueueLimits('pdf', { concurrency: 2, rateLimit: { max: 5, perMs: 1_000 } })).toEqual({ concurrency: 2, rateLimit: { max: 5, perMs: 1_000 }, groupConcurrency: null });
    refuses(() => compileQueueLimits('pdf', { concurrency: 0 }), ValidationError, /concurrency of queue "pdf"/);
    refuses(() => compileQueueLimits('pdf', { groupConcurrency: 1.5 }), ValidationError, /groupConcurrency of queue "pdf"/);
    refuses(() => compileQueueLimits('pdf', { rateLimit: { max: 0, perMs: 1_000 } }), ValidationError, /rateLimit.max of queue "pdf"/);
    refuses(() => compileQueueLimits('pdf', { rateLimit: { max: 5, perMs: MAX_DURATION_MS + 1 } }), ValidationError, /rateLimit.perMs of queue "pdf"/);
    refuses(() => compileQueueLimits('pdf', { rateLimit: { max: 5 } as never }), ValidationError, /rateLimit.perMs of queue "pdf"/);
    refuses(() => compileQueueLimits('pdf', { rateLimit: 5 as never }), ValidationError, /rateLimit of queue "pdf"/);
    refuses(() => compileQueueLimits('pdf', null as never), ValidationError, /queue "pdf"/);
    // Through createBaton's options the same mistakes are ConfigErrors, still naming queue and field.
    refuses(compile({ queues: { pdf: { concurrency: 0 } } }), ConfigError, /concurrency of queue "pdf"/);
    refuses(compile({ queues: { 'bad name': { concurrency: 1 } } }), ConfigError, /Queue name/);
    refuses(compile({ queues: 5 as never }), ConfigError, /queues must be an object/);
  });
});

