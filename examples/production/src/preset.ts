// The production preset: Redis for the queue and heartbeats (fast, ephemeral), Postgres for
// tasks, checkpoints, timers, events and the breaker state (durable, queryable).
// Checkpoints must live with tasks: their writes are fenced against the task's lease.
import { mixBackend, type Backend } from '@baton/core';
import { postgresBackend } from '@baton/postgres';
import { redisBackend } from '@baton/redis';
import type { Redis } from 'ioredis';
import type pg from 'pg';

export interface ProductionOptions {
  /** Your ioredis client (TLS, ACL, Sentinel, Cluster) or a redis:// URL. */
  redis: Redis | string;
  /** Your pg.Pool (TLS, role) or a postgres:// URL. */
  postgres: pg.Pool | string;
  /** Redis key prefix. @default 'baton' */
  prefix?: string;
  /** Postgres schema. @default 'baton' */
  schema?: string;
  /** Let the runtime role apply migrations. Set false when a migration role runs `baton-postgres migrate`. @default true */
  migrate?: boolean;
}

export function productionBackend(options: ProductionOptions): Backend {
  // Both adapters log through the baton's logger, which they receive when the baton starts.
  const redis = redisBackend(options.redis, { prefix: options.prefix ?? 'baton' });
  const postgres = postgresBackend(options.postgres, { schema: options.schema ?? 'baton', migrate: options.migrate ?? true });
  return mixBackend({
    name: 'production(redis+postgres)',
    queue: redis.queue,
    heartbeats: redis.heartbeats,
    tasks: postgres.tasks,
    checkpoints: postgres.checkpoints,
    timers: postgres.timers,
    events: postgres.events,
    // The fleet's circuit breakers live with the durable records.
    coordination: postgres.coordination,
    sources: [redis, postgres],
  });
}
