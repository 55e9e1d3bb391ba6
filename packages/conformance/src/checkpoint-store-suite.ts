// CheckpointStore: one checkpoint per task, newest save wins, saves fenced against the task's
// lease, bytes returned exactly as given (JSON or gzip), sizes tracked.
import { gunzipSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { newId, type CheckpointBlob } from '@baton/core/adapter';
import { bytesEqual, createTasks, isEpochMs, jsonBlob, type Harness } from './harness.js';
import { poisonPill, startedTask as runningTask } from './task-fixtures.js';

export function checkpointStoreSuite(h: Harness): void {
  describe('CheckpointStore', () => {
    it('saves and loads a JSON checkpoint byte for byte and marks the task hasCheckpoint', async () => {
      const b = h.backend();
      const { id, leaseId } = await runningTask(b);
      const blob = jsonBlob('step-1', { done: [1, 2, 3], note: 'naïve 🚀' });
      expect(await b.checkpoints.save(id, leaseId, blob)).toBe(true);
      const got = (await b.checkpoints.load(id))!;
      expect(got).toMatchObject({ taskId: id, token: 'step-1', encoding: 'json', sizeBytes: blob.sizeBytes });
      expect(bytesEqual(got.body, blob.body)).toBe(true);
      expect(isEpochMs(got.updatedAt)).toBe(true);
      expect((await b.tasks.get(id))?.hasCheckpoint).toBe(true);
    });

    it('saves and loads a gzip checkpoint of more than 10 KB byte for byte', async () => {
      const b = h.backend();
      const { id, leaseId } = await runningTask(b);
      const data = { rows: Array.from({ length: 2_000 }, (_, i) => ({ i, name: `row-${i}`, tags: ['a', 'b'] })) };
      const raw = Buffer.from(JSON.stringify(data), 'utf8');
      expect(raw.byteLength).toBeGreaterThan(10_240);
      const blob: CheckpointBlob = { token: 'big', encoding: 'gzip', body: new Uint8Array(gzipSync(raw)), sizeBytes: raw.byteLength };
      expect(await b.checkpoints.save(id, leaseId, blob)).toBe(true);
      const got = (await b.checkpoints.load(id))!;
      expect(got.encoding).toBe('gzip');
      expect(got.sizeBytes).toBe(raw.byteLength);
      expect(bytesEqual(got.body, blob.body)).toBe(true);
      expect(JSON.parse(gunzipSync(got.body).toString('utf8'))).toEqual(data);
    });

    it('load returns bytes it cannot decode exactly as saved: stores never decode checkpoints', async () => {
      const b = h.backend();
      const { id, leaseId } = await runningTask(b);
      const body = new Uint8Array([0x1f, 0x8b, 0x00, 0xff, 0xfe, 0x7b, 0x22, 0x00, 0x80]);
      expect(await b.checkpoints.save(id, leaseId, { token: 'bad', encoding: 'gzip', body, sizeBytes: 1234 })).toBe(true);
      const got = (await b.checkpoints.load(id))!;
      expect(got).toMatchObject({ taskId: id, token: 'bad', encoding: 'gzip', sizeBytes: 1234 });
      expect(bytesEqual(got.body, body)).toBe(true);
    });

    it('a checkpoint survives a recovery and is loaded by the next holder; a save after the run ended is refused', async () => {
      const b = h.backend();
      const { id, leaseId } = await runningTask(b);
      const blob = jsonBlob('step-1', { n: 1 });
      await b.checkpoints.save(id, leaseId, blob);
      expect(await b.tasks.recover([{ taskId: id, leaseId, poisonPill }], 5)).toEqual(['recovered']);
      const [restarted] = await b.tasks.start([{ taskId: id, leaseId: 'lease-next', workerId: 'w2' }]);
      expect(restarted?.task?.hasCheckpoint).toBe(true);
      expect(bytesEqual((await b.checkpoints.load(id))!.body, blob.body)).toBe(true);
      await b.tasks.finish([{ taskId: id, leaseId: 'lease-next', state: 'completed', result: null }]);
      expect(await b.checkpoints.save(id, 'lease-next', jsonBlob('late', 2))).toBe(false);
      expect((await b.checkpoints.load(id))?.token).toBe('step-1');
    });

    it('the newest save wins', async () => {
      const b = h.backend();
      const { id, leaseId } = await runningTask(b);
      await b.checkpoints.save(id, leaseId, jsonBlob('step-1', { n: 1 }));
      const latest = jsonBlob('step-2', { n: 2 });
      await b.checkpoints.save(id, leaseId, latest);
      const got = (await b.checkpoints.load(id))!;
      expect(got.token).toBe('step-2');
      expect(bytesEqual(got.body, latest.body)).toBe(true);
      expect((await b.checkpoints.stats()).count).toBe(1);
    });

    it('refuses a save for a task that is not running under that lease, storing nothing', async () => {
      const b = h.backend();
      const [pending] = await createTasks(b, [{}]);
      expect(await b.checkpoints.save(pending!, 'any-lease', jsonBlob('x', 1))).toBe(false);
      const { id } = await runningTask(b);
      expect(await b.checkpoints.save(id, 'wrong-lease', jsonBlob('x', 1))).toBe(false);
      expect(await b.checkpoints.save(newId(), 'lease', jsonBlob('x', 1))).toBe(false);
      expect(await b.checkpoints.load(pending!)).toBeNull();
      expect(await b.checkpoints.load(id)).toBeNull();
      expect((await b.tasks.get(id))?.hasCheckpoint).toBe(false);
      expect((await b.checkpoints.stats()).count).toBe(0);
    });

    it('delete removes checkpoints and reports how many; load of an unknown task is null', async () => {
      const b = h.backend();
      const one = await runningTask(b);
      const two = await runningTask(b);
      await b.checkpoints.save(one.id, one.leaseId, jsonBlob('a', 1));
      await b.checkpoints.save(two.id, two.leaseId, jsonBlob('b', 2));
      expect(await b.checkpoints.delete([one.id, newId()])).toBe(1);
      expect(await b.checkpoints.load(one.id)).toBeNull();
      expect(await b.checkpoints.load(two.id)).not.toBeNull();
      expect(await b.checkpoints.delete([one.id])).toBe(0);
      expect(await b.checkpoints.delete([])).toBe(0);
      expect(await b.checkpoints.load(newId())).toBeNull();
    });

    it('stats reports count, total and average stored body size', async () => {
      const b = h.backend();
      expect(await b.checkpoints.stats()).toEqual({ count: 0, totalBytes: 0, avgBytes: 0 });
      const one = await runningTask(b);
      const two = await runningTask(b);
      const small = jsonBlob('a', 'x'.repeat(100));
      const larger = jsonBlob('b', 'y'.repeat(300));
      await b.checkpoints.save(one.id, one.leaseId, small);
      await b.checkpoints.save(two.id, two.leaseId, larger);
      const total = small.body.byteLength + larger.body.byteLength;
      const stats = await b.checkpoints.stats();
      expect(stats.count).toBe(2);
      expect(stats.totalBytes).toBe(total);
      expect(stats.avgBytes).toBeCloseTo(total / 2, 0);
      await b.checkpoints.delete([one.id]);
      expect(await b.checkpoints.stats()).toMatchObject({ count: 1, totalBytes: larger.body.byteLength });
    });
  });
}
