// Shared test setup: a reachable Redis (REDIS_URL) or a loud skip, and isolated prefixes whose keys
// are deleted afterwards.
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { redisBackend, type RedisBackend, type RedisBackendOptions } from '../src/index.js';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

async function probe(): Promise<boolean> {
  const r = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
  r.on('error', () => undefined);
  try {
    await r.connect();
    await r.ping();
    return true;
  } catch {
    return false;
  } finally {
    r.disconnect();
  }
}

export const redisUp = await probe();
if (!redisUp) {
  if (process.env.CI === 'true') throw new Error(`Redis is not reachable at ${REDIS_URL} and CI=true: start it (see SERVICES.md).`);
  // eslint-disable-next-line no-console
  console.warn(`\n!!! SKIPPING @baton/redis tests: Redis is not reachable at ${REDIS_URL} (see SERVICES.md) !!!\n`);
}
export const skipReason = redisUp ? '' : `(skipped: no Redis at ${REDIS_URL})`;

export function randomPrefix(tag = 't'): string {
  return `${tag}_${randomBytes(6).toString('hex')}`;
}

/** Deletes every key of a prefix. */
export async function deletePrefix(prefix: string): Promise<void> {
  const r = new Redis(REDIS_URL);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await r.scan(cursor, 'MATCH', `{${prefix}}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await r.del(...keys);
    } while (cursor !== '0');
  } finally {
    r.disconnect();
  }
}

/** A fresh backend on its own prefix; `cleanup` closes it and deletes its keys. */
export function isolatedBackend(options: RedisBackendOptions = {}): { backend: RedisBackend; prefix: string; cleanup: () => Promise<void> } {
  const prefix = options.prefix ?? randomPrefix();
  const backend = redisBackend(REDIS_URL, { checkPersistence: false, ...options, prefix });
  return {
    backend,
    prefix,
    cleanup: async () => {
      await backend.close();
      await deletePrefix(prefix);
    },
  };
}

export const sleepMs = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
