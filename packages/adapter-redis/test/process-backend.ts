// Loaded by the process suite's worker processes: the Redis backend of a test namespace (key prefix).
import { redisBackend } from '../src/index.js';

export const makeBackend = (prefix: string) => redisBackend(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { prefix, checkPersistence: false });
