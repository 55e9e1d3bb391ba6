// Key layout. Every key starts with `{prefix}:` — the braces make `prefix` the Cluster hash tag,
// so all keys of one backend share a slot and every Lua script may touch any of them.
// Fixed keys have no colon after the prefix; per-id keys use a namespace segment ending in a colon,
// so no id can ever collide with a fixed key.
import { validateName } from '@baton/core';

/** The consumer group every worker process joins; one group per queue stream. */
export const GROUP = 'baton';

export interface Keys {
  /** `{prefix}:` */
  readonly P: string;
  /** Queue stream: one entry per ready or in-flight delivery (field t = taskId). */
  readonly stream: string;
  /** Hash taskId → 'd' (delayed) | 'r'<streamId> (ready) | 'l'<streamId> <leaseId> (leased). */
  readonly deliveries: string;
  /** Zset taskId → due ms of delayed deliveries. */
  readonly delayed: string;
  /** Zset taskId → lease expiry ms of in-flight deliveries. */
  readonly leases: string;
  /** Counter of task creations: the seq that orders tasks by creation. */
  readonly seq: string;
  /** Hash "state" | "state:phaseId" → task count. */
  readonly counts: string;
  readonly checkpointStats: string;
  readonly timersDue: string;
  readonly timersClaimed: string;
  readonly heartbeats: string;
  /** Zset id → heartbeat expiry, to prune entries of ids that stopped beating. */
  readonly heartbeatExpiries: string;
  readonly events: string;
  readonly eventSeq: string;
  /** Lowest event seq still visible: purging raises it. */
  readonly eventFloor: string;
  task(id: string): string;
  /** `s:active` (pending, running, scheduled by seq) or `s:<terminal state>` (by finish time). */
  state(state: string): string;
  phase(phaseId: string): string;
  run(runId: string): string;
  checkpoint(taskId: string): string;
  heartbeat(id: string): string;
}

export function makeKeys(prefix: string): Keys {
  const P = `{${validateName('prefix', prefix)}}:`;
  return Object.freeze({
    P,
    stream: `${P}q`,
    deliveries: `${P}qdv`,
    delayed: `${P}qdelayed`,
    leases: `${P}qleases`,
    seq: `${P}seq`,
    counts: `${P}counts`,
    checkpointStats: `${P}cpstats`,
    timersDue: `${P}tmdue`,
    timersClaimed: `${P}tmclaimed`,
    heartbeats: `${P}hbz`,
    heartbeatExpiries: `${P}hbexp`,
    events: `${P}ev`,
    eventSeq: `${P}evseq`,
    eventFloor: `${P}evfloor`,
    task: (id: string) => `${P}t:${id}`,
    state: (s: string) => `${P}s:${s}`,
    phase: (id: string) => `${P}ph:${id}`,
    run: (id: string) => `${P}run:${id}`,
    checkpoint: (id: string) => `${P}cp:${id}`,
    heartbeat: (id: string) => `${P}hb:${id}`,
  });
}
