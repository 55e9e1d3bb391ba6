// One backend's access to Redis: runs scripts by SHA, maps driver errors to core errors, refuses
// commands at once while the connection is down (so enqueue fails loudly instead of hanging),
// and owns the separate connection that blocking reads need.
import { BackendError, BackendUnavailableError, SchemaError, type Logger } from '@baton/core';
import type { RedisArg, RedisClient } from './redis-client.js';
import { scripts, type ScriptName } from './scripts.js';

const LAYOUT_VERSION = 1;
/** Replies that mean "Redis is there but cannot serve now": retry later. */
const UNAVAILABLE_REPLY = /^(LOADING|MASTERDOWN|CLUSTERDOWN|TRYAGAIN|READONLY|BUSY|NOREPLICAS)\b/;
const ERROR_LOG_EVERY_MS = 30_000;

export interface ConnectionOptions {
  client: RedisClient;
  /** True when the adapter created the client from a URL and must close it. */
  owned: boolean;
  /** Where Redis is, without credentials, for messages. */
  target: string;
  /** `{prefix}:`; every key starts with it. */
  keyPrefix: string;
  logger: Logger;
}

export class RedisConnection {
  readonly client: RedisClient;
  readonly target: string;
  readonly P: string;
  readonly logger: Logger;
  private readonly owned: boolean;
  private blocking: RedisClient | null = null;
  private inflightWait: Promise<void> | null = null;
  private seenReady = false;
  private closed = false;
  private initDone = false;
  private initPromise: Promise<void> | null = null;
  private lastErrorLog = 0;
  private readonly onError = (err: Error) => {
    // Never rethrown: ioredis reconnects by itself and calls report the outage as they fail.
    const now = Date.now();
    if (now - this.lastErrorLog < ERROR_LOG_EVERY_MS) return;
    this.lastErrorLog = now;
    this.logger.warn({ err: { message: err.message, code: (err as { code?: unknown }).code } }, `Redis connection error (${this.target}); reconnecting`);
  };

  constructor(options: ConnectionOptions) {
    this.client = options.client;
    this.owned = options.owned;
    this.target = options.target;
    this.P = options.keyPrefix;
    this.logger = options.logger;
    this.client.on('error', this.onError);
  }

  /** Runs a script by SHA (EVAL on NOSCRIPT); replies decoded as strings. */
  async run(name: ScriptName, keys: readonly string[], args: readonly RedisArg[]): Promise<unknown> {
    if (!this.initDone) await this.init();
    return this.exec(name, keys, args);
  }

  /** One plain command. */
  async command(command: string, args: RedisArg[]): Promise<unknown> {
    return this.guard(command, () => this.client.call(command, args));
  }

  /** Runs `fn` against the client with the same checks and error mapping as scripts. */
  async guard<T>(op: string, fn: () => Promise<T>): Promise<T> {
    if (!this.initDone) await this.init();
    this.assertUsable(op);
    try {
      return await fn();
    } catch (err) {
      throw this.mapError(err, op);
    }
  }

  private async exec(name: ScriptName, keys: readonly string[], args: readonly RedisArg[]): Promise<unknown> {
    const script = scripts[name];
    this.assertUsable(name);
    const argv: RedisArg[] = [script.sha, keys.length, ...keys, ...args];
    try {
      return await this.client.call('EVALSHA', argv);
    } catch (err) {
      if (!isNoScript(err)) throw this.mapError(err, name);
      // Flushed script cache, failover or a Cluster node that never saw it: EVAL runs and caches it.
      argv[0] = script.source;
      try {
        return await this.client.call('EVAL', argv);
      } catch (err2) {
        throw this.mapError(err2, name);
      }
    }
  }

  /** Throws at once (nothing sent) when the connection is known to be down or the backend closed. */
  assertUsable(op: string): void {
    if (this.closed) {
      throw new BackendUnavailableError(`Redis backend (${this.target}) is closed; ${op} was not run. Create a new backend with redisBackend().`);
    }
    const status = this.client.status;
    if (status === 'ready') {
      this.seenReady = true;
      return;
    }
    // Before the first connection commands may queue briefly; once connected, a drop means "down".
    if (status === 'end' || status === 'close' || status === 'reconnecting' || this.seenReady) {
      throw new BackendUnavailableError(
        `Redis at ${this.target} is unreachable (connection ${status}); ${op} was not sent. It is safe to retry once Redis is back; workers reconnect by themselves.`,
      );
    }
  }

  mapError(err: unknown, op: string): Error {
    if (err instanceof BackendError || err instanceof BackendUnavailableError || err instanceof SchemaError) return err;
    const e = err instanceof Error ? err : new Error(String(err));
    const isReply = e.name === 'ReplyError';
    if (!isReply || UNAVAILABLE_REPLY.test(e.message)) {
      return new BackendUnavailableError(
        `Redis at ${this.target} did not complete ${op}: ${e.message}. The write may or may not have been applied; retrying is safe (Baton's writes are idempotent or fenced).`,
        { cause: err },
      );
    }
    return new BackendError(`Redis rejected ${op} (${this.target}): ${e.message}`, { cause: err });
  }

  /** Checks the prefix's layout version and that its keys are ours; retried on the next call if Redis was down. */
  init(): Promise<void> {
    this.initPromise ??= this.runInit().then(
      () => {
        this.initDone = true;
      },
      (err: unknown) => {
        this.initPromise = null;
        throw err;
      },
    );
    return this.initPromise;
  }

  private async runInit(): Promise<void> {
    const [version, type] = (await this.exec('init', [`${this.P}meta`, `${this.P}q`], [LAYOUT_VERSION])) as [string, string];
    if (Number(version) > LAYOUT_VERSION) {
      throw new SchemaError(
        `Redis prefix ${this.P} holds Baton data of layout version ${version}, newer than this @baton/redis (${LAYOUT_VERSION}); upgrade @baton/redis or use another prefix.`,
      );
    }
    if (Number(version) !== LAYOUT_VERSION || (type !== 'none' && type !== 'stream')) {
      throw new SchemaError(`Redis key ${this.P}q is a ${type}, not a Baton queue stream: the prefix collides with other data; choose another prefix.`);
    }
  }

  /**
   * Waits up to `ms` for a stream entry after `fromId` (XREAD BLOCK on the blocking connection).
   * Concurrent waiters share one read: while it is pending no entry arrived, so joining it is exact.
   */
  async waitForEntry(stream: string, fromId: string, ms: number, signal?: AbortSignal): Promise<void> {
    if (this.closed || signal?.aborted) return;
    if (this.inflightWait === null) {
      const blocking = this.blockingClient();
      const read =
        blocking.status === 'ready' || blocking.status === 'wait' || blocking.status === 'connecting' || blocking.status === 'connect'
          ? blocking.call('XREAD', ['COUNT', 1, 'BLOCK', Math.max(1, Math.ceil(ms)), 'STREAMS', stream, fromId])
          : new Promise<void>((resolve) => setTimeout(resolve, Math.max(1, ms)).unref());
      this.inflightWait = read.then(
        () => undefined,
        () => undefined,
      );
      const mine = this.inflightWait;
      void mine.finally(() => {
        if (this.inflightWait === mine) this.inflightWait = null;
      });
    }
    await raceTimeout(this.inflightWait, ms, signal);
  }

  private blockingClient(): RedisClient {
    if (this.blocking === null) {
      this.blocking = this.client.duplicate();
      this.blocking.on('error', this.onError);
    }
    return this.blocking;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  async close(beforeClose?: () => Promise<unknown>): Promise<void> {
    if (this.closed) return;
    if (beforeClose !== undefined && this.client.status === 'ready') {
      await beforeClose().catch((err: unknown) => this.logger.debug({ err }, 'Redis backend: cleanup before close failed'));
    }
    this.closed = true;
    if (this.blocking !== null) {
      // disconnect, not quit: a pending blocking read would hold QUIT back until it times out.
      this.blocking.disconnect();
      this.blocking.removeListener('error', this.onError);
    }
    if (this.owned) {
      await this.client.quit().catch(() => this.client.disconnect());
    }
    this.client.removeListener('error', this.onError);
  }
}

function isNoScript(err: unknown): boolean {
  return err instanceof Error && err.message.startsWith('NOSCRIPT');
}

function raceTimeout(promise: Promise<void>, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, Math.max(0, ms));
    signal?.addEventListener('abort', done, { once: true });
    void promise.then(done);
  });
}
