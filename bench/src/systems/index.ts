// Every system the benchmark knows, in table order.
import { BATON_SYSTEMS } from './baton.js';
import { BULLMQ } from './bullmq.js';
import { GRAPHILE_WORKER } from './graphile-worker.js';
import { PG_BOSS } from './pg-boss.js';
import type { System } from './types.js';

export const SYSTEMS: System[] = [...BATON_SYSTEMS, BULLMQ, PG_BOSS, GRAPHILE_WORKER];

export function systemById(id: string): System {
  const s = SYSTEMS.find((x) => x.id === id);
  if (!s) throw new Error(`Unknown system ${JSON.stringify(id)}; known: ${SYSTEMS.map((x) => x.id).join(', ')}.`);
  return s;
}
