// natsBackend(): every port on one NATS server with JetStream, so a NATS-only deployment needs
// nothing else. Streams, buckets and consumers are created on first use (or by `ready`) under the
// validated prefix; pass your own connection (your TLS, credentials, reconnect policy) or URLs.
import { ConfigError, enumOption, intOption, validateText, type Backend, type BackendCapabilities, type ReadyContext } from '@baton/core/adapter';
import type { NodeConnectionOptions } from '@nats-io/transport-node';
import { NatsCheckpointStore } from './nats-checkpoint-store.js';
import { NatsCoordinationStore } from './nats-coordination-store.js';
import { NatsEventLog } from './nats-event-log.js';
import { NatsHeartbeatStore } from './nats-heartbeat-store.js';
import { resourceNames } from './nats-names.js';
import { Outbox } from './nats-outbox.js';
import { NatsQueue } from './nats-queue.js';
import type { ResourceSettings } from './nats-resources.js';
import { isConnection, NatsRuntime, type ConnectionSource } from './nats-runtime.js';
import { NatsTaskFlow } from './nats-task-flow.js';
import { TaskRecords } from './nats-task-records.js';
import { NatsTaskStore } from './nats-task-store.js';
import { NatsTimerStore } from './nats-timer-store.js';

export interface NatsBackendOptions {
  /** Names every stream, bucket and subject: `<prefix>_queue`, `KV_<prefix>_tasks`, `<prefix>.r.*`, … (^[a-z_][a-z0-9_]{0,47}$). */
  prefix: string;
  /** The backend's name in logs and metrics. @default 'nats' */
  name?: string;
  /**
   * ack_wait of the queue consumers this backend creates: how long a delivery pulled by a claimer
   * that died before writing its lease waits to be redelivered. Leases themselves are timed by the
   * backend clock, not by this. @default 30_000
   */
  ackWaitMs?: number;
  /** Nats-Msg-Id duplicate window of the queue and event streams (a republished event inside it is dropped). @default 120_000 */
  duplicateWindowMs?: number;
  /** JetStream storage of new streams and buckets. `memory` loses everything on a server restart. @default 'file' */
  storage?: 'file' | 'memory';
  /** Replicas of new streams and buckets (clustered JetStream). @default 1 */
  replicas?: number;
  /** max_age of the heartbeats bucket: entries nobody beats or removes vanish after this. @default 86_400_000 (24 h) */
  heartbeatRetentionMs?: number;
  /** Timeout of each JetStream request (publish, KV read, …). @default 5_000 */
  requestTimeoutMs?: number;
  /** Extra options for the connection this backend opens when given URLs (ignored for your own connection). */
  connectOptions?: Partial<NodeConnectionOptions>;
}

export interface NatsBackend extends Backend {
  readonly prefix: string;
  /** Connects and creates the streams and buckets now instead of on first use; the baton passes its logger. */
  ready(context?: ReadyContext): Promise<void>;
}

const DAY_MS = 86_400_000;

function compileSettings(options: NatsBackendOptions): ResourceSettings {
  const field = (name: string) => `natsBackend option ${name}`;
  return {
    ackWaitMs: intOption(field('ackWaitMs'), options.ackWaitMs, 30_000, 100, DAY_MS),
    duplicateWindowMs: intOption(field('duplicateWindowMs'), options.duplicateWindowMs, 120_000, 1_000, DAY_MS),
    storage: enumOption(field('storage'), options.storage, 'file', ['file', 'memory']),
    replicas: intOption(field('replicas'), options.replicas, 1, 1, 5),
    heartbeatRetentionMs: intOption(field('heartbeatRetentionMs'), options.heartbeatRetentionMs, DAY_MS, 1_000, 365 * DAY_MS),
    requestTimeoutMs: intOption(field('requestTimeoutMs'), options.requestTimeoutMs, 5_000, 10, 600_000),
  };
}

/**
 * A Backend on NATS JetStream (nats-server 2.9.2+ with -js). `connection` is your NatsConnection
 * (left open by close()) or one or more server URLs (connected lazily, closed by close()).
 */
export function natsBackend(connection: ConnectionSource, options: NatsBackendOptions): NatsBackend {
  if (!isConnection(connection) && !(typeof connection === 'string' || (Array.isArray(connection) && connection.length > 0 && connection.every((s) => typeof s === 'string')))) {
    throw new ConfigError('natsBackend(connection, options): connection must be a NatsConnection from @nats-io/transport-node, a server URL (e.g. "nats://127.0.0.1:4222") or a non-empty list of URLs.');
  }
  if (typeof options !== 'object' || options === null) {
    throw new ConfigError('natsBackend(connection, options) needs options with a prefix, e.g. natsBackend("nats://127.0.0.1:4222", { prefix: "baton" }).');
  }
  const names = resourceNames(options.prefix);
  const settings = compileSettings(options);
  let name = 'nats';
  if (options.name !== undefined) {
    try {
      name = validateText('natsBackend option name', options.name, 100);
    } catch (err) {
      throw new ConfigError((err as Error).message);
    }
  }
  const rt = new NatsRuntime(connection, names, settings, options.connectOptions);
  const records = new TaskRecords(new Outbox());
  const queue = new NatsQueue(rt);
  const tasks = new NatsTaskStore(rt, records);
  const checkpoints = new NatsCheckpointStore(rt, records);
  const capabilities: BackendCapabilities = Object.freeze({
    durable: true,
    multiProcess: true,
    transactionalEnqueue: false,
    pushWake: true,
    // Events ride in the record's compare-and-set (the outbox) and are published right after it.
    atomicEvents: true,
  });
  return {
    name,
    prefix: names.prefix,
    capabilities,
    clock: rt.clock,
    queue,
    tasks,
    checkpoints,
    flow: new NatsTaskFlow(rt, queue, tasks, checkpoints),
    timers: new NatsTimerStore(rt),
    heartbeats: new NatsHeartbeatStore(rt, settings.heartbeatRetentionMs),
    events: new NatsEventLog(rt),
    coordination: new NatsCoordinationStore(rt),
    async ready(context?: ReadyContext) {
      if (context?.logger) rt.setLogger(context.logger);
      await rt.ready();
    },
    close: () => rt.close(),
  };
}
