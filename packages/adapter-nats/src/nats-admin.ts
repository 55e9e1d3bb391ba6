// Removing a prefix's streams and buckets (tests, decommissioning). Not part of the ports: a
// backend never deletes data on its own.
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { isMissingResource, mapError } from './nats-errors.js';
import { bucketStream, resourceNames } from './nats-names.js';
import type { ConnectionSource } from './nats-runtime.js';

/** Deletes every stream and bucket under `prefix` (all tasks, checkpoints, timers, events). Returns how many streams it deleted. */
export async function destroyNatsResources(connection: ConnectionSource, prefix: string): Promise<number> {
  const names = resourceNames(prefix);
  const own = typeof connection === 'string' || Array.isArray(connection);
  let nc: NatsConnection | null = null;
  try {
    nc = own ? await connect({ servers: connection as string | string[] }) : (connection as NatsConnection);
    const jsm = await jetstreamManager(nc, { checkAPI: false });
    const streams = [names.queueStream, names.eventStream, ...Object.values(names.buckets).map(bucketStream)];
    let deleted = 0;
    for (const s of streams) {
      try {
        if (await jsm.streams.delete(s)) deleted += 1;
      } catch (err) {
        if (!isMissingResource(err)) throw err;
      }
    }
    return deleted;
  } catch (err) {
    throw mapError(err, `delete the streams and buckets of prefix "${names.prefix}"`);
  } finally {
    if (own && nc) await nc.close().catch(() => undefined);
  }
}
