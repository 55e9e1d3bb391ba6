// One backend's access to Redis: every port call goes through `run` (a script) or `guard` (plain
// commands), the one guard that refuses calls at once while the connection is down (so enqueue
// fails loudly instead of hanging), checks the layout once, and maps every driver error to a
// BatonError naming the operation. It also owns the connections blocking reads need.
import { randomBytes } from 'node:crypto';
import { SchemaError, silentLogger, type Logger } from '@baton/core/adapter';
import { LAYOUT_VERSION, type Keys } from './keys.js';
import type { RedisArg, RedisClient } from './redis-client.js';
import { closedError, notSent, toBatonError } from './redis-errors.js';
import { scripts, type ScriptName } from './scripts.js';

const ERROR_LOG_EVERY_MS = 30_000;
/** Waiting claims of one backend at once that each get their own blocking connection; more poll. */
const MAX_BLOCKING = 16;

export interface ConnectionOptions {
  client: RedisClient;
  /** True when the adapter created the client from a URL and must close it. */
  owned: boolean;
  /** Where Redis is, without credentials, for messages. */
  target: string;
  keys: Keys;
  /** Cap on visible events, handed to every script (ARGV[2]). */
  eventsMaxLen: number;
}

export class RedisConnection {
  readonly client: RedisClient;
  readonly target: string;
  readonly keys: Keys;
  /** The baton's logger once `ready` handed it over. */
  logger: Logger = silentLogger;
  private readonly owned: boolean;
  private readonly cap: string;
  /** Lease and event ids a script makes are ID_BASE .. n, ID_BASE unique per call. */
  private readonly idPrefix = randomBytes(9).toString('base64url');
  private calls = 0;
  private seenReady = false;
  private closed = false;
  private initDone = false;
  private initPromise: Promise<void> | null = null;
  private readonly idle: RedisClient[] = [];
  private readonly blockers = new Set<RedisClient>();
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
    this.keys = options.keys;
    this.cap = String(options.eventsMaxLen);
    this.client.on('error', this.onError);
  }

  /** Runs a script (by SHA, EVAL on NOSCRIPT) for `op` (`port.method`, named in errors). */
  async run(op: string, name: ScriptName, args: readonly RedisArg[]): Promise<unknown> {
    if (!this.initDone) await this.init(op);
    return this.exec(op, name, args);
  }

  /** Runs `fn` against the client with the same checks and error mapping as scripts. */
  async guard<T>(op: string, fn: (client: RedisClient) => Promise<T>): Promise<T> {
    if (!this.initDone) await this.init(op);
    this.assertUsable(op);
    try {
      return await fn(this.client);
    } catch (err) {
      throw toBatonError(err, op, this.target);
    }
  }

  private async exec(op: string, name: ScriptName, args: readonly RedisArg[]): Promise<unknown> {
    this.assertUsable(op);
    const script = scripts[name];
    const argv: RedisArg[] = [script.sha, 1, this.keys.meta, this.keys.P, this.cap, `${this.idPrefix}${(this.calls++).toString(36)}.`];
    for (const a of args) argv.push(a);
    try {
      return await this.client.call('EVALSHA', argv);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw toBatonError(err, op, this.target);
      // Flushed script cache, failover or a Cluster node that never saw it: EVAL runs and caches it.
      argv[0] = script.source;
      try {
        return await this.client.call('EVAL', argv);
      } catch (err2) {
        throw toBatonError(err2, op, this.target);
      }
    }
  }

  /** Throws at once (nothing sent) when the connection is known to be down or the backend closed. */
  private assertUsable(op: string): void {
    if (this.closed) throw closedError(op, this.target);
    const status = this.client.status;
    if (status === 'ready') {
      this.seenReady = true;
      return;
    }
    // Before the first connection commands may queue briefly; once connected, a drop means "down".
    if (status === 'end' || status === 'close' || status === 'reconnecting' || this.seenReady) throw notSent(op, this.target, status);
  }

  /** Checks the prefix's layout version once; retried on the next call if Redis was down. */
  init(op = 'backend.ready'): Promise<void> {
    this.initPromise ??= this.checkLayout(op).then(
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

  private async checkLayout(op: string): Promise<void> {
    const [version, kind] = (await this.exec(op, 'init', [LAYOUT_VERSION])) as [string | null, string];
    if (version === null) {
      throw new SchemaError(`Redis key ${this.keys.meta} is a ${kind}, not Baton's layout hash: the prefix collides with other data; choose another prefix.`);
    }
    if (Number(version) !== LAYOUT_VERSION) {
      throw new SchemaError(
        Number(version) > LAYOUT_VERSION
          ? `Redis prefix ${this.keys.P} holds Baton data of layout version ${version}, newer than this @baton/redis (${LAYOUT_VERSION}); upgrade @baton/redis or use another prefix.`
          : `Redis prefix ${this.keys.P} holds Baton data of layout version ${version} (@baton/redis 0.1); this version uses layout ${LAYOUT_VERSION}. Let the old workers drain it and start the new version on another prefix.`,
      );
    }
  }

  /**
   * Waits up to `ms` for an entry after `ids` on the wake streams `keys` (XREAD BLOCK on a
   * connection of its own): the claim that found nothing read those ids atomically, so an
   * enqueue after it is never missed. Past MAX_BLOCKING concurrent waits it polls instead.
   */
  async waitForWake(keys: readonly string[], ids: readonly string[], ms: number, signal?: AbortSignal): Promise<void> {
    if (this.closed || signal?.aborted) return;
    const blocker = this.idle.pop() ?? (this.blockers.size < MAX_BLOCKING ? this.newBlocker() : undefined);
    const usable = blocker !== undefined && ['ready', 'wait', 'connecting', 'connect'].includes(blocker.status);
    if (!usable) {
      if (blocker !== undefined) this.idle.push(blocker);
      await raceTimeout(undefined, Math.min(ms, 50), signal);
      return;
    }
    const read = blocker.call('XREAD', ['BLOCK', Math.max(1, Math.ceil(ms)), 'STREAMS', ...keys, ...ids]).then(
      () => {
        if (!this.closed) this.idle.push(blocker);
      },
      () => {
        if (!this.closed) this.idle.push(blocker);
      },
    );
    await raceTimeout(read, ms, signal);
  }

  private newBlocker(): RedisClient {
    const c = this.client.duplicate();
    c.on('error', this.onError);
    this.blockers.add(c);
    return c;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const c of this.blockers) {
      // disconnect, not quit: a pending blocking read would hold QUIT back until it times out.
      c.disconnect();
      c.removeListener('error', this.onError);
    }
    this.blockers.clear();
    this.idle.length = 0;
    if (this.owned) await this.client.quit().catch(() => this.client.disconnect());
    this.client.removeListener('error', this.onError);
  }
}

function raceTimeout(promise: Promise<void> | undefined, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, Math.max(0, ms));
    signal?.addEventListener('abort', done, { once: true });
    void promise?.then(done);
  });
}
