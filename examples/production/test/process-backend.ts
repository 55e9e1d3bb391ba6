// Loaded by the process suite's worker processes: the production preset on one namespace
// (the same name as Redis prefix and Postgres schema).
import { productionBackend } from '../src/preset.js';

export const makeBackend = (ns: string) =>
  productionBackend({
    redis: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    postgres: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
    prefix: ns,
    schema: ns,
  });
