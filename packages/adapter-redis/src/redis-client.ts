// The part of an ioredis client (Redis or Cluster, ioredis 5 or 6) this adapter uses, and the
// client it creates itself from a URL. Typed structurally so the package never depends on
// ioredis' class identity (an application may bring either major).
import { Redis } from 'ioredis';

export type RedisArg = string | Buffer | number;

/** The subset of ioredis' `Redis` / `Cluster` this adapter calls. */
export interface RedisClient {
  /** ioredis connection status: 'wait' | 'connecting' | 'connect' | 'ready' | 'reconnecting' | 'close' | 'end' … */
  readonly status: string;
  call(command: string, args: RedisArg[]): Promise<unknown>;
  /** Binary-safe read (checkpoint bodies). `callBuffer` is avoided: ioredis' auto-pipelining mishandles it. */
  hmgetBuffer(key: string, ...fields: string[]): Promise<(Buffer | null)[]>;
  /** A new connection with the same options (used for blocking reads). */
  duplicate(): RedisClient;
  on(event: 'error', listener: (err: Error) => void): unknown;
  removeListener(event: 'error', listener: (err: Error) => void): unknown;
  quit(): Promise<unknown>;
  disconnect(): void;
}

/**
 * Connections the adapter opens itself fail fast instead of queueing commands for ever while Redis
 * is down: a command waits for at most one reconnect attempt, and reconnects back off to 2 s.
 * No auto-pipelining: the hot path already batches (one script per batch of tasks), and measured
 * here it cost more CPU per task than it saved in writes.
 */
export function createClient(url: string): RedisClient {
  return new Redis(url, {
    maxRetriesPerRequest: 1,
    enableAutoPipelining: false,
    retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 6), 2_000),
    connectionName: 'baton',
  });
}

/** host:port of a user's client, for messages; never includes credentials. */
export function describeClient(client: RedisClient): string {
  const opts = (client as { options?: { host?: unknown; port?: unknown } }).options;
  if (opts !== undefined && typeof opts.host === 'string') return `redis://${opts.host}:${String(opts.port ?? 6379)}`;
  return 'the given Redis client';
}
