// @baton/nats public API.
export { natsBackend } from './nats-backend.js';
export type { NatsBackend, NatsBackendOptions } from './nats-backend.js';
export { destroyNatsResources } from './nats-admin.js';
export type { ConnectionSource } from './nats-runtime.js';
