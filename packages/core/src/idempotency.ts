import * as crypto from 'node:crypto';
import { canonicalJson } from './json.js';

/**
 * sha256 as hex. Node's one-shot `crypto.hash` (20.12+, 21.7+) skips the Hash object, a third of
 * the cost on the short texts keys are made of; older Nodes use createHash.
 */
const sha256: (text: string) => string =
  typeof (crypto as { hash?: unknown }).hash === 'function' ? (text) => crypto.hash('sha256', text, 'hex') : (text) => crypto.createHash('sha256').update(text).digest('hex');

/**
 * The idempotency key of a task: sha256 over type, canonical JSON of the input (keys sorted,
 * so `{a,b}` and `{b,a}` give one key) and version. Same keys as the original system's `JobQueue.generateKey`.
 */
export function generateKey(type: string, input: unknown, version = 'v1'): string {
  return sha256(canonicalJson([type, input ?? null, version]));
}

/** A fresh unique id (UUID v4). */
export function newId(): string {
  return crypto.randomUUID();
}
