// Owns what every port shares: the connection (ours or the user's), JetStream handles, the
// streams, buckets and consumers under the prefix, the backend clock, the wake hub and the
// logger the baton hands over in `ready`. `run(op, fn)` is the one guard every port call goes
// through: it waits for the context, fails fast while the connection is down, and turns every
// driver error into a BatonError naming the operation.
import { BackendUnavailableError, ConfigError, newId, redactUrl, silentLogger, type Logger } from '@baton/core/adapter';
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection, type NodeConnectionOptions } from '@nats-io/transport-node';
import { Bucket } from './nats-bucket.js';
import { ServerClock } from './nats-clock.js';
import { isMissingResource, toBatonError } from './nats-errors.js';
import { BUCKET_IDS, type BucketId, type ResourceNames } from './nats-names.js';
import { checkLayout, Consumers, ensureResources, type ResourceSettings } from './nats-resources.js';
import { WakeHub } from './nats-wake.js';

const CLOCK_KEY = 'm.clock';

export interface NatsContext {
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  readonly names: ResourceNames;
  readonly clock: ServerClock;
  readonly logger: Logger;
  /** How long to wait for the server to confirm an ack or NAK. */
  readonly requestTimeoutMs: number;
  /** The events stream's duplicate window: a republish within it is deduplicated by message id. */
  readonly duplicateWindowMs: number;
  readonly buckets: Readonly<Record<BucketId, Bucket>>;
  readonly consumers: Consumers;
  readonly wake: WakeHub;
}

export type ConnectionSource = NatsConnection | string | string[];

export function isConnection(value: unknown): value is NatsConnection {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && typeof (value as NatsConnection).publish === 'function';
}

export class NatsRuntime {
  readonly clock: ServerClock;
  logger: Logger = silentLogger;
  private connection: Promise<NatsConnection> | null = null;
  private context: Promise<NatsContext> | null = null;
  private readonly ownsConnection: boolean;
  private clockTimer: NodeJS.Timeout | undefined;
  private clockProbe: (() => Promise<number>) | null = null;
  private wake: WakeHub | null = null;
  private closed = false;
  private disconnected = false;
  private watched: NatsConnection | null = null;

  constructor(
    private readonly source: ConnectionSource,
    readonly names: ResourceNames,
    readonly settings: ResourceSettings,
    private readonly connectOptions: Partial<NodeConnectionOptions> = {},
  ) {
    this.ownsConnection = !isConnection(source);
    this.clock = new ServerClock(this.logger);
  }

  get requestTimeoutMs(): number {
    return this.settings.requestTimeoutMs;
  }

  setLogger(logger: Logger): void {
    this.logger = logger.child({ backend: 'nats', prefix: this.names.prefix });
    this.clock.logger = this.logger;
  }

  /** Runs one port operation (`op`, e.g. "queue.claim") against a ready context; every error becomes a BatonError. */
  async run<T>(op: string, fn: (ctx: NatsContext) => Promise<T>): Promise<T> {
    const ctx = await this.ready(op);
    if (this.disconnected) {
      // Fail at once instead of letting every request wait out its timeout while the client reconnects.
      throw new BackendUnavailableError(`NATS: ${op} failed: the connection to ${ctx.nc.getServer()} is down and the client is reconnecting. Retry once it is back.`);
    }
    try {
      return await fn(ctx);
    } catch (err) {
      if (isMissingResource(err)) {
        this.logger.warn({ err, prefix: this.names.prefix }, 'NATS stream or consumer missing; it will be re-created on the next call');
        ctx.consumers.forget();
        this.context = null;
      }
      throw toBatonError(err, op);
    }
  }

  ready(op = 'backend.ready'): Promise<NatsContext> {
    if (this.closed) return Promise.reject(new BackendUnavailableError(`NATS: ${op} failed: the backend is closed; create a new natsBackend(...) to keep working.`));
    if (!this.context) {
      const attempt = this.init().catch((err: unknown) => {
        if (this.context === attempt) this.context = null;
        throw toBatonError(err, `${op} (setting up the streams and buckets of prefix "${this.names.prefix}")`);
      });
      this.context = attempt;
    }
    return this.context;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.clockTimer) clearInterval(this.clockTimer);
    this.wake?.close();
    const conn = this.connection;
    this.connection = null;
    this.context = null;
    if (conn && this.ownsConnection) {
      const nc = await conn.catch(() => null);
      if (nc && !nc.isClosed()) await nc.close().catch(() => undefined);
    }
  }

  private connect(): Promise<NatsConnection> {
    if (!this.connection) {
      if (isConnection(this.source)) {
        this.connection = Promise.resolve(this.source);
        this.watchStatus(this.source);
      } else {
        const servers = this.source;
        // noAsyncTraces: otherwise every request builds an Error up front for its stack (a fifth of
        // the client's CPU on the claim → start → settle path); errors still name the operation.
        const attempt = connect({ name: `baton:${this.names.prefix}`, maxReconnectAttempts: -1, reconnectTimeWait: 250, pingInterval: 10_000, noAsyncTraces: true, ...this.connectOptions, servers }).catch(
          (err: unknown) => {
            if (this.connection === attempt) this.connection = null;
            const shown = (Array.isArray(servers) ? servers : [servers]).map(redactUrl).join(', ');
            throw new BackendUnavailableError(`NATS: cannot connect to ${shown}: ${err instanceof Error ? err.message : String(err)}. Is nats-server running with JetStream (-js)?`, {
              cause: err,
            });
          },
        );
        this.connection = attempt;
        void attempt.then((nc) => this.watchStatus(nc), () => undefined);
      }
    }
    return this.connection;
  }

  private watchStatus(nc: NatsConnection): void {
    if (this.watched === nc) return;
    this.watched = nc;
    void (async () => {
      for await (const s of nc.status()) {
        if (this.closed) break;
        if (s.type === 'disconnect') {
          this.disconnected = true;
          this.logger.warn({ server: s.server }, 'NATS connection lost; reconnecting');
        } else if (s.type === 'reconnect') {
          this.disconnected = false;
          this.logger.info({ server: s.server }, 'NATS connection restored');
          void this.calibrateClock();
        }
      }
    })().catch(() => undefined);
  }

  private async init(): Promise<NatsContext> {
    const nc = await this.connect();
    const version = nc.info?.version ?? '0.0.0';
    if (!atLeast(version, [2, 9, 2])) {
      throw new ConfigError(`NATS server ${version} is too old: @baton/nats needs nats-server 2.9.2 or newer (discard_new_per_subject) with JetStream enabled.`);
    }
    if (nc.info && nc.info.jetstream === false) {
      throw new ConfigError('NATS server has JetStream disabled: start nats-server with -js (and a store directory, -sd) to use @baton/nats.');
    }
    const s = this.settings;
    const js = jetstream(nc, { timeout: s.requestTimeoutMs });
    const jsm = await jetstreamManager(nc, { timeout: s.requestTimeoutMs, checkAPI: false });
    const deps = { nc, js, jsm, maxPayload: nc.info?.max_payload ?? 1024 * 1024 };
    const buckets = Object.fromEntries(BUCKET_IDS.map((id) => [id, new Bucket(deps, this.names.buckets[id])])) as Record<BucketId, Bucket>;
    await ensureResources(nc, jsm, this.names, s);
    await checkLayout(buckets.tasks, this.names.prefix);
    this.wake ??= new WakeHub(nc, this.names.prefix);
    // The baton's logger arrives with `ready`, possibly after this context was made.
    const logger = (): Logger => this.logger;
    const ctx: NatsContext = {
      nc,
      js,
      jsm,
      names: this.names,
      clock: this.clock,
      get logger() {
        return logger();
      },
      requestTimeoutMs: s.requestTimeoutMs,
      duplicateWindowMs: s.duplicateWindowMs,
      buckets,
      consumers: new Consumers(jsm, this.names.queueStream, s.ackWaitMs),
      wake: this.wake,
    };
    if (!this.clock.isCalibrated) {
      // A key of its own per process (several may calibrate at once), removed after each read.
      const probeKey = `${CLOCK_KEY}.${newId().replaceAll('-', '')}`;
      this.clockProbe = async () => {
        const rev = await buckets.tasks.put(probeKey, new Uint8Array([0x30]));
        const sm = await jsm.direct.getMessage(buckets.tasks.stream, { seq: rev });
        await buckets.tasks.deleteRevision(rev);
        if (!sm) throw new Error('clock probe vanished');
        return sm.time.getTime();
      };
      await this.calibrateClock();
      if (!this.clockTimer) {
        this.clockTimer = setInterval(() => void this.calibrateClock(), 60_000);
        this.clockTimer.unref();
      }
    }
    return ctx;
  }

  /** Never fails the caller: without a fresh sample the last offset (or none) stays in use. */
  private async calibrateClock(): Promise<void> {
    if (!this.clockProbe) return;
    try {
      await this.clock.calibrate(this.clockProbe);
    } catch (err) {
      this.logger.warn({ err }, 'NATS: could not measure the server clock; keeping the previous offset');
    }
  }
}

function atLeast(version: string, min: [number, number, number]): boolean {
  const parts = version.split(/[.-]/).map((x) => Number.parseInt(x, 10));
  for (let i = 0; i < 3; i++) {
    const a = parts[i] ?? 0;
    const b = min[i] ?? 0;
    if (a !== b) return a > b;
  }
  return true;
}
