// Every stream, bucket, consumer and subject is derived from one validated prefix, and
// user-supplied ids are encoded before they become a subject token or KV key, so no input
// can widen a subject filter ('*', '>') or split a token ('.').
import { createHash } from 'node:crypto';
import { validateName } from '@baton/core';

export interface ResourceNames {
  readonly prefix: string;
  /** Work-queue stream: one message per task with a live delivery. */
  readonly queueStream: string;
  readonly queueSubject: (taskToken: string) => string;
  readonly queueFilter: string;
  /** The durable pull consumer all workers share. */
  readonly queueConsumer: string;
  readonly eventStream: string;
  readonly eventSubjectPrefix: string;
  readonly buckets: {
    readonly tasks: string;
    readonly checkpoints: string;
    readonly timers: string;
    readonly leases: string;
    readonly delays: string;
    readonly heartbeats: string;
  };
}

export function resourceNames(prefix: unknown): ResourceNames {
  const p = validateName('prefix', prefix);
  return Object.freeze({
    prefix: p,
    queueStream: `${p}_queue`,
    queueSubject: (token: string) => `${p}.q.${token}`,
    queueFilter: `${p}.q.*`,
    queueConsumer: `${p}_workers`,
    eventStream: `${p}_events`,
    eventSubjectPrefix: `${p}.ev`,
    buckets: Object.freeze({
      tasks: `${p}_tasks`,
      checkpoints: `${p}_checkpoints`,
      timers: `${p}_timers`,
      leases: `${p}_leases`,
      delays: `${p}_delays`,
      heartbeats: `${p}_heartbeats`,
    }),
  });
}

/** The stream behind a KV bucket. */
export function bucketStream(bucket: string): string {
  return `KV_${bucket}`;
}

const SAFE = /^[A-Za-z0-9_-]+$/;

/**
 * Injective encoding of an id into one subject token / KV key segment: ids made of
 * [A-Za-z0-9_-] stay readable, anything else becomes '=' + base64url (never starts with a
 * safe character, so the two forms cannot collide).
 */
export function encodeToken(id: string): string {
  if (SAFE.test(id)) return id;
  return `=${Buffer.from(id, 'utf8').toString('base64url')}`;
}

export function decodeToken(token: string): string {
  if (token.startsWith('=')) return Buffer.from(token.slice(1), 'base64url').toString('utf8');
  return token;
}

/** Fixed-length key for arbitrary strings (idempotency keys, timer keys). */
export function hashKey(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}
