// A server restart mid-run against a throwaway nats-server: while it is down every port call fails
// at once with BackendUnavailableError (nothing hangs, nothing escapes as an unhandled rejection);
// once it is back the client reconnects on its own, the running workers keep claiming, and every
// task enqueued before, during (retried) and after the restart completes — nothing is lost.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BackendUnavailableError, createBaton, isTerminal, silentLogger, type Backend } from '@baton/core';
import type { NewTask } from '@baton/core/adapter';
import { newTask, queueItem } from '@baton/conformance';
import { connect } from '@nats-io/transport-node';
import { natsBackend } from '../src/index.js';
import { hasNatsServer, startThrowawayNats, type ThrowawayServer } from '@baton/conformance/servers';
import { sleep } from './helpers.js';

if (!hasNatsServer) {
  if (process.env.CI === 'true') throw new Error('nats-server is not installed and CI=true');
  // eslint-disable-next-line no-console
  console.warn('\n!!! SKIPPING @baton/nats restart tests: no nats-server binary (set NATS_SERVER_BIN) !!!\n');
}

const task = (over: Partial<NewTask> = {}): NewTask => newTask({ type: 'job', ...over });

/** Retries `fn` until it resolves (bounded): the client reconnects on its own schedule. */
async function eventually<T>(fn: () => Promise<T>, attempts = 150, everyMs = 100): Promise<T> {
  let last: unknown;
  for (let i = 0; i < attempts; i++) {
    try {
      return await fn();
    } catch (err) {
      last = err;
      await sleep(everyMs);
    }
  }
  throw last;
}

async function waitAllTerminal(backend: Backend, ids: string[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const tasks = await backend.tasks.list({ ids, limit: 1000 }).then((p) => p.tasks, () => []);
    if (tasks.length === ids.length && tasks.every((t) => isTerminal(t.state))) return;
    if (Date.now() > deadline) throw new Error(`tasks not finished within ${timeoutMs} ms: ${ids.length - tasks.filter((t) => isTerminal(t.state)).length} left`);
    await sleep(100);
  }
}

describe.skipIf(!hasNatsServer)('server restart (throwaway nats-server, stopped and started again)', () => {
  let server: ThrowawayServer;
  const unhandled: unknown[] = [];
  const onUnhandled = (err: unknown) => unhandled.push(err);

  beforeAll(async () => {
    process.on('unhandledRejection', onUnhandled);
    server = await startThrowawayNats();
  });
  afterAll(async () => {
    process.off('unhandledRejection', onUnhandled);
    await server?.destroy();
  });

  it('port calls fail fast with BackendUnavailableError while the server is down and work again after, data intact', async () => {
    const backend = natsBackend(server.url, { prefix: 'restart_a' });
    try {
      const first = task();
      const [created] = await backend.tasks.create([first]);
      await backend.queue.enqueue([queueItem(first)]);
      await server.stop();
      const errors: unknown[] = [];
      await eventually(async () => {
        await backend.tasks.create([task()]).then(
          () => {
            throw new Error('create still succeeds: the client has not noticed the server is gone');
          },
          (err: unknown) => errors.push(err),
        );
      });
      await backend.queue.enqueue([queueItem(task())]).catch((err: unknown) => errors.push(err));
      await backend.queue.claim({ queues: ['default'], limit: 1, leaseMs: 1_000, waitMs: 0 }).catch((err: unknown) => errors.push(err));
      expect(errors.length).toBeGreaterThanOrEqual(3);
      for (const err of errors) expect(err).toBeInstanceOf(BackendUnavailableError);

      await server.start();
      const [after] = await eventually(() => backend.tasks.create([task()]));
      expect(after!.duplicate).toBe(false);
      // Written before the restart: the record and its delivery are still there.
      expect((await backend.tasks.get(created!.id))?.state).toBe('pending');
      const [d] = await eventually(() => backend.queue.claim({ queues: ['default'], limit: 1, leaseMs: 5_000, waitMs: 1_000 }));
      expect(d?.taskId).toBe(created!.id);
    } finally {
      await backend.close();
    }
    expect(unhandled).toEqual([]);
  });

  it('running workers reconnect and keep going across a restart; every task completes', async () => {
    const stallTimeoutMs = 2_000;
    const backend = natsBackend(server.url, { prefix: 'restart_b', ackWaitMs: stallTimeoutMs });
    const baton = createBaton({
      backend,
      logger: silentLogger,
      worker: { concurrency: 4, stallTimeoutMs, heartbeatIntervalMs: 400, pollIntervalMs: 100, shutdownDeadlineMs: 2_000 },
      reconcileAfterMs: 3_000,
    });
    const runs = new Map<number, number>();
    let restarted = false;
    baton.register<{ i: number }>('job', async (input) => {
      // Tasks from 40 on wait for the restart, so it happens mid-run with leases held.
      for (let k = 0; k < 600 && input.i >= 40 && !restarted; k++) await sleep(50);
      await sleep(5);
      runs.set(input.i, (runs.get(input.i) ?? 0) + 1);
      return { i: input.i };
    });
    try {
      const before = await baton.enqueueMany(Array.from({ length: 120 }, (_, i) => ({ type: 'job', input: { i } })));
      await baton.start();
      await eventually(async () => {
        if (runs.size < 40) throw new Error('not yet');
      });

      await server.stop();
      await expect(eventually(async () => {
        await baton.enqueue('job', { i: 999 }).then(
          () => {
            throw new Error('enqueue still succeeds');
          },
          (err: unknown) => {
            if (!(err instanceof BackendUnavailableError)) throw err;
          },
        );
      })).resolves.toBeUndefined();
      await sleep(500); // workers fail their claims and back off meanwhile

      await server.start();
      restarted = true;
      const during = await eventually(() => baton.enqueueMany(Array.from({ length: 60 }, (_, k) => ({ type: 'job', input: { i: 200 + k } }))));
      const ids = [...before, ...during].map((r) => r.taskId);
      await waitAllTerminal(backend, ids, 45_000);

      const { tasks } = await backend.tasks.list({ ids, limit: 1000 });
      expect(tasks.filter((t) => t.state !== 'completed')).toEqual([]);
      expect([...runs.keys()].filter((i) => i < 999).length).toBe(180);
      await eventually(async () => {
        const depth = await backend.queue.depth();
        if (depth.ready + depth.leased + depth.delayed !== 0) throw new Error(`queue not drained: ${JSON.stringify(depth)}`);
      });
    } finally {
      await baton.close();
    }
    expect(unhandled).toEqual([]);
  }, 90_000);

  it("a user's own connection (their options) reconnects too; close() leaves it open", async () => {
    const nc = await connect({ servers: server.url, maxReconnectAttempts: -1, reconnectTimeWait: 200 });
    const backend = natsBackend(nc, { prefix: 'restart_c' });
    try {
      await backend.tasks.create([task()]);
      await server.stop();
      await eventually(async () => {
        await backend.tasks.create([task()]).then(
          () => {
            throw new Error('still up');
          },
          (err: unknown) => {
            if (!(err instanceof BackendUnavailableError)) throw err;
          },
        );
      });
      await server.start();
      const [r] = await eventually(() => backend.tasks.create([task()]));
      expect(r!.duplicate).toBe(false);
      await backend.close();
      expect(nc.isClosed()).toBe(false);
    } finally {
      await nc.close();
    }
    expect(unhandled).toEqual([]);
  });
});
