// CheckpointStore on Redis: one hash per task (token, encoding, raw body bytes, sizes). A save is
// fenced in Lua against the task hash's state and leaseId, sets the task's hasCheckpoint in the
// same step (updatedAt stays) and appends its events; running totals for stats() sit beside them.
import type { Audited, CheckpointBlob, CheckpointStats, CheckpointStore, StoredCheckpoint } from '@baton/core/adapter';
import { eventArgs } from './event-codec.js';
import type { Keys } from './keys.js';
import type { RedisConnection } from './redis-connection.js';

export class RedisCheckpointStore implements CheckpointStore {
  constructor(
    private readonly conn: RedisConnection,
    private readonly keys: Keys,
  ) {}

  async save(taskId: string, leaseId: string, blob: CheckpointBlob, options?: Audited): Promise<boolean> {
    const body = Buffer.from(blob.body.buffer, blob.body.byteOffset, blob.body.byteLength);
    const reply = await this.conn.run('checkpoints.save', 'checkpoint-save', [taskId, leaseId, blob.token, blob.encoding, body, blob.sizeBytes, ...eventArgs(options?.events)]);
    return reply === 1;
  }

  /** The bytes exactly as saved; never decoded here (core decodes, and quarantines a task whose checkpoint it cannot read). */
  async load(taskId: string): Promise<StoredCheckpoint | null> {
    const [token, encoding, body, size, updated] = await this.conn.guard('checkpoints.load', (c) => c.hmgetBuffer(this.keys.checkpoint(taskId), 't', 'e', 'b', 'z', 'u'));
    if (token == null || body == null) return null;
    return {
      taskId,
      token: token.toString('utf8'),
      encoding: encoding?.toString('utf8') === 'gzip' ? 'gzip' : 'json',
      body: new Uint8Array(body.buffer, body.byteOffset, body.byteLength),
      sizeBytes: Number(size?.toString('utf8') ?? body.byteLength),
      updatedAt: Number(updated?.toString('utf8') ?? 0),
    };
  }

  async delete(taskIds: string[]): Promise<number> {
    if (taskIds.length === 0) return 0;
    return Number(await this.conn.run('checkpoints.delete', 'checkpoint-delete', taskIds));
  }

  async stats(): Promise<CheckpointStats> {
    const [count, bytes] = (await this.conn.guard('checkpoints.stats', (c) => c.call('HMGET', [this.keys.checkpointStats, 'count', 'bytes']))) as (string | null)[];
    const n = Math.max(0, Number(count ?? 0));
    const totalBytes = Math.max(0, Number(bytes ?? 0));
    return { count: n, totalBytes, avgBytes: n === 0 ? 0 : totalBytes / n };
  }
}
