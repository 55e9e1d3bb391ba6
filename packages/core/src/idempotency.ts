import { createHash, randomUUID } from 'node:crypto';
import { canonicalJson } from './json.js';

/**
 * The idempotency key of a task: sha256 over type, canonical JSON of the input (keys sorted,
 * so `{a,b}` and `{b,a}` give one key) and version. Same keys as the original system's `JobQueue.generateKey`.
 */
export function generateKey(type: string, input: unknown, version = 'v1'): string {
  return createHash('sha256').update(canonicalJson([type, input ?? null, version])).digest('hex');
}

/** A fresh unique id (UUID v4). */
export function newId(): string {
  return randomUUID();
}
