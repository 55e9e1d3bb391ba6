// The default logger: pino's JSON line shape on stderr, warnings and above only.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { stderrLogger } from '../src/logger.js';
import { LeaseLostError } from '../src/errors.js';

let written: string[];
beforeEach(() => {
  written = [];
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    written.push(String(chunk));
    return true;
  });
});
afterEach(() => {
  vi.restoreAllMocks();
});

const lines = () => written.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);

describe('stderrLogger', () => {
  it('writes one pino-shaped JSON line per call: level, time, msg, bindings and fields', () => {
    const log = stderrLogger().child({ component: 'baton' }).child({ taskId: 't1' });
    log.warn({ attempt: 2 }, 'heads up');
    log.error('plain message');
    expect(written.every((w) => w.endsWith('\n'))).toBe(true);
    const [warn, error] = lines();
    expect(warn).toEqual({ level: 40, time: expect.any(Number), component: 'baton', taskId: 't1', attempt: 2, msg: 'heads up' });
    expect(error).toMatchObject({ level: 50, msg: 'plain message', component: 'baton', taskId: 't1' });
    log.fatal({}, 'down');
    expect(lines()[2]).toMatchObject({ level: 60, msg: 'down' });
  });

  it('serialises err as type, message, code and stack', () => {
    const err = new LeaseLostError('t9', 'heartbeat');
    stderrLogger().warn({ err, taskId: 't9' }, 'lease lost');
    const [line] = lines();
    expect(line!.err).toEqual({ type: 'LeaseLostError', message: err.message, code: 'LEASE_LOST', stack: err.stack });
    stderrLogger().error({ err: new TypeError('boom') }, 'x');
    expect(lines()[1]!.err).toEqual({ type: 'TypeError', message: 'boom', stack: expect.stringContaining('TypeError: boom') });
  });

  it('is silent below warn', () => {
    const log = stderrLogger();
    log.trace('t');
    log.debug('d');
    log.info({ a: 1 }, 'i');
    log.child({ x: 1 }).info('child info');
    expect(written).toEqual([]);
    stderrLogger('info').info('now it shows');
    expect(lines()).toEqual([expect.objectContaining({ level: 30, msg: 'now it shows' })]);
  });

  it('still writes a line when a field cannot be serialised', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    stderrLogger().warn({ cyclic, big: 10n }, 'odd fields');
    expect(lines()).toEqual([{ level: 40, time: expect.any(Number), msg: 'odd fields' }]);
  });
});
