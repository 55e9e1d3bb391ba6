// natsBackend(): all six ports on one NATS server with JetStream, so a NATS-only deployment
// needs nothing else. Streams, buckets and the consumer are created on first use under the
// validated prefix; pass your own connection (your TLS, credentials, reconnect policy) or URLs.
import { ConfigError, silentLogger, type Backend, type BackendCapabilities, type Logger } from '@baton/core';
import type { NodeConnectionOptions } from '@nats-io/transport-node';
import { NatsCheckpointStore } from './nats-checkpoint-store.js';
import { NatsEventLog } from './nats-event-log.js';
import { NatsHeartbeatStore } from './nats-heartbeat-store.js';
import { resourceNames } from './nats-names.js';
import { NatsQueue } from './nats-queue.js';
import { NatsRuntime, type ConnectionSource, type RuntimeSettings } from './nats-runtime.js';
import { NatsTaskStore } from './nats-task-store.js';
import { TaskRecords } from './nats-task-records.js';
import { NatsTimerStore } from './nats-timer-store.js';

export interface NatsBackendOptions {
  /** Names every stream, bucket and subject: `<prefix>_queue`, `KV_<prefix>_tasks`, `<prefix>.q.*`, … (^[a-z_][a-z0-9_]{0,47}$). */
  prefix: string;
  /** pino-compatible logger. @default silent */
  logger?: Logger;
  /**
   * ack_wait of the queue consumer when this backend creates it. Set it to your stallTimeoutMs:
   * claims and extensions with a longer lease pay one extra NAK-with-delay per delivery.
   * An existing consumer keeps its own ack_wait. @default 180_000
   */
  ackWaitMs?: number;
  /** Nats-Msg-Id duplicate window of the queue stream. @default 120_000 */
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
  /** Connects and creates the streams, buckets and consumer now instead of on first use. */
  ready(): Promise<void>;
}

export const natsCapabilities: BackendCapabilities = Object.freeze({
  durable: true,
  multiProcess: true,
  transactionalEnqueue: false,
  pushWake: true,
});

function positiveInt(field: string, value: number | undefined, fallback: number, min: number): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < min) throw new ConfigError(`natsBackend: ${field} must be an integer ≥ ${min}; got ${String(value)}.`);
  return v;
}

export function compileSettings(options: NatsBackendOptions): RuntimeSettings {
  const storage = options.storage ?? 'file';
  if (storage !== 'file' && storage !== 'memory') throw new ConfigError(`natsBackend: storage must be 'file' or 'memory'; got ${JSON.stringify(storage)}.`);
  return {
    ackWaitMs: positiveInt('ackWaitMs', options.ackWaitMs, 180_000, 1),
    duplicateWindowMs: positiveInt('duplicateWindowMs', options.duplicateWindowMs, 120_000, 100),
    storage,
    replicas: positiveInt('replicas', options.replicas, 1, 1),
    heartbeatRetentionMs: positiveInt('heartbeatRetentionMs', options.heartbeatRetentionMs, 86_400_000, 1_000),
    requestTimeoutMs: positiveInt('requestTimeoutMs', options.requestTimeoutMs, 5_000, 10),
  };
}

/**
 * A Backend on NATS JetStream (nats-server 2.9.2+ with -js). `connection` is your NatsConnection
 * (left open by close()) or one or more server URLs (connected lazily, closed by close()).
 */
export function natsBackend(connection: ConnectionSource, options: NatsBackendOptions): NatsBackend {
  if (!options || typeof options !== 'object') throw new ConfigError('natsBackend needs options: natsBackend(connectionOrUrl, { prefix: "baton" }).');
  const names = resourceNames(options.prefix);
  const settings = compileSettings(options);
  const logger = (options.logger ?? silentLogger).child({ backend: 'nats', prefix: names.prefix });
  const rt = new NatsRuntime(connection, names, settings, logger, options.connectOptions);
  const records = new TaskRecords();
  return {
    name: 'nats',
    prefix: names.prefix,
    capabilities: natsCapabilities,
    clock: rt.clock,
    queue: new NatsQueue(rt),
    tasks: new NatsTaskStore(rt, records),
    checkpoints: new NatsCheckpointStore(rt, records),
    timers: new NatsTimerStore(rt),
    heartbeats: new NatsHeartbeatStore(rt, settings.heartbeatRetentionMs),
    events: new NatsEventLog(rt),
    async ready() {
      await rt.ready();
    },
    close: () => rt.close(),
  };
}
