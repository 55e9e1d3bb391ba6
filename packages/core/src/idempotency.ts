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

/**
 * A fresh unique id: a UUID v7 (RFC 9562) — the epoch ms in its first 48 bits, then 74 random
 * bits. Ids made later sort later, so every index keyed by a task id (the tasks' own, the
 * deliveries', the events' and checkpoints') takes new entries at its right edge: a commit dirties
 * the same few pages instead of one random page per index per task. Built from a v4 (Node's
 * pooled randomness) with its first 12 digits and its version digit replaced.
 */
export function newId(): string {
  const v4 = crypto.randomUUID();
  const ms = Date.now().toString(16).padStart(12, '0');
  return `${ms.slice(0, 8)}-${ms.slice(8)}-7${v4.slice(15)}`;
}
