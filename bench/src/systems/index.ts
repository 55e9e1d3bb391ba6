// Every system the benchmark knows, in table order.
import type { InstrumentMode } from '../config.js';
import { BATON_SYSTEMS, batonSystems } from './baton.js';
import { BULLMQ } from './bullmq.js';
import { BULLMQ_POSTGRES } from './bullmq-postgres.js';
import { GRAPHILE_WORKER } from './graphile-worker.js';
import { PG_BOSS } from './pg-boss.js';
import type { System } from './types.js';

export const SYSTEMS: System[] = [...BATON_SYSTEMS, BULLMQ, PG_BOSS, GRAPHILE_WORKER, BULLMQ_POSTGRES];

/** Every system, each Baton backend once per instrumentation mode (next to each other, so rounds compare them side by side). */
export function systemsFor(modes: readonly InstrumentMode[]): System[] {
  return [...batonSystems(modes), BULLMQ, PG_BOSS, GRAPHILE_WORKER, BULLMQ_POSTGRES];
}

export function systemById(id: string): System {
  const all = systemsFor(['off', 'noop', 'sdk']);
  const s = all.find((x) => x.id === id);
  if (!s) throw new Error(`Unknown system ${JSON.stringify(id)}; known: ${all.map((x) => x.id).join(', ')}.`);
  return s;
}
