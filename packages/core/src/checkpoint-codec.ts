// Checkpoints are JSON; above a size threshold they are gzipped before they reach a store. Large
// checkpoints are compressed on the thread pool (async zlib), so a multi-megabyte save does not
// stall every other task's heartbeats.
import { gunzip, gunzipSync, gzip, gzipSync } from 'node:zlib';
import { promisify } from 'node:util';
import { parseJson, serializeJson } from './json.js';
import type { JsonValue } from './json.js';
import type { CheckpointBlob, StoredCheckpoint } from './ports/checkpoint-store.js';
import type { Checkpoint } from './api.js';
import { ValidationError } from './errors.js';

const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);
/** Below this, zlib's own cost is smaller than the hop to the thread pool. */
const ASYNC_ZLIB_BYTES = 256 * 1024;

export interface CodecOptions {
  gzipAboveBytes: number;
  maxBytes: number;
}

function prepare(taskId: string, token: string, data: unknown, options: CodecOptions): Buffer {
  if (typeof token !== 'string' || token.length === 0 || token.length > 256) {
    throw new ValidationError(`Checkpoint token for task ${taskId} must be a non-empty string of at most 256 characters.`);
  }
  const text = serializeJson(data, `Checkpoint "${token}" of task ${taskId}`, { maxBytes: options.maxBytes, maxDepth: 1_000 });
  return Buffer.from(text, 'utf8');
}

/** Encodes synchronously (tests, small data). */
export function encodeCheckpoint(taskId: string, token: string, data: unknown, options: CodecOptions): CheckpointBlob {
  const raw = prepare(taskId, token, data, options);
  if (raw.byteLength > options.gzipAboveBytes) return { token, encoding: 'gzip', body: gzipSync(raw), sizeBytes: raw.byteLength };
  return { token, encoding: 'json', body: raw, sizeBytes: raw.byteLength };
}

/** Encodes, compressing large data off the event loop. */
export async function encodeCheckpointAsync(taskId: string, token: string, data: unknown, options: CodecOptions): Promise<CheckpointBlob> {
  const raw = prepare(taskId, token, data, options);
  if (raw.byteLength <= options.gzipAboveBytes) return { token, encoding: 'json', body: raw, sizeBytes: raw.byteLength };
  const body = raw.byteLength > ASYNC_ZLIB_BYTES ? await gzipAsync(raw) : gzipSync(raw);
  return { token, encoding: 'gzip', body, sizeBytes: raw.byteLength };
}

function text(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
}

/** Decodes a stored checkpoint; throws when its bytes are not what they claim (corrupt). */
export function decodeCheckpoint<C = JsonValue>(stored: StoredCheckpoint | CheckpointBlob): Checkpoint<C> {
  const bytes = stored.encoding === 'gzip' ? gunzipSync(stored.body) : stored.body;
  return { token: stored.token, data: parseJson<C>(text(bytes)) };
}

export async function decodeCheckpointAsync<C = JsonValue>(stored: StoredCheckpoint | CheckpointBlob): Promise<Checkpoint<C>> {
  if (stored.encoding !== 'gzip' || stored.body.byteLength < ASYNC_ZLIB_BYTES / 8) return decodeCheckpoint<C>(stored);
  return { token: stored.token, data: parseJson<C>(text(await gunzipAsync(stored.body))) };
}
