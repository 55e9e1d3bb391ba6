// Removing a prefix's streams and buckets (tests, decommissioning). Not part of the ports: a
// backend never deletes data on its own.
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { isMissingResource, toBatonError } from './nats-errors.js';
import { bucketStream, BUCKET_IDS, resourceNames } from './nats-names.js';
import { isConnection, type ConnectionSource } from './nats-runtime.js';

/** Deletes every stream and bucket under `prefix` (all tasks, checkpoints, timers, events). Returns how many streams it deleted. */
export async function destroyNatsResources(connection: ConnectionSource, prefix: string): Promise<number> {
  const names = resourceNames(prefix);
  let nc: NatsConnection | null = null;
  try {
    nc = isConnection(connection) ? connection : await connect({ servers: connection });
    const jsm = await jetstreamManager(nc, { checkAPI: false });
    const streams = [names.queueStream, names.eventStream, ...BUCKET_IDS.map((id) => bucketStream(names.buckets[id]))];
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
    throw toBatonError(err, `destroyNatsResources (prefix "${names.prefix}")`);
  } finally {
    if (!isConnection(connection) && nc) await nc.close().catch(() => undefined);
  }
}
