// The key layout, written once. Every key starts with `{prefix}:`: the braces make the prefix the
// Cluster hash tag, so all keys of one backend share a slot and every script may touch any of
// them. Fixed keys have no colon after the prefix; per-name keys use a namespace ending in a
// colon, so no name can collide with a fixed key. The Lua scripts get the same layout as a
// generated prelude (`luaKeyPrelude`), so TypeScript and Lua cannot drift apart.
import { validateName } from '@baton/core/adapter';

/** Keys that exist once per prefix. */
const FIXED = {
  /** Hash: layout `version`. */
  meta: 'meta',
  /** Hash taskId → its one live delivery (`r|d|l` tab-separated record, see queue-lib.lua). */
  deliveries: 'qdv',
  /** Zset taskId → lease expiry (Redis ms) of every leased delivery. */
  leases: 'qleases',
  /**
   * Hash: name → until when (Redis ms) a claim waits on it ('0': none) of every queue that had
   * deliveries or settings. One field for both: a write that may wake a queue reads it once.
   */
  queueNames: 'queues',
  /** Hash taskId → a delivery record that could not be decoded, set aside. */
  deliveriesQuarantined: 'qx',
  /** Counter: creation order of tasks (list order, page cursors) and enqueue order (the last tie-breaker of claim order). */
  seq: 'seq',
  /** Zset taskId → creation seq of pending, running and scheduled tasks. */
  active: 'active',
  checkpointStats: 'cpstats',
  timersDue: 'tmdue',
  timersClaimed: 'tmclaimed',
  beats: 'hbz',
  beatExpiries: 'hbexp',
  /** Stream: one entry per append, id `<firstSeq>-0`; fields `a` (the `at`s) and `e` (events, '\n'-separated JSON). */
  events: 'ev',
  eventSeq: 'evseq',
  /** Lowest event seq still visible: purging raises it. */
  eventFloor: 'evfloor',
  /** Hash key → `<version>\t<json>`. */
  coordination: 'co',
  /** Zset of coordination keys (score 0), scanned by literal prefix with ZRANGEBYLEX. */
  coordinationKeys: 'cokeys',
} as const;

/** Keys per name: `{prefix}:<namespace><name>`. */
const NAMESPACED = {
  /** Hash: a queue's settings, leased count and rate bucket. */
  queueMeta: 'qm:',
  /** Zset: ready deliveries of a queue (ungrouped ones and the head of each open group lane); score −priority, member `<readyAt hex12><seq hex12><taskId>`. */
  ready: 'qr:',
  /** Zset taskId → due ms of a queue's delayed deliveries. */
  delayed: 'qd:',
  /** Hash group → leased deliveries of the group in a queue. */
  groupLeased: 'qgl:',
  /** Set of groups with a non-empty lane in a queue. */
  groupLanes: 'qgr:',
  /** Stream of at most one entry, added whenever a queue may have become claimable: what waiting claims block on. */
  wake: 'qw:',
  /** Hash: one task. */
  task: 't:',
  /** String: idempotency key → task id, with the key's TTL. */
  idempotencyKey: 'k:',
  /** Zset taskId → creation seq of the tasks of one terminal state. */
  finishedBySeq: 's:',
  /** Zset taskId → finish time of the tasks of one terminal state (retention). */
  finishedByTime: 'f:',
  run: 'run:',
  phase: 'ph:',
  checkpoint: 'cp:',
  timer: 'tm:',
  timerKey: 'tmk:',
  timerTask: 'tmt:',
  timerPhase: 'tmp:',
  /** Hash: a timer that could not be decoded, set aside. */
  timerQuarantined: 'tmx:',
  beat: 'hb:',
} as const;

/** A group's lane of ready deliveries: `qg:<queue>|<group>` (queue names cannot hold `|`). */
const LANE = 'qg:';

export type Keys = { readonly P: string } & { readonly [K in keyof typeof FIXED]: string } & {
  readonly [K in keyof typeof NAMESPACED]: (name: string) => string;
} & { lane(queue: string, group: string): string };

/** The layout version this code reads and writes; a prefix holding another is refused. */
export const LAYOUT_VERSION = 2;

export function makeKeys(prefix: string): Keys {
  const P = `{${validateName('prefix', prefix)}}:`;
  const out: Record<string, unknown> = { P };
  for (const [name, key] of Object.entries(FIXED)) out[name] = P + key;
  for (const [name, ns] of Object.entries(NAMESPACED)) out[name] = (id: string) => P + ns + id;
  out['lane'] = (queue: string, group: string) => `${P}${LANE}${queue}|${group}`;
  return Object.freeze(out) as Keys;
}

/**
 * The same layout for the scripts, one top-level definition per key (scripts.ts keeps only the
 * ones a script uses): `K.<name>` for fixed keys and `K_<name>(id)` per namespace, built from
 * ARGV[1] (the `{prefix}:` every script receives first).
 */
export function luaKeyDefinitions(): { fixed: Readonly<Record<string, string>>; functions: string[] } {
  const functions = ['local P = ARGV[1]'];
  for (const [name, ns] of Object.entries(NAMESPACED)) functions.push(`local function K_${name}(id) return P .. '${ns}' .. id end`);
  functions.push(`local function K_lane(q, g) return P .. '${LANE}' .. q .. '|' .. g end`);
  return { fixed: FIXED, functions };
}
