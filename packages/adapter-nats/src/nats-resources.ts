// The streams, buckets and consumers under a prefix: created on first use, re-created if the
// server lost them, and refused (SchemaError) when they exist with a configuration this adapter
// did not make. Queue consumers (one per queue and priority level, one per queue for delayed
// deliveries) are created lazily and remembered per process.
import { ConfigError, SchemaError } from '@baton/core/adapter';
import { jetstream, type JetStreamManager, type StreamConfig } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Bucket } from './nats-bucket.js';
import { decodeJson, encodeJson, isObject } from './nats-codec.js';
import { isMissingResource, jsCode, JsCode } from './nats-errors.js';
import { bucketStream, BUCKET_IDS, type BucketId, type ResourceNames } from './nats-names.js';

/** Bumped when the stored layout changes incompatibly; another layout is refused. */
export const LAYOUT_VERSION = 2;
const SCHEMA_KEY = 'm.schema';

export interface ResourceSettings {
  ackWaitMs: number;
  duplicateWindowMs: number;
  storage: 'file' | 'memory';
  replicas: number;
  heartbeatRetentionMs: number;
  requestTimeoutMs: number;
}

export async function ensureResources(nc: NatsConnection, jsm: JetStreamManager, names: ResourceNames, s: ResourceSettings): Promise<void> {
  const common = { storage: s.storage, num_replicas: s.replicas } as const;
  await ensureStream(
    jsm,
    {
      name: names.queueStream,
      subjects: [...names.queueSubjects],
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
    { name: names.eventStream, subjects: [...names.eventSubjects], retention: 'limits', allow_direct: true, duplicate_window: s.duplicateWindowMs * 1e6, ...common } as StreamConfig,
    (c) => c.retention === 'limits',
  );
  const kvm = new Kvm(jetstream(nc, { timeout: s.requestTimeoutMs }));
  await Promise.all(
    BUCKET_IDS.map(async (id: BucketId) => {
      const bucket = names.buckets[id];
      const opts = { history: 1, storage: s.storage, replicas: s.replicas, ...(id === 'heartbeats' ? { ttl: s.heartbeatRetentionMs } : {}) };
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

/** Claims the prefix for this layout, or refuses a prefix holding another layout or foreign data. */
export async function checkLayout(tasks: Bucket, prefix: string): Promise<void> {
  const mine = { version: LAYOUT_VERSION, kind: 'baton-nats' };
  if ((await tasks.create(SCHEMA_KEY, encodeJson(mine))) !== null) return;
  const stored = await tasks.get(SCHEMA_KEY);
  const v = stored ? decodeJson(stored.data, isObject) : null;
  if (!v || !v.ok || v.value['kind'] !== 'baton-nats' || typeof v.value['version'] !== 'number') {
    throw new SchemaError(`NATS bucket ${tasks.name} holds data that is not Baton's; choose another prefix.`);
  }
  const version = v.value['version'];
  if (version > LAYOUT_VERSION) {
    throw new SchemaError(`NATS prefix "${prefix}" was written by a newer @baton/nats (layout ${version}; this one reads ${LAYOUT_VERSION}). Upgrade @baton/nats.`);
  }
  if (version < LAYOUT_VERSION) {
    throw new SchemaError(
      `NATS prefix "${prefix}" holds layout ${version} (@baton/nats 0.1); this version writes layout ${LAYOUT_VERSION} (named queues, priorities, the event outbox). Drain it with the old version, then destroyNatsResources(url, "${prefix}") or choose a new prefix.`,
    );
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

/**
 * The durable pull consumers of the queue stream, one per filter. Creating a durable that exists
 * with the same configuration is a no-op on the server, so concurrent creators agree; each name is
 * created at most once per process unless the server lost it (`forget`).
 */
export class Consumers {
  private readonly known = new Map<string, Promise<void>>();

  constructor(
    private readonly jsm: JetStreamManager,
    private readonly stream: string,
    private readonly ackWaitMs: number,
  ) {}

  ensure(name: string, filter: string): Promise<void> {
    let p = this.known.get(name);
    if (p === undefined) {
      p = this.create(name, filter).catch((err: unknown) => {
        this.known.delete(name);
        throw err;
      });
      this.known.set(name, p);
    }
    return p;
  }

  forget(name?: string): void {
    if (name === undefined) this.known.clear();
    else this.known.delete(name);
  }

  private async create(name: string, filter: string): Promise<void> {
    try {
      await this.jsm.consumers.info(this.stream, name);
      return;
    } catch (err) {
      if (!isMissingResource(err)) throw err;
    }
    await this.jsm.consumers.add(this.stream, {
      durable_name: name,
      ack_policy: 'explicit',
      ack_wait: this.ackWaitMs * 1e6,
      max_deliver: -1,
      max_ack_pending: -1,
      deliver_policy: 'all',
      filter_subject: filter,
    } as Parameters<JetStreamManager['consumers']['add']>[1]);
  }
}
