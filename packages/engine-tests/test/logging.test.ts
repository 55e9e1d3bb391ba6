import { Writable } from 'node:stream';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createBaton, type Baton } from '@baton/core';
import { memoryBackend } from '@baton/memory';

let baton: Baton | null = null;
afterEach(async () => {
  await baton?.close({ deadlineMs: 0 });
  baton = null;
});

describe('logging', () => {
  it('takes a pino logger; a handler logs with taskId and type bound, payloads are not logged', async () => {
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const l of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l) as Record<string, unknown>);
        done();
      },
    });
    baton = createBaton({ backend: memoryBackend(), logger: pino({ level: 'debug' }, sink), worker: { pollIntervalMs: 20 } });
    baton.register('greet', async (input: { secret: string }, ctx) => {
      ctx.logger.info({ step: 1 }, 'greeting');
      return input.secret.length;
    });
    await baton.start();
    const { taskId } = await baton.enqueue('greet', { secret: 'hunter2' });
    expect((await baton.waitFor(taskId, { timeoutMs: 5_000 })).state).toBe('completed');
    const line = lines.find((l) => l.msg === 'greeting');
    expect(line).toMatchObject({ taskId, taskType: 'greet', attempt: 0, step: 1, component: 'baton' });
    expect(JSON.stringify(lines)).not.toContain('hunter2');
  });
});
