// Errors are branded with Symbol.for, so `instanceof` holds across two copies of @baton/core in
// one app (two versions installed side by side, or a bundled and an unbundled copy).
import { describe, expect, it, vi } from 'vitest';
import * as Here from '../src/errors.js';

type ErrorsModule = typeof Here;

/** A second, separate evaluation of errors.ts: its classes are distinct objects from ours. */
async function freshCopy(): Promise<ErrorsModule> {
  vi.resetModules();
  return import('../src/errors.js');
}

describe('errors across copies of the module', () => {
  it('loads a genuinely separate copy', async () => {
    const Copy = await freshCopy();
    expect(Copy.ValidationError).not.toBe(Here.ValidationError);
    expect(Object.getPrototypeOf(new Copy.ValidationError('x'))).not.toBe(Here.ValidationError.prototype);
  });

  it('instanceof holds both ways, for the class and its BatonError base', async () => {
    const Copy = await freshCopy();
    const a = new Copy.ValidationError('x');
    const b = new Here.ValidationError('y');
    expect(a).toBeInstanceOf(Here.ValidationError);
    expect(b).toBeInstanceOf(Copy.ValidationError);
    expect(a).toBeInstanceOf(Here.BatonError);
    expect(b).toBeInstanceOf(Copy.BatonError);
    expect(a).toBeInstanceOf(Error);
    expect(new Copy.LeaseLostError('t')).toBeInstanceOf(Here.LeaseLostError);
    expect(new Copy.PermanentError('p')).toBeInstanceOf(Here.PermanentError);
    expect(new Copy.InvalidStateError('t', 'running', 'm')).toBeInstanceOf(Here.InvalidStateError);
  });

  it('isBatonError and isRetryable recognise the other copy', async () => {
    const Copy = await freshCopy();
    expect(Here.isBatonError(new Copy.ConfigError('c'))).toBe(true);
    expect(Copy.isBatonError(new Here.NotFoundError('n'))).toBe(true);
    expect(Here.isBatonError(new Error('plain'))).toBe(false);
    expect(Here.isBatonError({ code: 'VALIDATION', message: 'lookalike' })).toBe(false);
    expect(Here.isBatonError(null)).toBe(false);
    expect(Here.isRetryable(new Copy.BackendUnavailableError('down'))).toBe(true);
    expect(Here.isRetryable(new Copy.PermanentError('bad'))).toBe(false);
  });

  it('a brand is not shared between sibling classes', async () => {
    const Copy = await freshCopy();
    const v = new Copy.ValidationError('x');
    expect(v).not.toBeInstanceOf(Here.ConfigError);
    expect(v).not.toBeInstanceOf(Copy.ConfigError);
    expect(new Here.ConfigError('c')).not.toBeInstanceOf(Copy.ValidationError);
    expect(new Copy.ShutdownError()).not.toBeInstanceOf(Here.CancelledError);
    expect(new Error('plain')).not.toBeInstanceOf(Copy.BatonError);
    expect({}).not.toBeInstanceOf(Here.BatonError);
  });

  it('carries a stable code and retryability as data', () => {
    expect(new Here.ValidationError('x')).toMatchObject({ code: 'VALIDATION', retryable: false, name: 'ValidationError' });
    expect(new Here.BackendError('x')).toMatchObject({ code: 'BACKEND', retryable: true });
    expect(new Here.BackendError('x', { retryable: false }).retryable).toBe(false);
    expect(new Here.TimeoutError('x', { retryable: true }).retryable).toBe(true);
    const cause = new Error('driver');
    expect(new Here.SchemaError('x', { cause }).cause).toBe(cause);
    expect(Here.toError('text').message).toBe('text');
    expect(Here.toError({ a: 1 }).message).toBe('{"a":1}');
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(Here.toError(cyclic).message).toBe('[object Object]');
  });
});
