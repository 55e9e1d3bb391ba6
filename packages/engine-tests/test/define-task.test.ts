// The type link between defineTask, register, enqueue and waitFor, pinned: the assertions are
// checked by the compiler (`npm run typecheck`), the calls by vitest on the memory backend.
import { describe, expect, expectTypeOf, it } from 'vitest';
import { createBaton, defineTask, silentLogger, ValidationError, type StandardSchemaV1, type TaskContext, type TypedTaskRecord } from '@baton/core';
import { memoryBackend } from '@baton/memory';

/** A hand-written Standard Schema (what zod, valibot and arktype produce). */
function schema<T>(check: (v: unknown) => v is T): StandardSchemaV1<unknown, T> {
  return {
    '~standard': {
      version: 1,
      vendor: 'test',
      validate: (value) => (check(value) ? { value } : { issues: [{ message: 'invalid', path: ['url'] }] }),
    },
  };
}

interface SummarizeInput {
  url: string;
  maxWords?: number;
}
interface Summary {
  text: string;
  words: number;
}

const summarize = defineTask({
  type: 'summarize',
  queue: 'llm',
  input: schema((v): v is SummarizeInput => typeof v === 'object' && v !== null && typeof (v as { url?: unknown }).url === 'string'),
  handler: async (input, ctx: TaskContext<{ fetched: string }>): Promise<Summary> => {
    expectTypeOf(input).toEqualTypeOf<SummarizeInput>();
    expectTypeOf(ctx.checkpoint).toEqualTypeOf<{ token: string; data: { fetched: string } } | null>();
    const page = ctx.checkpoint?.data.fetched ?? `page of ${input.url}`;
    await ctx.saveCheckpoint('fetched', { fetched: page });
    return { text: page.slice(0, 10), words: 2 };
  },
});

// An interface (no index signature) is a fine input.
const plain = defineTask({ type: 'plain', handler: (input: SummarizeInput) => input.url.length });

describe('defineTask', () => {
  it('types enqueue and waitFor from the definition, and checks input against its schema', async () => {
    const baton = createBaton({ backend: memoryBackend(), logger: silentLogger, worker: { pollIntervalMs: 10 } }).register(summarize).register(plain);
    await baton.start();
    const { taskId } = await baton.enqueue(summarize, { url: 'https://example.org' });
    const done = await baton.waitFor(summarize, taskId, { timeoutMs: 5_000, pollMs: 10 });
    expectTypeOf(done).toEqualTypeOf<TypedTaskRecord<Summary>>();
    expectTypeOf(done.result).toEqualTypeOf<Summary | null>();
    expect(done).toMatchObject({ state: 'completed', queue: 'llm', result: { words: 2 } });

    const p = await baton.enqueue(plain, { url: 'abc' });
    expect((await baton.waitFor(plain, p.taskId, { timeoutMs: 5_000, pollMs: 10 })).result).toBe(3);

    // @ts-expect-error a wrong input shape does not compile
    await expect(baton.enqueue(summarize, { uri: 'x' })).rejects.toBeInstanceOf(ValidationError);
    await expect(baton.enqueue(summarize, { uri: 'x' } as never)).rejects.toThrow(/url: invalid/);
    // @ts-expect-error a number is not SummarizeInput
    void (() => baton.enqueue(summarize, 42));
    expect((await baton.admin.listTasks({ type: 'summarize' })).tasks).toHaveLength(1);
    await baton.close();
  });
});
