// TimerStore on Redis: a hash per timer, a zset of due-times and a zset of claim expiries. claimDue
// moves timers from the first to the second in Lua by Redis TIME, so each due timer goes to one
// claimer; a claim that expires uncompleted puts the timer back with its original due-time.
import { parseJson, type JsonValue, type NewTimer, type TimerFilter, type TimerKind, type TimerRecord, type TimerStore } from '@baton/core';
import type { Keys } from './keys.js';
import type { RedisArg } from './redis-client.js';
import type { RedisConnection } from './redis-connection.js';
import { opt } from './task-codec.js';

export class RedisTimerStore implements TimerStore {
  private readonly zsets: readonly string[];

  constructor(
    private readonly conn: RedisConnection,
    private readonly keys: Keys,
  ) {
    this.zsets = [keys.timersDue, keys.timersClaimed];
  }

  async schedule(timers: NewTimer[]): Promise<TimerRecord[]> {
    if (timers.length === 0) return [];
    const args: RedisArg[] = [this.keys.P];
    for (const t of timers) {
      args.push(t.id, t.kind, Math.max(0, Math.ceil(t.delayMs)), opt(t.key), opt(t.taskId), opt(t.phaseId), opt(t.name), JSON.stringify(t.payload ?? null));
    }
    return decodeAll(await this.conn.run('timer-schedule', [this.keys.timersDue], args));
  }

  async claimDue(limit: number, leaseMs: number): Promise<TimerRecord[]> {
    if (limit <= 0) return [];
    return decodeAll(await this.conn.run('timer-claim', this.zsets, [this.keys.P, limit, Math.max(1, Math.ceil(leaseMs))]));
  }

  async complete(ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.conn.run('timer-complete', this.zsets, [this.keys.P, ...ids]);
  }

  async cancel(filter: TimerFilter): Promise<number> {
    return Number(await this.conn.run('timer-select', this.zsets, this.selectArgs('cancel', filter)));
  }

  async nextDueIn(): Promise<number | null> {
    const ms = await this.conn.run('timer-next', this.zsets, []);
    return ms === null ? null : Number(ms);
  }

  async list(filter: TimerFilter): Promise<TimerRecord[]> {
    const timers = decodeAll(await this.conn.run('timer-select', this.zsets, this.selectArgs('list', filter)));
    return timers.sort((a, b) => a.dueAt - b.dueAt || a.createdAt - b.createdAt);
  }

  private selectArgs(action: 'list' | 'cancel', filter: TimerFilter): RedisArg[] {
    const args: RedisArg[] = [this.keys.P, action, opt(filter.taskId), opt(filter.phaseId)];
    if (filter.ids === undefined) args.push(-1);
    else args.push(filter.ids.length, ...filter.ids);
    if (filter.keys === undefined) args.push(-1);
    else args.push(filter.keys.length, ...filter.keys);
    return args;
  }
}

function decodeAll(reply: unknown): TimerRecord[] {
  const out: TimerRecord[] = [];
  for (const flat of reply as string[][]) {
    const t = decodeTimer(flat);
    if (t !== null) out.push(t);
  }
  return out;
}

function decodeTimer(flat: readonly string[]): TimerRecord | null {
  if (flat.length === 0) return null;
  const t: TimerRecord = { id: '', kind: 'custom', key: null, taskId: null, phaseId: null, name: null, payload: null, dueAt: 0, createdAt: 0 };
  for (let i = 0; i < flat.length; i += 2) {
    const v = flat[i + 1]!;
    switch (flat[i]) {
      case 'id': t.id = v; break;
      case 'kd': t.kind = v as TimerKind; break;
      case 'k': t.key = v; break;
      case 't': t.taskId = v; break;
      case 'p': t.phaseId = v; break;
      case 'n': t.name = v; break;
      case 'pl': t.payload = parseJson<JsonValue>(v); break;
      case 'due': t.dueAt = Number(v); break;
      case 'ca': t.createdAt = Number(v); break;
      default: break;
    }
  }
  return t;
}
