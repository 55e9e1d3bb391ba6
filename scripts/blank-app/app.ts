// A strict TypeScript app, as a user writes one: compiled with `tsc --strict` against the packed
// packages, then run. A typed task definition with an interface input and a typed checkpoint; the
// first run fails after checkpointing, the retry resumes from the checkpoint on SQLite.
import assert from 'node:assert/strict';
import { createBaton, defineTask, silentLogger, type TaskContext, type TypedTaskRecord } from '@baton/core';
import { sqliteBackend } from '@baton/sqlite';

interface Order {
  id: string;
  items: { sku: string; qty: number }[];
}
interface Progress {
  done: number;
}
interface Receipt {
  orderId: string;
  units: number;
  resumedFrom: number | null;
}

const baton = createBaton({
  backend: sqliteBackend({ file: process.argv[2] ?? './app.db' }),
  logger: silentLogger,
  worker: { concurrency: 2, pollIntervalMs: 50 },
  retry: { baseMs: 50, maxRetries: 2 },
});

let failOnce = true;
const bill = defineTask({
  type: 'bill',
  queue: 'billing',
  handler: async (order: Order, ctx: TaskContext<Progress>): Promise<Receipt> => {
    const resumedFrom: number | null = ctx.checkpoint?.data.done ?? null;
    for (let done = resumedFrom ?? 0; done < order.items.length; done++) {
      await ctx.saveCheckpoint('item', { done: done + 1 }, { flush: true });
      if (failOnce && done === 1) {
        failOnce = false;
        throw new Error('card network timeout');
      }
    }
    return { orderId: order.id, units: order.items.reduce((n, i) => n + i.qty, 0), resumedFrom };
  },
});
baton.register(bill);
await baton.start();

const order: Order = { id: 'o-1', items: [{ sku: 'a', qty: 1 }, { sku: 'b', qty: 2 }, { sku: 'c', qty: 3 }] };
const { taskId, duplicate } = await baton.enqueue(bill, order);
const again = await baton.enqueue(bill, order);
const done: TypedTaskRecord<Receipt> = await baton.waitFor(bill, taskId, { timeoutMs: 30_000 });
const receipt: Receipt | null = done.result;
await baton.close();

assert.equal(duplicate, false);
assert.deepEqual([again.taskId, again.duplicate], [taskId, true]);
assert.equal(done.state, 'completed', JSON.stringify(done.error));
assert.equal(done.attempt, 1);
assert.deepEqual(receipt, { orderId: 'o-1', units: 6, resumedFrom: 2 });
process.stdout.write(`typescript: ${taskId} completed after a retry that resumed from its checkpoint\n`);

// Never called: what the compiler must refuse (each line fails the build if it type-checks).
export function refusedByTheCompiler(ctx: TaskContext<Progress>): void {
  // @ts-expect-error the input of `bill` is an Order
  void baton.enqueue(bill, { id: 'o-2' });
  // @ts-expect-error the result of `bill` is a Receipt
  const text: string | null = done.result;
  // @ts-expect-error a checkpoint of `bill` is a Progress
  void ctx.saveCheckpoint('item', { done: 'all' });
  // @ts-expect-error waitFor takes the task id
  void baton.waitFor(bill, 42);
  void text;
}
