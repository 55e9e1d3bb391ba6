// TimerStore on Redis: a hash per timer, a zset of due times and a zset of claim expiries.
// claimDue moves timers from the first to the second in Lua by Redis TIME, so each due timer goes
// to one claimer; a claim that expires uncompleted puts the timer back with its original due
// time. A timer that does not decode is never handed out: it is set aside (out of every index,
// its bytes kept) with a `record.quarantined` event, and the others carry on.
import { parseJson, type JsonValue, type NewTimer, type TimerFilter, type TimerKind, type TimerRecord, type TimerStore } from '@baton/core/adapter';
import type { RedisArg } from './redis-client.js';
import type { RedisConnection } from './redis-connection.js';
import { opt } from './task-codec.js';

const KINDS = new Set<string>(['retry', 'timeout', 'cleanup', 'custom']);

type Decoded = { ok: true; timer: TimerRecord } | { ok: false; id: string; reason: string; raw: string };

export class RedisTimerStore implements TimerStore {
  constructor(private readonly conn: RedisConnection) {}

  async schedule(timers: NewTimer[]): Promise<TimerRecord[]> {
    if (timers.length === 0) return [];
    for (let round = 0; ; round++) {
      const args: RedisArg[] = [];
      for (const t of timers) {
        args.push(t.id, t.kind, Math.max(0, Math.ceil(t.delayMs)), opt(t.key), opt(t.taskId), opt(t.phaseId), opt(t.name), JSON.stringify(t.payload ?? null));
      }
      const decoded = (await this.conn.run('timers.schedule', 'timer-schedule', args)) as (string | number)[][];
      const out = await this.settle('timers.schedule', decoded.map(decodeTimer));
      // A pending timer holding a key did not decode: it was set aside, so scheduling again stores the new one.
      if (out.length === timers.length || round > 0) return out;
    }
  }

  async claimDue(limit: number, leaseMs: number): Promise<TimerRecord[]> {
    if (limit <= 0) return [];
    const reply = (await this.conn.run('timers.claimDue', 'timer-claim', [limit, Math.max(1, Math.ceil(leaseMs))])) as (string | number)[][];
    return this.settle('timers.claimDue', reply.map(decodeTimer));
  }

  async complete(ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.conn.run('timers.complete', 'timer-complete', ids);
  }

  async cancel(filter: TimerFilter): Promise<number> {
    return Number(await this.conn.run('timers.cancel', 'timer-select', selectArgs('cancel', filter)));
  }

  async nextDueIn(): Promise<number | null> {
    const ms = await this.conn.run('timers.nextDueIn', 'timer-next', []);
    return ms === null ? null : Number(ms);
  }

  async list(filter: TimerFilter & { limit: number }): Promise<TimerRecord[]> {
    if (filter.limit <= 0) return [];
    const reply = (await this.conn.run('timers.list', 'timer-select', selectArgs('list', filter))) as (string | number)[][];
    const timers = await this.settle('timers.list', reply.map(decodeTimer));
    return timers.sort((a, b) => a.dueAt - b.dueAt || a.createdAt - b.createdAt).slice(0, filter.limit);
  }

  /** The decoded timers; the ones that did not decode are set aside in one script. */
  private async settle(op: string, decoded: Decoded[]): Promise<TimerRecord[]> {
    const out: TimerRecord[] = [];
    const bad: RedisArg[] = [];
    for (const d of decoded) {
      if (d.ok) out.push(d.timer);
      else bad.push(d.id, d.reason, d.raw);
    }
    if (bad.length > 0) await this.conn.run(op, 'timer-quarantine', bad);
    return out;
  }
}

function selectArgs(action: 'list' | 'cancel', filter: TimerFilter): RedisArg[] {
  const args: RedisArg[] = [action, opt(filter.taskId), opt(filter.phaseId)];
  if (filter.ids === undefined) args.push(-1);
  else args.push(filter.ids.length, ...filter.ids);
  if (filter.keys === undefined) args.push(-1);
  else args.push(filter.keys.length, ...filter.keys);
  return args;
}

function decodeTimer(flat: readonly (string | number)[]): Decoded {
  const h = new Map<string, string>();
  for (let i = 0; i < flat.length; i += 2) h.set(String(flat[i]), String(flat[i + 1]));
  const id = h.get('id') ?? '';
  const text = h.get('pl') ?? 'null';
  let payload: JsonValue;
  try {
    payload = parseJson<JsonValue>(text);
  } catch (err) {
    return { ok: false, id, reason: err instanceof Error ? err.message.slice(0, 500) : 'payload is not JSON', raw: text };
  }
  const kind = h.get('kd') ?? '';
  const dueAt = Number(h.get('due'));
  if (!KINDS.has(kind) || !Number.isFinite(dueAt)) return { ok: false, id, reason: `unreadable kind or due time (${JSON.stringify(kind.slice(0, 20))})`, raw: text };
  return {
    ok: true,
    timer: {
      id,
      kind: kind as TimerKind,
      key: h.get('k') ?? null,
      taskId: h.get('t') ?? null,
      phaseId: h.get('p') ?? null,
      name: h.get('n') ?? null,
      payload,
      dueAt,
      createdAt: Number(h.get('ca')),
    },
  };
}
