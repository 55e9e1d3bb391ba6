// Idempotency keys in the tasks bucket: `k.<sha256(key)>` → { id, exp, at }. A key is claimed with
// create-if-absent, so of concurrent creates of one key exactly one writes its task. A bucket's
// max_age is bucket-wide, so each key stores its own expiry: an expired key is treated as absent
// and replaced with compare-and-set. A key whose task record is missing (its create crashed
// between the key and the record) is waited on for a short grace, then taken over.
import { BackendError, sleep, systemClock, type CreateResult, type NewTask } from '@baton/core/adapter';
import { decodeJson, encodeJson, isNumber, isObject, isString } from './nats-codec.js';
import { hashKey } from './nats-names.js';
import type { NatsContext } from './nats-runtime.js';
import { taskKey } from './nats-task-codec.js';

export interface KeyEntry {
  id: string;
  /** The key maps to `id` until then (backend ms). */
  exp: number;
  at: number;
}

const isKeyEntry = (v: unknown): v is KeyEntry => isObject(v) && isString(v['id']) && isNumber(v['exp']) && isNumber(v['at']);

/** A key whose task is missing this long after it was written is an orphan of a crashed create. */
const ORPHAN_GRACE_MS = 5_000;

/**
 * Creation order within this process: breaks ties between tasks created in the same millisecond
 * (list pages follow createdAt, then this, then the id). Module-wide, so every backend of the
 * process on one prefix agrees.
 */
let ordCounter = 0;

export function nextOrd(): number {
  ordCounter += 1;
  return ordCounter;
}

export function keyOf(idempotencyKey: string): string {
  return `k.${hashKey(idempotencyKey)}`;
}

/**
 * Runs one create under its key: `write(now)` writes the task once the key maps to it (false when
 * the record already exists). Returns the new task, or the existing one as a duplicate.
 */
export async function createUnderKey(c: NatsContext, t: NewTask, write: (now: number) => Promise<boolean>): Promise<CreateResult> {
  const { tasks } = c.buckets;
  const kk = keyOf(t.idempotencyKey);
  for (let i = 0; i < 20; i++) {
    const now = c.clock.now();
    const mine: KeyEntry = { id: t.id, exp: now + t.keyTtlMs, at: now };
    const created = await tasks.create(kk, encodeJson(mine));
    if (created !== null) return written(c, t, now, created, write);
    const cur = await tasks.get(kk);
    if (!cur) continue;
    const d = decodeJson(cur.data, isKeyEntry);
    if (d.ok) {
      const k = d.value;
      if (k.id === t.id) {
        // A retry of this very create: make sure the record exists.
        if (!(await tasks.get(taskKey(t.id)))) return written(c, t, k.at, cur.revision, write);
        return { id: t.id, duplicate: false };
      }
      if (k.exp > now && (await awaitTask(c, k))) return { id: k.id, duplicate: true };
    } else {
      c.logger.warn({ key: kk, reason: d.reason }, 'NATS: an idempotency key entry cannot be decoded; replacing it');
    }
    // Expired, undecodable, or an orphan of a create that crashed between key and record: take it over.
    const replaced = await tasks.update(kk, encodeJson(mine), cur.revision);
    if (replaced !== null) return written(c, t, now, replaced, write);
  }
  throw new BackendError(`Task ${t.id}: could not settle its idempotency key after repeated concurrent changes; retry the enqueue.`);
}

async function written(c: NatsContext, t: NewTask, now: number, keyRevision: number, write: (now: number) => Promise<boolean>): Promise<CreateResult> {
  try {
    await write(now);
  } catch (err) {
    await c.buckets.tasks.deleteRevision(keyRevision).catch(() => undefined);
    throw err;
  }
  return { id: t.id, duplicate: false };
}

/** Whether the key's task exists (waiting briefly while its creator may still be writing it). */
async function awaitTask(c: NatsContext, k: KeyEntry): Promise<boolean> {
  for (let i = 0; i < 400; i++) {
    if (await c.buckets.tasks.get(taskKey(k.id))) return true;
    if (c.clock.now() - k.at >= ORPHAN_GRACE_MS) return false;
    await sleep(systemClock, 25);
  }
  return false;
}

/** Unmaps a removed task's key (if it still maps to it), so the key creates a new task. */
export async function releaseKey(c: NatsContext, idempotencyKey: string, taskId: string): Promise<void> {
  const kk = keyOf(idempotencyKey);
  const cur = await c.buckets.tasks.get(kk);
  if (!cur) return;
  const d = decodeJson(cur.data, isKeyEntry);
  if (!d.ok || d.value.id === taskId) await c.buckets.tasks.deleteRevision(cur.revision);
}

/** Deletes up to `limit` keys whose TTL passed. */
export async function dropExpiredKeys(c: NatsContext, now: number, limit: number): Promise<void> {
  if (limit <= 0) return;
  const expired: number[] = [];
  await c.buckets.tasks.scan('k.>', (e) => {
    const d = decodeJson(e.data, isKeyEntry);
    if (!d.ok || d.value.exp <= now) expired.push(e.revision);
    return expired.length < limit;
  });
  for (const rev of expired) await c.buckets.tasks.deleteRevision(rev);
}
