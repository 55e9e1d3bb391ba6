// Checkpoints are JSON; above a size threshold they are gzipped before they reach a store.
import { gunzipSync, gzipSync } from 'node:zlib';
import { parseJson, serializeJson } from './json.js';
import type { JsonValue } from './json.js';
import type { CheckpointBlob, StoredCheckpoint } from './ports/checkpoint-store.js';
import type { Checkpoint } from './api.js';
import { ValidationError } from './errors.js';

export interface CodecOptions {
  gzipAboveBytes: number;
  maxBytes: number;
}

export function encodeCheckpoint(taskId: string, token: string, data: unknown, options: CodecOptions): CheckpointBlob {
  if (typeof token !== 'string' || token.length === 0 || token.length > 256) {
    throw new ValidationError(`Checkpoint token for task ${taskId} must be a non-empty string of at most 256 characters.`);
  }
  const text = serializeJson(data, `Checkpoint "${token}" of task ${taskId}`, { maxBytes: options.maxBytes, maxDepth: 1_000 });
  const raw = Buffer.from(text, 'utf8');
  if (raw.byteLength > options.gzipAboveBytes) {
    return { token, encoding: 'gzip', body: gzipSync(raw), sizeBytes: raw.byteLength };
  }
  return { token, encoding: 'json', body: raw, sizeBytes: raw.byteLength };
}

export function decodeCheckpoint<C = JsonValue>(stored: StoredCheckpoint | CheckpointBlob): Checkpoint<C> {
  const bytes = stored.encoding === 'gzip' ? gunzipSync(stored.body) : stored.body;
  return { token: stored.token, data: parseJson<C>(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8')) };
}
