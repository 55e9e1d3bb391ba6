// TimerStore on the timers bucket: timers under `t.<timer>` with their claim expiry; keyed timers
// also hold `k.<sha256(key)>` → timer id while pending. Claims are compare-and-set on the timer's
// revision, so each due timer goes to one claimer; a claim that is not completed lapses and the
// timer is due again. Finding due timers is a scan of the pending timers (see README). A timer
// that cannot be decoded is moved aside to `q.<timer>` (raw bytes kept) with one
// `record.quarantined` event, and never handed out or counted again.
import { BackendError, transitions, type JsonValue, type NewTimer, type TimerFilter, type TimerKind, type TimerRecord, type TimerStore } from '@baton/core/adapter';
import type { RawEntry } from './nats-bucket.js';
import { decodeJson, decodeText, encodeJson, isNullableNumber, isNullableString, isNumber, isObject, isString } from './nats-codec.js';
import { publishEvent } from './nats-event-subjects.js';
import { decodeToken, encodeToken, hashKey } from './nats-names.js';
import type { NatsContext, NatsRuntime } from './nats-runtime.js';

interface StoredTimer extends TimerRecord {
  /** Backend ms until which a claimer holds it; null when unclaimed. */
  claimedUntil: number | null;
  ord: number;
}

interface Found {
  key: string;
  value: StoredTimer;
  revision: number;
}

const KINDS: readonly TimerKind[] = ['retry', 'timeout', 'cleanup', 'custom'];

const isTimer = (v: unknown): v is StoredTimer =>
  isObject(v) &&
  isString(v['id']) &&
  KINDS.includes(v['kind'] as TimerKind) &&
  isNullableString(v['key']) &&
  isNullableString(v['taskId']) &&
  isNullableString(v['phaseId']) &&
  isNullableString(v['name']) &&
  'payload' in v &&
  isNumber(v['dueAt']) &&
  isNumber(v['createdAt']) &&
  isNullableNumber(v['claimedUntil']) &&
  isNumber(v['ord']);

const isIndex = (v: unknown): v is { id: string } => isObject(v) && isString(v['id']);

let ordCounter = 0;

function timerKey(id: string): string {
  return `t.${encodeToken(id)}`;
}

function keyIndex(key: string): string {
  return `k.${hashKey(key)}`;
}

function toRecord(t: StoredTimer): TimerRecord {
  return { id: t.id, kind: t.kind, key: t.key, taskId: t.taskId, phaseId: t.phaseId, name: t.name, payload: t.payload as JsonValue, dueAt: t.dueAt, createdAt: t.createdAt };
}

function matches(t: StoredTimer, f: TimerFilter): boolean {
  return (
    (!f.ids || f.ids.includes(t.id)) &&
    (!f.keys || (t.key !== null && f.keys.includes(t.key))) &&
    (f.taskId === undefined || t.taskId === f.taskId) &&
    (f.phaseId === undefined || t.phaseId === f.phaseId)
  );
}

function byDue(a: Found, b: Found): number {
  return a.value.dueAt - b.value.dueAt || a.value.createdAt - b.value.createdAt || a.value.ord - b.value.ord;
}

export class NatsTimerStore implements TimerStore {
  constructor(private readonly rt: NatsRuntime) {}

  async schedule(timers: NewTimer[]): Promise<TimerRecord[]> {
    if (timers.length === 0) return [];
    return this.rt.run('timers.schedule', async (c) => {
      const out: TimerRecord[] = [];
      // In order: a later timer in the batch may share a key with an earlier one.
      for (const t of timers) out.push(await this.scheduleOne(c, t));
      return out;
    });
  }

  async claimDue(limit: number, leaseMs: number): Promise<TimerRecord[]> {
    if (!(limit > 0)) return [];
    return this.rt.run('timers.claimDue', async (c) => {
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
            return (await c.buckets.timers.update(e.key, encodeJson(next), e.revision)) !== null ? toRecord(next) : null;
          }),
        );
        for (const w of won) if (w) out.push(w);
      }
      return out;
    });
  }

  async complete(ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.rt.run('timers.complete', async (c) => {
      await Promise.all([...new Set(ids)].map((id) => this.drop(c, id)));
    });
  }

  async cancel(filter: TimerFilter): Promise<number> {
    return this.rt.run('timers.cancel', async (c) => {
      const found = await this.find(c, filter);
      const dropped = await Promise.all(found.map((e) => this.drop(c, e.value.id, e)));
      return dropped.filter(Boolean).length;
    });
  }

  async nextDueIn(): Promise<number | null> {
    return this.rt.run('timers.nextDueIn', async (c) => {
      const now = c.clock.now();
      let earliest: number | null = null;
      for (const { value: t } of await this.scan(c)) {
        if (t.claimedUntil !== null && t.claimedUntil > now) continue;
        if (earliest === null || t.dueAt < earliest) earliest = t.dueAt;
      }
      return earliest === null ? null : Math.max(0, earliest - now);
    });
  }

  async list(filter: TimerFilter & { limit: number }): Promise<TimerRecord[]> {
    return this.rt.run('timers.list', async (c) =>
      (await this.find(c, filter))
        .sort(byDue)
        .slice(0, Math.max(0, filter.limit))
        .map((e) => toRecord(e.value)),
    );
  }

  private async scheduleOne(c: NatsContext, t: NewTimer): Promise<TimerRecord> {
    const { timers } = c.buckets;
    const fresh = (): StoredTimer => {
      const now = c.clock.now();
      return { id: t.id, kind: t.kind, key: t.key, taskId: t.taskId, phaseId: t.phaseId, name: t.name, payload: t.payload, dueAt: now + Math.max(0, t.delayMs), createdAt: now, claimedUntil: null, ord: ++ordCounter };
    };
    if (t.key === null) {
      const rec = fresh();
      if ((await timers.create(timerKey(t.id), encodeJson(rec))) === null) {
        const existing = await this.get(c, t.id);
        if (existing) return toRecord(existing.value);
      }
      return toRecord(rec);
    }
    const ki = keyIndex(t.key);
    for (let i = 0; i < 20; i++) {
      // The timer first, then its key: a crash in between leaves a timer that still fires once
      // (retries and timeouts tolerate that), never a key pointing at nothing for long.
      const rec = fresh();
      const own = await this.get(c, t.id);
      if (!own && (await timers.create(timerKey(t.id), encodeJson(rec))) === null) continue;
      const mine = own?.value ?? rec;
      if ((await timers.create(ki, encodeJson({ id: t.id }))) !== null) return toRecord(mine);
      const idx = await timers.get(ki);
      if (!idx) continue;
      const d = decodeJson(idx.data, isIndex);
      if (d.ok && d.value.id === t.id) return toRecord(mine);
      const holder = d.ok ? await this.get(c, d.value.id) : null;
      if (holder) {
        // A pending timer holds the key: it is the answer, and ours is withdrawn.
        await timers.deleteKey(timerKey(t.id));
        return toRecord(holder.value);
      }
      // The key points at a timer that fired or was cancelled: take it over.
      if ((await timers.update(ki, encodeJson({ id: t.id }), idx.revision)) !== null) return toRecord(mine);
    }
    throw new BackendError(`Timer ${t.id}: could not settle its key after repeated concurrent changes; retry.`);
  }

  /** The timer, or null (also when it could not be decoded: it is set aside then). */
  private async get(c: NatsContext, id: string): Promise<Found | null> {
    const e = await c.buckets.timers.get(timerKey(id));
    return e ? this.decode(c, e) : null;
  }

  private async decode(c: NatsContext, e: RawEntry): Promise<Found | null> {
    const d = decodeJson(e.data, isTimer);
    if (d.ok) return { key: e.key, value: d.value, revision: e.revision };
    await this.quarantine(c, e, d.reason);
    return null;
  }

  /** Moves an undecodable timer aside (`q.<timer>`, raw bytes kept) and reports it once. */
  private async quarantine(c: NatsContext, e: RawEntry, reason: string): Promise<void> {
    const id = decodeToken(e.key.slice(2)) ?? e.key;
    const raw = decodeText(e.data);
    c.logger.error({ timerId: id, reason }, 'NATS: a stored timer cannot be decoded; it is set aside and never fires');
    await c.buckets.timers.put(`q.${e.key.slice(2)}`, e.data);
    // Deduplicated by the revision: a pass that repeats this after a crash appends nothing more.
    await publishEvent(c, transitions.quarantinedEvent('timer', id, reason, raw, `quarantine-timer-${c.names.prefix}-${e.revision}`, c.clock.now()));
    await c.buckets.timers.deleteRevision(e.revision);
  }

  /** Deletes a timer and, if it still points at it, its key entry. */
  private async drop(c: NatsContext, id: string, known?: Found): Promise<boolean> {
    const { timers } = c.buckets;
    let cur: Found | null = known ?? null;
    for (let i = 0; i < 10; i++) {
      cur ??= await this.get(c, id);
      if (!cur) return false;
      if (await timers.deleteRevision(cur.revision)) break;
      cur = null;
      if (i === 9) return false;
    }
    const key = cur?.value.key;
    if (key !== null && key !== undefined) {
      const idx = await timers.get(keyIndex(key));
      const d = idx ? decodeJson(idx.data, isIndex) : null;
      if (idx && d && (!d.ok || d.value.id === id)) await timers.deleteRevision(idx.revision);
    }
    return true;
  }

  private async find(c: NatsContext, filter: TimerFilter): Promise<Found[]> {
    const { timers } = c.buckets;
    if (filter.ids || filter.keys) {
      const ids = new Set(filter.ids ?? []);
      if (filter.keys) {
        const idx = await Promise.all(filter.keys.map((k) => timers.get(keyIndex(k))));
        const fromKeys = idx.flatMap((e) => {
          const d = e ? decodeJson(e.data, isIndex) : null;
          return d?.ok ? [d.value.id] : [];
        });
        // Both given: a timer must be in both lists (matches() checks the ids); keys alone: their ids.
        if (!filter.ids) for (const id of fromKeys) ids.add(id);
        else for (const id of [...ids]) if (!fromKeys.includes(id)) ids.delete(id);
      }
      const got = await Promise.all([...ids].map((id) => this.get(c, id)));
      return got.filter((e): e is Found => e !== null && matches(e.value, filter));
    }
    return (await this.scan(c)).filter((e) => matches(e.value, filter));
  }

  /** Every pending timer; undecodable ones are set aside. */
  private async scan(c: NatsContext): Promise<Found[]> {
    const raw: RawEntry[] = [];
    await c.buckets.timers.scan('t.>', (e) => {
      raw.push(e);
    });
    const decoded = await Promise.all(raw.map((e) => this.decode(c, e)));
    return decoded.filter((e): e is Found => e !== null);
  }
}
