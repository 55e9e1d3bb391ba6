// CheckpointStore on the checkpoints bucket. Each save writes its body under fresh keys
// `<task>.<sid>.<i>` (chunked to the server's max_payload), then points the task record at them
// with compare-and-set, fenced on the record's lease and carrying the save's events (the outbox).
// A holder whose lease moved on fails the set and its chunks are dropped, so it can never
// overwrite the checkpoint the new holder reads. Bytes are stored and returned as saved: core
// decodes them (and quarantines a task whose checkpoint it cannot read).
import { newId, transitions, type Audited, type CheckpointBlob, type CheckpointStats, type CheckpointStore, type StoredCheckpoint } from '@baton/core/adapter';
import { encodeToken } from './nats-names.js';
import type { NatsContext, NatsRuntime } from './nats-runtime.js';
import { H, type CheckpointPointer } from './nats-task-codec.js';
import type { TaskRecords } from './nats-task-records.js';

export function chunkKey(taskId: string, sid: string, i: number): string {
  return `${encodeToken(taskId)}.${sid}.${i}`;
}

/** Deletes a checkpoint's chunks (idempotent): by the revision each was saved at, else (rewritten since) by key. */
export async function deleteChunks(c: NatsContext, taskId: string, cp: CheckpointPointer): Promise<void> {
  const { checkpoints } = c.buckets;
  await Promise.all(cp.revs.map(async (rev, i) => (await checkpoints.deleteRevision(rev)) || checkpoints.deleteKey(chunkKey(taskId, cp.sid, i))));
}

export class NatsCheckpointStore implements CheckpointStore {
  constructor(
    private readonly rt: NatsRuntime,
    private readonly records: TaskRecords,
  ) {}

  async save(taskId: string, leaseId: string, blob: CheckpointBlob, options?: Audited): Promise<boolean> {
    return this.rt.run('checkpoints.save', async (c) => {
      // Cheap refusal first: no chunk is written for a lease that is already gone.
      const cur = await this.records.read(c, taskId);
      if (!cur || !transitions.holdsLease(cur.held.rec, leaseId)) return false;
      const { checkpoints } = c.buckets;
      const sid = newId().replaceAll('-', '');
      const size = Math.max(1, checkpoints.maxValueBytes);
      const parts: Uint8Array[] = [];
      for (let off = 0; off < blob.body.length || parts.length === 0; off += size) parts.push(blob.body.subarray(off, off + size));
      const revs = await Promise.all(parts.map((part, i) => checkpoints.put(chunkKey(taskId, sid, i), part)));
      const pointer: CheckpointPointer = { sid, revs, token: blob.token, encoding: blob.encoding, sizeBytes: blob.sizeBytes, bytes: blob.body.length, at: c.clock.now() };
      let previous: CheckpointPointer | null = null;
      const m = await this.records.mutate(
        c,
        taskId,
        (rec, read) => {
          // Not a lifecycle change: hasCheckpoint is set and updatedAt stays.
          const next = transitions.checkpointSaved(rec, leaseId);
          previous = read.held.cp;
          return { next, cp: pointer, events: options?.events, result: next !== null };
        },
        false,
      );
      if (!m.result) {
        await deleteChunks(c, taskId, pointer);
        return false;
      }
      await m.landed;
      if (previous) await deleteChunks(c, taskId, previous);
      return true;
    });
  }

  async load(taskId: string): Promise<StoredCheckpoint | null> {
    return this.rt.run('checkpoints.load', async (c) => {
      // A save may replace the chunks between reading the pointer and the chunks: read again.
      for (let i = 0; i < 5; i++) {
        const cp = (await this.records.read(c, taskId))?.held.cp;
        if (!cp) return null;
        const parts = await Promise.all(cp.revs.map((_, k) => c.buckets.checkpoints.get(chunkKey(taskId, cp.sid, k))));
        if (parts.some((p) => p === null)) continue;
        const body = Buffer.concat(parts.map((p) => p!.data));
        return { taskId, token: cp.token, encoding: cp.encoding, body: new Uint8Array(body.buffer, body.byteOffset, body.byteLength), sizeBytes: cp.sizeBytes, updatedAt: cp.at };
      }
      return null;
    });
  }

  async delete(taskIds: string[]): Promise<number> {
    if (taskIds.length === 0) return 0;
    return this.rt.run('checkpoints.delete', async (c) => {
      const dropped = await Promise.all([...new Set(taskIds)].map((id) => this.deleteOne(c, id)));
      return dropped.filter(Boolean).length;
    });
  }

  /** Deletes the task's checkpoint and clears its `hasCheckpoint`; false when it had none. */
  async deleteOne(c: NatsContext, taskId: string): Promise<boolean> {
    let previous: CheckpointPointer | null = null;
    await this.records.mutate(
      c,
      taskId,
      (rec, read) => {
        previous = read.held.cp;
        return previous || rec.hasCheckpoint ? { next: transitions.checkpointDeleted(rec), cp: null, result: true } : { next: null, result: false };
      },
      false,
    );
    const cp = previous as CheckpointPointer | null;
    if (!cp) return false;
    await deleteChunks(c, taskId, cp);
    return true;
  }

  async stats(): Promise<CheckpointStats> {
    return this.rt.run('checkpoints.stats', async (c) => {
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
      return { count, totalBytes, avgBytes: count === 0 ? 0 : totalBytes / count };
    });
  }
}
