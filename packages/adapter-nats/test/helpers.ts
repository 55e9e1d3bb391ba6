// Shared test setup: a reachable NATS with JetStream (NATS_URL) or a loud skip, and isolated
// prefixes whose streams and buckets are deleted afterwards.
import { randomBytes } from 'node:crypto';
import type { Logger } from '@baton/core';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { destroyNatsResources, natsBackend, type NatsBackend, type NatsBackendOptions } from '../src/index.js';

export const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';

async function probe(): Promise<boolean> {
  try {
    const nc = await connect({ servers: NATS_URL, reconnect: false, timeout: 2_000 });
    const js = nc.info?.jetstream === true;
    await nc.close();
    return js;
  } catch {
    return false;
  }
}

export const natsUp = await probe();
if (!natsUp) {
  if (process.env.CI === 'true') throw new Error(`NATS with JetStream is not reachable at ${NATS_URL} and CI=true: start it (see SERVICES.md).`);
  // eslint-disable-next-line no-console
  console.warn(`\n!!! SKIPPING @baton/nats tests: NATS with JetStream is not reachable at ${NATS_URL} (see SERVICES.md) !!!\n`);
}
export const skipReason = natsUp ? '' : `(skipped: no NATS with JetStream at ${NATS_URL})`;

export function randomPrefix(tag = 't'): string {
  return `${tag}_${randomBytes(6).toString('hex')}`;
}

export function connectTest(): Promise<NatsConnection> {
  return connect({ servers: NATS_URL, name: 'baton-nats-test' });
}

/** A fresh backend on its own prefix over URL (logging to `logger`); `cleanup` closes it and deletes its streams. */
export function freshBackend(options: Partial<NatsBackendOptions> & { logger?: Logger } = {}): { backend: NatsBackend; prefix: string; cleanup: () => Promise<void> } {
  const { logger, ...rest } = options;
  const prefix = rest.prefix ?? randomPrefix();
  const backend = natsBackend(NATS_URL, { ...rest, prefix });
  // ready() takes the logger at once; the connection is made by the first call that needs it.
  if (logger) void backend.ready({ logger }).catch(() => undefined);
  return {
    backend,
    prefix,
    async cleanup() {
      await backend.close();
      await destroyNatsResources(NATS_URL, prefix);
    },
  };
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
