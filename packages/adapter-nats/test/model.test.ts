// Model-based tests (fast-check) against the real NATS JetStream: fresh streams and buckets per
// generated sequence; "clock advance" is a short real sleep past a short lease.
import type { NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe } from 'vitest';
import { runModelSuite } from '@baton/conformance';
import { destroyNatsResources, natsBackend, type NatsBackend } from '../src/index.js';
import { connectTest, natsUp, randomPrefix, skipReason } from './helpers.js';

describe.skipIf(!natsUp)(`@baton/nats model ${skipReason}`, () => {
  let nc: NatsConnection;
  beforeAll(async () => {
    nc = await connectTest();
  });
  afterAll(async () => {
    await nc?.close();
  });
  runModelSuite<NatsBackend>({
    name: 'nats',
    create: async () => natsBackend(nc, { prefix: randomPrefix('model') }),
    async destroy(backend) {
      await destroyNatsResources(nc, backend.prefix);
    },
  });
});
