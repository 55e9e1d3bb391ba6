// The shared suite against the real NATS server, each test on its own random prefix whose streams
// and buckets are deleted afterwards; the corruption hooks write behind the backend's back.
import { runConformanceSuite } from '@baton/conformance';
import type { NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe } from 'vitest';
import { destroyNatsResources, natsBackend, type NatsBackend } from '../src/index.js';
import { natsCorruptionHooks } from './corruption-hooks.js';
import { connectTest, natsUp, randomPrefix, skipReason } from './helpers.js';

describe.skipIf(!natsUp)(`@baton/nats conformance ${skipReason}`, () => {
  let nc: NatsConnection;
  beforeAll(async () => {
    nc = await connectTest();
  });
  afterAll(async () => {
    await nc?.close();
  });
  runConformanceSuite<NatsBackend>({
    name: 'nats',
    async create() {
      return natsBackend(nc, { prefix: randomPrefix('conf') });
    },
    async destroy(backend) {
      await destroyNatsResources(nc, backend.prefix);
    },
    corrupt: natsCorruptionHooks(() => nc),
  });
});
