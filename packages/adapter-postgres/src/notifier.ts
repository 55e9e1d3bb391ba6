// LISTEN/NOTIFY wake-ups for idle claimers: one dedicated connection per backend listens on the
// schema's channel; statements that make work claimable NOTIFY it with the queue's name as the
// payload, and only the claimers waiting on that queue wake (an empty payload wakes them all).
// The connection is re-established with backoff when it drops (server restart,
// pg_terminate_backend); while it is down, claimers fall back to timed polls, and every
// reconnect wakes them all (notifications sent meanwhile are lost).
import type { Logger } from '@baton/core/adapter';
import type { PgNotice, PgNotification, PgPool, PgPoolClient } from './pg-types.js';

const KEEPALIVE_MS = 30_000;
const MIN_RETRY_MS = 100;
const MAX_RETRY_MS = 5_000;

interface Waiter {
  queues: readonly string[];
  done: () => void;
}

export class Notifier {
  private client: PgPoolClient | null = null;
  private connecting: Promise<void> | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private keepalive: NodeJS.Timeout | null = null;
  private retryMs = MIN_RETRY_MS;
  private closed = false;
  private readonly waiters = new Set<Waiter>();
  /** Wakes per queue ('' counts for every queue): a claimer that saw its count change must look again. */
  private readonly wakes = new Map<string, number>();

  constructor(
    private readonly pool: PgPool,
    private readonly channel: string,
    private readonly logger: () => Logger,
    private readonly keepaliveMs = KEEPALIVE_MS,
  ) {}

  /** Starts listening if not yet; resolves when LISTEN is active or the attempt failed (retried in the background). */
  ensure(): Promise<void> {
    if (this.client || this.closed) return Promise.resolve();
    this.connecting ??= this.connect().finally(() => {
      this.connecting = null;
    });
    return this.connecting;
  }

  /** A token that changes whenever one of `queues` (or every queue) is woken. */
  token(queues: readonly string[]): number {
    let n = this.wakes.get('') ?? 0;
    for (const q of queues) n += this.wakes.get(q) ?? 0;
    return n;
  }

  /** Resolves on the first wake of one of `queues` after `since` (a `token`), after `ms`, or when `signal` aborts. */
  wait(queues: readonly string[], ms: number, since: number, signal?: AbortSignal): Promise<void> {
    if (ms <= 0 || this.token(queues) !== since || signal?.aborted || this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      const waiter: Waiter = {
        queues,
        done: () => {
          clearTimeout(timer);
          this.waiters.delete(waiter);
          signal?.removeEventListener('abort', waiter.done);
          resolve();
        },
      };
      const timer = setTimeout(waiter.done, ms);
      this.waiters.add(waiter);
      signal?.addEventListener('abort', waiter.done, { once: true });
    });
  }

  /** Wakes the claimers of `queue` ('' or omitted: every claimer). */
  wake(queue = ''): void {
    this.wakes.set(queue, (this.wakes.get(queue) ?? 0) + 1);
    for (const w of [...this.waiters]) if (queue === '' || w.queues.includes(queue)) w.done();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.connecting) await this.connecting;
    const client = this.client;
    this.detach();
    if (client) {
      client.on('error', () => undefined);
      try {
        await client.query({ text: `UNLISTEN "${this.channel}"` });
        client.release();
      } catch {
        client.release(true);
      }
    }
    this.wake();
  }

  private async connect(): Promise<void> {
    let client: PgPoolClient | undefined;
    try {
      client = await this.pool.connect();
      const c = client;
      c.on('notification', (message: PgNotification) => {
        if (message.channel === this.channel) this.wake(message.payload ?? '');
      });
      c.on('notice', (notice: PgNotice) => logNotice(this.logger(), notice));
      c.on('error', (err: Error) => this.lost(c, err));
      c.on('end', () => this.lost(c, new Error('connection ended')));
      await c.query({ text: `LISTEN "${this.channel}"` });
      if (this.closed) {
        c.removeAllListeners();
        c.release(true);
        return;
      }
      const reconnect = this.retryMs > MIN_RETRY_MS;
      this.client = c;
      this.retryMs = MIN_RETRY_MS;
      // The keepalive repeats the LISTEN (a no-op on a channel already listened to) rather than a
      // SELECT 1: the connection then always shows as the listener in pg_stat_activity (its last
      // query), which is how an operator, and the connection-loss test, tell it from pooled ones.
      this.keepalive = setInterval(() => {
        c.query({ text: `LISTEN "${this.channel}"` }).catch((err: unknown) => this.lost(c, err as Error));
      }, this.keepaliveMs);
      this.keepalive.unref();
      if (reconnect) this.logger().info({ channel: this.channel }, 'LISTEN connection re-established');
      // Notifications sent while we were not listening are gone: let waiters look for work.
      this.wake();
    } catch (err) {
      if (client) {
        client.removeAllListeners();
        client.on('error', () => undefined);
        client.release(true);
      }
      this.logger().warn({ err, channel: this.channel, retryInMs: this.retryMs }, 'LISTEN connection failed; claimers poll until it is back');
      this.scheduleRetry();
    }
  }

  private lost(client: PgPoolClient, err: Error): void {
    if (this.client !== client) return;
    this.detach();
    // Late errors from the dead socket must not reach an unhandled 'error' event.
    client.on('error', () => undefined);
    client.release(err);
    if (this.closed) return;
    this.logger().warn({ err, channel: this.channel }, 'LISTEN connection lost; reconnecting');
    this.wake();
    this.scheduleRetry();
  }

  private detach(): void {
    if (this.keepalive) clearInterval(this.keepalive);
    this.keepalive = null;
    const client = this.client;
    this.client = null;
    client?.removeAllListeners();
  }

  private scheduleRetry(): void {
    if (this.closed || this.retryTimer) return;
    const delay = this.retryMs;
    this.retryMs = Math.min(MAX_RETRY_MS, this.retryMs * 2);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      void this.ensure();
    }, delay);
    this.retryTimer.unref();
  }
}

/**
 * Server warnings (a deprecated setting, a near wraparound) reach the baton's log; plain notices
 * stay quiet, and so does the warning of a `VACUUM (SKIP_LOCKED)` that found its table busy (the
 * vacuum after retention asks for exactly that).
 */
export function logNotice(logger: Logger, notice: PgNotice): void {
  const skippedVacuum = notice.code === '55P03' && notice.message?.startsWith('skipping vacuum') === true;
  if (notice.severity === 'WARNING' && !skippedVacuum) logger.warn({ code: notice.code }, `PostgreSQL: ${notice.message ?? ''}`);
  else logger.debug({ code: notice.code, severity: notice.severity }, `PostgreSQL: ${notice.message ?? ''}`);
}
