// Owns what every port shares: the connection (ours or the user's), JetStream handles, the
// streams and buckets under the prefix (created on first use, re-created if the server lost
// them), the backend clock, and the mapping of driver errors onto core errors.
import { BackendUnavailableError, ConfigError, newId, redactUrl, SchemaError, type Logger } from '@baton/core';
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager, type StreamConfig } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { connect, type NatsConnection, type NodeConnectionOptions } from '@nats-io/transport-node';
import { Bucket } from './nats-bucket.js';
import { ServerClock } from './nats-clock.js';
import { isMissingResource, jsCode, JsCode, mapError } from './nats-errors.js';
import { bucketStream, type ResourceNames } from './nats-names.js';

export type BucketId = keyof ResourceNames['buckets'];

/** Bumped when the stored layout changes incompatibly; a newer layout is refused. */
export const LAYOUT_VERSION = 1;
const SCHEMA_KEY = 'm.schema';
const CLOCK_KEY = 'm.clock';

export interface RuntimeSettings {
  ackWaitMs: number;
  duplicateWindowMs: number;
  storage: 'file' | 'memory';
  replicas: number;
  heartbeatRetentionMs: number;
  requestTimeoutMs: number;
}

export interface NatsContext {
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  readonly names: ResourceNames;
  readonly clock: ServerClock;
  readonly logger: Logger;
  /** Largest message the server accepts (its max_payload). */
  readonly maxPayload: number;
  /** The queue consumer's ack wait; claims with another lease length re-arm the timer per delivery. */
  readonly ackWaitMs: number;
  /** How long to wait for the server to confirm an ack / NAK. */
  readonly ackTimeoutMs: number;
  readonly buckets: Readonly<Record<BucketId, Bucket>>;
}

export type ConnectionSource = NatsConnection | string | string[];

function isConnection(value: ConnectionSource): value is NatsConnection {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && typeof (value as NatsConnection).publish === 'function';
}

export class NatsRuntime {
  readonly clock: ServerClock;
  private connection: Promise<NatsConnection> | null = null;
  private context: Promise<NatsContext> | null = null;
  private readonly ownsConnection: boolean;
  private clockTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private disconnected = false;
  private watched: NatsConnection | null = null;

  constructor(
    private readonly source: ConnectionSource,
    readonly names: ResourceNames,
    private readonly settings: RuntimeSettings,
    readonly logger: Logger,
    private readonly connectOptions: Partial<NodeConnectionOptions> = {},
  ) {
    if (!isConnection(source) && !(typeof source === 'string' || (Array.isArray(source) && source.every((s) => typeof s === 'string')))) {
      throw new ConfigError('natsBackend needs a NatsConnection from @nats-io/transport-node, a server URL (e.g. "nats://127.0.0.1:4222") or a list of URLs.');
    }
    this.ownsConnection = !isConnection(source);
    this.clock = new ServerClock(logger);
  }

  /** Runs one port operation against a ready context; driver errors become core errors. */
  async run<T>(what: string, fn: (ctx: NatsContext) => Promise<T>): Promise<T> {
    const ctx = await this.ready();
    if (this.disconnected) {
      // Fail at once instead of letting every request wait out its timeout while the client reconnects.
      throw new BackendUnavailableError(`NATS: cannot ${what}: the connection to ${ctx.nc.getServer()} is down and the client is reconnecting. Retry once it is back.`);
    }
    try {
      return await fn(ctx);
    } catch (err) {
      if (isMissingResource(err)) {
        this.logger.warn({ err, prefix: this.names.prefix }, 'NATS stream or consumer missing; it will be re-created on the next call');
        this.context = null;
      }
      throw mapError(err, what);
    }
  }

  ready(): Promise<NatsContext> {
    if (this.closed) return Promise.reject(new BackendUnavailableError('NATS backend is closed; create a new natsBackend(...) to keep working.'));
    if (!this.context) {
      const attempt = this.init().catch((err: unknown) => {
        if (this.context === attempt) this.context = null;
        throw mapError(err, `set up streams and buckets for prefix "${this.names.prefix}"`);
      });
      this.context = attempt;
    }
    return this.context;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.clockTimer) clearInterval(this.clockTimer);
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
        const attempt = connect({
          name: `baton:${this.names.prefix}`,
          maxReconnectAttempts: -1,
          reconnectTimeWait: 250,
          pingInterval: 10_000,
          ...this.connectOptions,
          servers,
        }).catch((err: unknown) => {
          if (this.connection === attempt) this.connection = null;
          const shown = (Array.isArray(servers) ? servers : [servers]).map(redactUrl).join(', ');
          throw new BackendUnavailableError(`NATS: cannot connect to ${shown}: ${err instanceof Error ? err.message : String(err)}. Is nats-server running with JetStream (-js)?`, { cause: err });
        });
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
          void this.calibrateClock().catch(() => undefined);
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
    const timeout = this.settings.requestTimeoutMs;
    const js = jetstream(nc, { timeout });
    const jsm = await jetstreamManager(nc, { timeout, checkAPI: false });
    const maxPayload = nc.info?.max_payload ?? 1024 * 1024;
    const deps = { nc, js, jsm, maxPayload };
    const b = this.names.buckets;
    const buckets = {
      tasks: new Bucket(deps, b.tasks),
      checkpoints: new Bucket(deps, b.checkpoints),
      timers: new Bucket(deps, b.timers),
      leases: new Bucket(deps, b.leases),
      delays: new Bucket(deps, b.delays),
      heartbeats: new Bucket(deps, b.heartbeats),
    };
    await this.ensureResources(nc, jsm);
    await this.checkLayout(buckets.tasks);
    const ci = await jsm.consumers.info(this.names.queueStream, this.names.queueConsumer);
    const ctx: NatsContext = {
      nc,
      js,
      jsm,
      names: this.names,
      clock: this.clock,
      logger: this.logger,
      maxPayload,
      ackTimeoutMs: timeout,
      ackWaitMs: Math.round((ci.config.ack_wait ?? this.settings.ackWaitMs * 1e6) / 1e6),
      buckets,
    };
    if (!this.clock.isCalibrated) {
      // A key of its own per process (several may calibrate at once), removed after each read.
      const probeKey = `${CLOCK_KEY}.${newId().replaceAll('-', '')}`;
      this.clockProbe = async () => {
        const rev = await buckets.tasks.put(probeKey, { at: Date.now() });
        const sm = await jsm.direct.getMessage(buckets.tasks.stream, { seq: rev });
        await buckets.tasks.deleteRevision(rev);
        if (!sm) throw new Error('clock probe vanished');
        return sm.time.getTime();
      };
      await this.calibrateClock();
      if (!this.clockTimer) {
        this.clockTimer = setInterval(() => void this.calibrateClock().catch(() => undefined), 60_000);
        this.clockTimer.unref();
      }
    }
    return ctx;
  }

  private clockProbe: (() => Promise<number>) | null = null;

  /** Never fails the caller: without a fresh sample the last offset (or none) stays in use. */
  private async calibrateClock(): Promise<void> {
    if (!this.clockProbe) return;
    try {
      await this.clock.calibrate(this.clockProbe);
    } catch (err) {
      this.logger.warn({ err }, 'NATS: could not measure the server clock; keeping the previous offset');
    }
  }

  private async ensureResources(nc: NatsConnection, jsm: JetStreamManager): Promise<void> {
    const n = this.names;
    const s = this.settings;
    const common = { storage: s.storage, num_replicas: s.replicas } as const;
    await ensureStream(
      jsm,
      {
        name: n.queueStream,
        subjects: [n.queueFilter],
        retention: 'workqueue',
        max_msgs_per_subject: 1,
        discard: 'new',
        discard_new_per_subject: true,
        duplicate_window: s.duplicateWindowMs * 1e6,
        allow_direct: true,
        ...common,
      } as StreamConfig,
      (c) => c.retention === 'workqueue' && c.max_msgs_per_subject === 1 && c.discard_new_per_subject === true,
    );
    await ensureStream(
      jsm,
      { name: n.eventStream, subjects: [`${n.eventSubjectPrefix}.>`], retention: 'limits', allow_direct: true, ...common } as StreamConfig,
      (c) => c.retention === 'limits',
    );
    try {
      await jsm.consumers.info(n.queueStream, n.queueConsumer);
    } catch (err) {
      if (!isMissingResource(err)) throw err;
      await jsm.consumers.add(n.queueStream, {
        durable_name: n.queueConsumer,
        ack_policy: 'explicit',
        ack_wait: s.ackWaitMs * 1e6,
        max_deliver: -1,
        max_ack_pending: -1,
        deliver_policy: 'all',
        filter_subject: n.queueFilter,
      } as Parameters<JetStreamManager['consumers']['add']>[1]);
    }
    const kvm = new Kvm(jetstream(nc, { timeout: s.requestTimeoutMs }));
    await Promise.all(
      (Object.entries(n.buckets) as [BucketId, string][]).map(async ([id, bucket]) => {
        const opts = {
          history: 1,
          storage: s.storage,
          replicas: s.replicas,
          ...(id === 'heartbeats' ? { ttl: s.heartbeatRetentionMs } : {}),
        };
        for (let i = 0; ; i++) {
          try {
            await kvm.create(bucket, opts);
            break;
          } catch (err) {
            // Another process created it between our look and our create: open it.
            if (i < 3 && jsCode(err) === JsCode.StreamNameInUse) continue;
            throw err;
          }
        }
        const si = await jsm.streams.info(bucketStream(bucket));
        if (si.config.max_msgs_per_subject !== 1) {
          throw new SchemaError(`NATS KV bucket ${bucket} exists with history ${si.config.max_msgs_per_subject}; @baton/nats needs history 1. It was not made by Baton: choose another prefix.`);
        }
      }),
    );
  }

  private async checkLayout(tasks: Bucket): Promise<void> {
    const mine = { version: LAYOUT_VERSION, kind: 'baton-nats' };
    if ((await tasks.create(SCHEMA_KEY, mine)) !== null) return;
    const stored = await tasks.get<{ version?: unknown; kind?: unknown }>(SCHEMA_KEY);
    const v = stored?.value;
    if (!v || v.kind !== 'baton-nats' || typeof v.version !== 'number') {
      throw new SchemaError(`NATS bucket ${tasks.name} holds data that is not Baton's; choose another prefix.`);
    }
    if (v.version > LAYOUT_VERSION) {
      throw new SchemaError(`NATS prefix "${this.names.prefix}" was written by a newer @baton/nats (layout ${v.version}; this one reads ${LAYOUT_VERSION}). Upgrade @baton/nats.`);
    }
  }
}

async function ensureStream(jsm: JetStreamManager, config: StreamConfig, matches: (existing: StreamConfig) => boolean): Promise<void> {
  for (let i = 0; i < 3; i++) {
    try {
      const si = await jsm.streams.info(config.name);
      if (!matches(si.config)) {
        throw new SchemaError(`NATS stream ${config.name} exists with a configuration @baton/nats did not make (retention ${si.config.retention}); choose another prefix or delete the stream.`);
      }
      return;
    } catch (err) {
      if (!isMissingResource(err)) throw err;
    }
    try {
      await jsm.streams.add(config);
      return;
    } catch (err) {
      if (jsCode(err) !== JsCode.StreamNameInUse) {
        if (err instanceof Error && /subjects overlap/i.test(err.message)) {
          throw new ConfigError(`NATS stream ${config.name} cannot be created: its subjects (${config.subjects.join(', ')}) overlap another stream's. Choose another prefix.`, { cause: err });
        }
        throw err;
      }
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
