// Instrumentation hooks never break the work they observe: a hook that throws is logged and
// skipped, and a handler's own error still reaches the runner.
import { describe, expect, it } from 'vitest';
import { Hooks } from '../src/hooks.js';
import { silentLogger } from '../src/logger.js';
import type { TaskRecord } from '../src/ports/task-store.js';

const info = { task: { id: 't' } as TaskRecord, workerId: 'w', resumedFrom: null };

describe('Hooks', () => {
  it('runs the handler when a wrap throws before calling it', () => {
    const hooks = new Hooks({ run: () => ({ wrap: () => { throw new Error('broken hook'); }, end: () => undefined }) }, silentLogger);
    expect(hooks.run(info)!.wrap(() => 42)).toBe(42);
  });

  it('lets the handler’s own error through a wrap', () => {
    const hooks = new Hooks({ run: () => ({ wrap: (fn) => fn(), end: () => undefined }) }, silentLogger);
    expect(() => hooks.run(info)!.wrap(() => { throw new Error('handler failed'); })).toThrow('handler failed');
  });

  it('skips hooks that throw at enqueue, run start, end and checkpoint', () => {
    const boom = () => { throw new Error('x'); };
    const hooks = new Hooks([{ enqueue: boom, run: boom, checkpoint: boom }, { run: () => ({ end: boom }) }], silentLogger);
    expect(hooks.enqueue([{ taskId: 't', type: 'x', queue: 'q' }])!.traceContext).toEqual([undefined]);
    const scope = hooks.run(info)!;
    expect(scope.wrap(() => 'ran')).toBe('ran');
    expect(() => scope.end({ state: 'completed', usage: { costUsd: 0, tokens: 0 } })).not.toThrow();
    expect(() => hooks.checkpoint({ task: info.task, token: 'a', sizeBytes: 1 })?.()).not.toThrow();
  });
});
