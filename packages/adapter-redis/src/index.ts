export { redisBackend } from './redis-backend.js';
export type { RedisBackend, RedisBackendOptions } from './redis-backend.js';
export type { RedisClient, RedisArg } from './redis-client.js';
export type { RedisTaskFlow } from './redis-task-flow.js';
export type { PersistenceReport } from './persistence-check.js';
