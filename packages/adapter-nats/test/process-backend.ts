// Loaded by the process suite's worker processes: the NATS backend of a test namespace (prefix).
// ackWaitMs matches the worker's stall timeout (STALL_MS), as the adapter's README advises.
import { natsBackend } from '../src/index.js';

export const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
export const makeBackend = (prefix: string) => natsBackend(NATS_URL, { prefix, ackWaitMs: Number(process.env.STALL_MS ?? 1_500) });
