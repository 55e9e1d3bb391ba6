// Connection loss against a throwaway redis-server that the test kills and restarts: enqueue fails
// loudly (BackendUnavailableError, nothing hangs) while Redis is down and works once it is back; a
// running worker's claim loop recovers by itself; no error escapes as an unhandled rejection.
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BackendUnavailableError, createBaton } from '@baton/core';
import { newId, type NewTask } from '@baton/core/adapter';
import { newTask } from '@baton/conformance';
import { Redis } from 'ioredis';
import { redisBackend } from '../src/index.js';
import { startThrowawayRedis, type ThrowawayServer } from '@baton/conformance/servers';
import { sleepMs } from './helpers.js';

const task = (over: Partial<NewTask> = {}): NewTask => newTask({ type: 'job', ...over });

/** Retries `fn` until it resolves (bounded): the connection comes back on ioredis' own schedule. */
async function eventually<T>(fn: () => Promise<T>, attempts = 100, everyMs = 100): Promise<T> {
  let last: unknown;
  for (let i = 0; i < attempts; i++) {
    try {
      return await fn();
    } catch (err) {
      last = err;
      await sleepMs(everyMs);
    }
  }
  throw last;
}

const hasRedisServer = spawnSync('redis-server', ['--version']).status === 0;
if (!hasRedisServer) {
  if (process.env.CI === 'true') throw new Error('redis-server is not installed and CI=true');
  // eslint-disable-next-line no-console
  console.warn('\n!!! SKIPPING @baton/redis reconnect tests: no redis-server binary on PATH !!!\n');
}

describe.skipIf(!hasRedisServer)('connection loss (throwaway redis-server, killed and restarted)', () => {
  let server: ThrowawayServer;
  const unhandled: unknown[] = [];
  const onUnhandled = (err: unknown) => unhandled.push(err);

  beforeAll(async () => {
    process.on('unhandledRejection', onUnhandled);
    server = await startThrowawayRedis();
  });
  afterAll(async () => {
    process.off('unhandledRejection', onUnhandled);
    await server?.destroy();
  });

  it('enqueue rejects with BackendUnavailableError while Redis is down and works after it is back', async () => {
    const backend = redisBackend(server.url, { prefix: 'reconnect_a' });
    try {
      const [created] = await backend.tasks.create([task()]);
      expect(created!.duplicate).toBe(false);
      await server.stop();

      const errors: unknown[] = [];
      for (let i = 0; i < 3; i++) {
        await backend.tasks.create([task()]).then(
          () => errors.push(new Error('create succeeded while Redis was down')),
          (err: unknown) => errors.push(err),
        );
        await backend.queue.enqueue([{ taskId: newId(), queue: 'default', priority: 0, group: null }]).catch((err: unknown) => errors.push(err));
      }
      expect(errors).toHaveLength(6);
      for (const err of errors) {
        expect(err).toBeInstanceOf(BackendUnavailableError);
        expect((err as Error).message).toContain(`127.0.0.1:${server.port}`);
      }

      await server.start();
      const [after] = await eventually(() => backend.tasks.create([task()]));
      expect(after!.duplicate).toBe(false);
      // Written before the kill and fsynced: still there after the restart.
      expect(await backend.tasks.get(created!.id)).not.toBeNull();
    } finally {
      await backend.close();
    }
    expect(unhandled).toEqual([]);
  });

  it("a running worker's claim loop recovers after a restart and runs work enqueued afterwards", async () => {
    const backend = redisBackend(server.url, { prefix: 'reconnect_b' });
    const baton = createBaton({ backend, worker: { concurrency: 2, pollIntervalMs: 100, stallTimeoutMs: 2_000 } });
    const ran: string[] = [];
    baton.register('job', async (input) => {
      ran.push((input as { name: string }).name);
      return null;
    });
    try {
      await baton.start();
      const before = await baton.enqueue('job', { name: 'before' });
      await baton.waitFor(before.taskId, { timeoutMs: 10_000 });

      await server.stop();
      await expect(baton.enqueue('job', { name: 'while-down' })).rejects.toBeInstanceOf(BackendUnavailableError);
      await sleepMs(300); // the claim loop fails and backs off meanwhile

      await server.start();
      const after = await eventually(() => baton.enqueue('job', { name: 'after' }));
      const rec = await baton.waitFor(after.taskId, { timeoutMs: 15_000 });
      expect(rec.state).toBe('completed');
      expect(ran).toEqual(['before', 'after']);
    } finally {
      await baton.close();
    }
    expect(unhandled).toEqual([]);
  });

  it("a user's own ioredis client (default options) also fails fast while down and recovers", async () => {
    const client = new Redis(server.url);
    const backend = redisBackend(client, { prefix: 'reconnect_c' });
    try {
      await backend.tasks.create([task()]);
      await server.stop();
      await eventually(async () => {
        if (client.status === 'ready') throw new Error('client has not noticed yet');
      });
      await expect(backend.tasks.create([task()])).rejects.toBeInstanceOf(BackendUnavailableError);
      await server.start();
      const [r] = await eventually(() => backend.tasks.create([task()]));
      expect(r!.duplicate).toBe(false);
    } finally {
      await backend.close();
      client.disconnect();
    }
    expect(unhandled).toEqual([]);
  });
});
