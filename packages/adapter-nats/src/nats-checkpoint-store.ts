// CheckpointStore on the `checkpoints` KV bucket. Each save writes its body under fresh keys
// `<task>.<sid>.<i>` (chunked to the server's max_payload), then points the task record at them
// with compare-and-set, fenced on the record's lease. A holder whose lease moved on fails the
// set and its chunks are dropped, so it can never overwrite the checkpoint the new holder reads.
import { newId, type CheckpointBlob, type CheckpointStats, type CheckpointStore, type StoredCheckpoint } from '@baton/core';
import { encodeToken } from './nats-names.js';
import type { NatsContext, NatsRuntime } from './nats-runtime.js';
import { H, type CheckpointPointer, type TaskRecords } from './nats-task-records.js';

function chunkKey(taskId: string, sid: string, i: number): string {
  return `${encodeToken(taskId)}.${sid}.${i}`;
}

/** Deletes a checkpoint's chunks by revision (idempotent). */
export async function deleteChunks(c: NatsContext, cp: CheckpointPointer): Promise<void> {
  await Promise.all(cp.revs.map((rev) => c.buckets.checkpoints.deleteRevision(rev)));
}

export class NatsCheckpointStore implements CheckpointStore {
  constructor(
    private readonly rt: NatsRuntime,
    private readonly records: TaskRecords,
  ) {}

  async save(taskId: string, leaseId: string, blob: CheckpointBlob): Promise<boolean> {
    return this.rt.run(`save checkpoint of task ${taskId}`, async (c) => {
      const { tasks, checkpoints } = c.buckets;
      // Cheap refusal first: no chunk is written for a lease that is already gone.
      const cur = await this.records.get(tasks, taskId);
      if (!cur || cur.value.state !== 'running' || cur.value.leaseId !== leaseId) return false;
      const sid = newId().replaceAll('-', '');
      const size = Math.max(1, checkpoints.maxValueBytes);
      const parts: Uint8Array[] = [];
      for (let off = 0; off < blob.body.length || parts.length === 0; off += size) parts.push(blob.body.subarray(off, off + size));
      const revs = await Promise.all(parts.map((part, i) => checkpoints.putBytes(chunkKey(taskId, sid, i), part)));
      const pointer: CheckpointPointer = {
        sid,
        revs,
        token: blob.token,
        encoding: blob.encoding,
        sizeBytes: blob.sizeBytes,
        bytes: blob.body.length,
        at: c.clock.now(),
      };
      const outcome = await this.records.mutate<{ ok: boolean; previous: CheckpointPointer | null }>(
        tasks,
        taskId,
        (rec) =>
          rec.state === 'running' && rec.leaseId === leaseId
            ? { next: { ...rec, cp: pointer, hasCheckpoint: true, updatedAt: pointer.at }, result: { ok: true, previous: rec.cp } }
            : { next: null, result: { ok: false, previous: null } },
        { ok: false, previous: null },
      );
      if (!outcome.ok) {
        await deleteChunks(c, pointer);
        return false;
      }
      if (outcome.previous) await deleteChunks(c, outcome.previous);
      return true;
    });
  }

  async load(taskId: string): Promise<StoredCheckpoint | null> {
    return this.rt.run(`load checkpoint of task ${taskId}`, async (c) => {
      // A save may replace the chunks between reading the pointer and the chunks: read again.
      for (let i = 0; i < 5; i++) {
        const cur = await this.records.get(c.buckets.tasks, taskId);
        const cp = cur?.value.cp;
        if (!cp) return null;
        const parts = await Promise.all(cp.revs.map((rev) => c.buckets.checkpoints.getRevision(rev)));
        if (parts.some((p) => p === null)) continue;
        const body = Buffer.concat(parts as Uint8Array[]);
        return {
          taskId,
          token: cp.token,
          encoding: cp.encoding,
          body: new Uint8Array(body.buffer, body.byteOffset, body.byteLength),
          sizeBytes: cp.sizeBytes,
          updatedAt: cp.at,
        };
      }
      return null;
    });
  }

  async delete(taskIds: string[]): Promise<number> {
    if (taskIds.length === 0) return 0;
    return this.rt.run('delete checkpoints', async (c) => {
      const dropped = await Promise.all(
        [...new Set(taskIds)].map(async (taskId) => {
          const previous = await this.records.mutate<CheckpointPointer | null>(
            c.buckets.tasks,
            taskId,
            (rec) => (rec.cp ? { next: { ...rec, cp: null, hasCheckpoint: false }, result: rec.cp } : { next: null, result: null }),
            null,
          );
          if (!previous) return false;
          await deleteChunks(c, previous);
          return true;
        }),
      );
      return dropped.filter(Boolean).length;
    });
  }

  async stats(): Promise<CheckpointStats> {
    return this.rt.run('read checkpoint stats', async (c) => {
      // Pointer sizes ride on the task records' headers: one header-only scan, no bodies read.
      let count = 0;
      let totalBytes = 0;
      await c.buckets.tasks.scanMeta('t.>', (e) => {
        const bytes = e.meta(H.cpBytes);
        if (bytes !== '') {
          count += 1;
          totalBytes += Number(bytes);
        }
      });
      return { count, totalBytes, avgBytes: count === 0 ? 0 : Math.round(totalBytes / count) };
    });
  }
}
