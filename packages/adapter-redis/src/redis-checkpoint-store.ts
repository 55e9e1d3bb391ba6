// CheckpointStore on Redis: one hash per task (token, encoding, raw body bytes, sizes). A save is
// fenced in Lua against the task hash's state and leaseId, and sets the task's hasCheckpoint flag
// in the same step; running totals for stats() are kept beside them.
import type { CheckpointBlob, CheckpointStats, CheckpointStore, StoredCheckpoint } from '@baton/core';
import type { Keys } from './keys.js';
import type { RedisConnection } from './redis-connection.js';

export class RedisCheckpointStore implements CheckpointStore {
  constructor(
    private readonly conn: RedisConnection,
    private readonly keys: Keys,
  ) {}

  async save(taskId: string, leaseId: string, blob: CheckpointBlob): Promise<boolean> {
    const body = Buffer.from(blob.body.buffer, blob.body.byteOffset, blob.body.byteLength);
    const reply = await this.conn.run('checkpoint-save', [this.keys.task(taskId), this.keys.checkpoint(taskId), this.keys.checkpointStats], [
      leaseId,
      blob.token,
      blob.encoding,
      body,
      blob.sizeBytes,
    ]);
    return reply === 1;
  }

  async load(taskId: string): Promise<StoredCheckpoint | null> {
    const [token, encoding, body, size, updated] = await this.conn.guard('checkpoint load', () =>
      this.conn.client.hmgetBuffer(this.keys.checkpoint(taskId), 't', 'e', 'b', 'z', 'u'),
    );
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
    return Number(await this.conn.run('checkpoint-delete', [this.keys.checkpointStats], [this.keys.P, ...taskIds]));
  }

  async stats(): Promise<CheckpointStats> {
    const [count, bytes] = (await this.conn.command('HMGET', [this.keys.checkpointStats, 'count', 'bytes'])) as (string | null)[];
    const n = Math.max(0, Number(count ?? 0));
    const totalBytes = Math.max(0, Number(bytes ?? 0));
    return { count: n, totalBytes, avgBytes: n === 0 ? 0 : totalBytes / n };
  }
}
