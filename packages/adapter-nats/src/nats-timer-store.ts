// TimerStore on the `timers` KV bucket: timers under `t.<timer>` with their claim expiry, keyed
// timers also under `k.<sha256(key)>` → timer id while pending. Claims are compare-and-set on the
// timer's revision, so each due timer goes to one claimer; a claim that is not completed lapses
// and the timer is due again. Finding due timers is a scan of the pending timers (see README).
import { BackendError, type NewTimer, type TimerFilter, type TimerRecord, type TimerStore } from '@baton/core';
import type { Versioned } from './nats-bucket.js';
import { encodeToken, hashKey } from './nats-names.js';
import type { NatsContext, NatsRuntime } from './nats-runtime.js';

interface StoredTimer extends TimerRecord {
  /** Backend ms until which a claimer holds it; null when unclaimed. */
  claimedUntil: number | null;
  ord: number;
}

let ordCounter = 0;

function timerKey(id: string): string {
  return `t.${encodeToken(id)}`;
}

function keyIndex(key: string): string {
  return `k.${hashKey(key)}`;
}

function toRecord(t: StoredTimer): TimerRecord {
  const { claimedUntil: _c, ord: _o, ...rec } = t;
  return rec;
}

function matches(t: StoredTimer, f: TimerFilter): boolean {
  return (
    (!f.ids || f.ids.includes(t.id)) &&
    (!f.keys || (t.key !== null && f.keys.includes(t.key))) &&
    (f.taskId === undefined || t.taskId === f.taskId) &&
    (f.phaseId === undefined || t.phaseId === f.phaseId)
  );
}

function byDue(a: Versioned<StoredTimer>, b: Versioned<StoredTimer>): number {
  return a.value.dueAt - b.value.dueAt || a.value.createdAt - b.value.createdAt || a.value.ord - b.value.ord;
}

export class NatsTimerStore implements TimerStore {
  constructor(private readonly rt: NatsRuntime) {}

  async schedule(timers: NewTimer[]): Promise<TimerRecord[]> {
    if (timers.length === 0) return [];
    return this.rt.run('schedule timers', async (c) => {
      const out: TimerRecord[] = [];
      // In order: a later timer in the batch may share a key with an earlier one.
      for (const t of timers) out.push(await this.scheduleOne(c, t));
      return out;
    });
  }

  async claimDue(limit: number, leaseMs: number): Promise<TimerRecord[]> {
    if (!(limit > 0)) return [];
    return this.rt.run('claim due timers', async (c) => {
      const now = c.clock.now();
      const due = (await this.scan(c)).filter((e) => e.value.dueAt <= now && (e.value.claimedUntil === null || e.value.claimedUntil <= now)).sort(byDue);
      const out: TimerRecord[] = [];
      let i = 0;
      while (i < due.length && out.length < limit) {
        const batch = due.slice(i, i + (limit - out.length));
        i += batch.length;
        const won = await Promise.all(
          batch.map(async (e) => {
            const next: StoredTimer = { ...e.value, claimedUntil: c.clock.now() + leaseMs };
            return (await c.buckets.timers.update(e.key, next, e.revision)) !== null ? toRecord(next) : null;
          }),
        );
        for (const w of won) if (w) out.push(w);
      }
      return out;
    });
  }

  async complete(ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.rt.run('complete timers', async (c) => {
      await Promise.all([...new Set(ids)].map((id) => this.drop(c, id)));
    });
  }

  async cancel(filter: TimerFilter): Promise<number> {
    return this.rt.run('cancel timers', async (c) => {
      const found = await this.find(c, filter);
      const dropped = await Promise.all(found.map((e) => this.drop(c, e.value.id, e)));
      return dropped.filter(Boolean).length;
    });
  }

  async nextDueIn(): Promise<number | null> {
    return this.rt.run('read next timer due time', async (c) => {
      const now = c.clock.now();
      let earliest: number | null = null;
      await c.buckets.timers.scan<StoredTimer>('t.>', (e) => {
        const t = e.value;
        if (t.claimedUntil !== null && t.claimedUntil > now) return;
        if (earliest === null || t.dueAt < earliest) earliest = t.dueAt;
      });
      return earliest === null ? null : Math.max(0, earliest - now);
    });
  }

  async list(filter: TimerFilter): Promise<TimerRecord[]> {
    return this.rt.run('list timers', async (c) => (await this.find(c, filter)).sort(byDue).map((e) => toRecord(e.value)));
  }

  private async scheduleOne(c: NatsContext, t: NewTimer): Promise<TimerRecord> {
    const { timers } = c.buckets;
    const fresh = (): StoredTimer => {
      const now = c.clock.now();
      return {
        id: t.id,
        kind: t.kind,
        key: t.key,
        taskId: t.taskId,
        phaseId: t.phaseId,
        name: t.name,
        payload: t.payload,
        dueAt: now + Math.max(0, t.delayMs),
        createdAt: now,
        claimedUntil: null,
        ord: ++ordCounter,
      };
    };
    if (t.key === null) {
      const rec = fresh();
      if ((await timers.create(timerKey(t.id), rec)) === null) {
        const existing = await timers.get<StoredTimer>(timerKey(t.id));
        if (existing) return toRecord(existing.value);
      }
      return toRecord(rec);
    }
    const ki = keyIndex(t.key);
    for (let i = 0; i < 20; i++) {
      // The timer first, then its key: a crash in between leaves a timer that still fires once
      // (retries and timeouts tolerate that), never a key pointing at nothing for long.
      const rec = fresh();
      const own = await timers.get<StoredTimer>(timerKey(t.id));
      if (!own && (await timers.create(timerKey(t.id), rec)) === null) continue;
      const mine = own?.value ?? rec;
      if ((await timers.create(ki, { id: t.id })) !== null) return toRecord(mine);
      const idx = await timers.get<{ id: string }>(ki);
      if (!idx) continue;
      if (idx.value.id === t.id) return toRecord(mine);
      const holder = await timers.get<StoredTimer>(timerKey(idx.value.id));
      if (holder) {
        // A pending timer holds the key: it is the answer, and ours is withdrawn.
        await timers.deleteKey(timerKey(t.id));
        return toRecord(holder.value);
      }
      // The key points at a timer that fired or was cancelled: take it over.
      if ((await timers.update(ki, { id: t.id }, idx.revision)) !== null) return toRecord(mine);
    }
    throw new BackendError(`Timer ${t.id}: could not settle key after repeated concurrent changes; retry.`);
  }

  /** Deletes a timer and, if it still points at it, its key entry. */
  private async drop(c: NatsContext, id: string, known?: Versioned<StoredTimer>): Promise<boolean> {
    const { timers } = c.buckets;
    let cur: Versioned<StoredTimer> | null = known ?? null;
    for (let i = 0; i < 10; i++) {
      cur ??= await timers.get<StoredTimer>(timerKey(id));
      if (!cur) return false;
      if (await timers.deleteRevision(cur.revision)) break;
      cur = null;
      if (i === 9) return false;
    }
    const key = cur?.value.key;
    if (key !== null && key !== undefined) {
      const idx = await timers.get<{ id: string }>(keyIndex(key));
      if (idx && idx.value.id === id) await timers.deleteRevision(idx.revision);
    }
    return true;
  }

  private async find(c: NatsContext, filter: TimerFilter): Promise<Versioned<StoredTimer>[]> {
    const { timers } = c.buckets;
    if (filter.ids || filter.keys) {
      const ids = new Set(filter.ids ?? []);
      if (filter.keys) {
        const idx = await Promise.all(filter.keys.map((k) => timers.get<{ id: string }>(keyIndex(k))));
        const fromKeys = idx.filter((e): e is Versioned<{ id: string }> => e !== null).map((e) => e.value.id);
        // Both given: a timer must be in both lists (matches() checks the ids); keys alone: their ids.
        if (!filter.ids) for (const id of fromKeys) ids.add(id);
        else for (const id of [...ids]) if (!fromKeys.includes(id)) ids.delete(id);
      }
      const got = await Promise.all([...ids].map((id) => timers.get<StoredTimer>(timerKey(id))));
      return got.filter((e): e is Versioned<StoredTimer> => e !== null && matches(e.value, filter));
    }
    return (await this.scan(c)).filter((e) => matches(e.value, filter));
  }

  private scan(c: NatsContext): Promise<Versioned<StoredTimer>[]> {
    return c.buckets.timers.scan<StoredTimer>('t.>');
  }
}
