// Every stream, bucket, consumer and subject is derived from one validated prefix, and every
// user-supplied string (task, run and phase ids, queue names, groups, keys) is encoded before it
// becomes a subject token or KV key, so no input can widen a subject filter ('*', '>') or split a
// token ('.').
import { createHash } from 'node:crypto';
import { validateName } from '@baton/core/adapter';

export type BucketId = 'tasks' | 'checkpoints' | 'timers' | 'leases' | 'queues' | 'heartbeats' | 'coordination';

export const BUCKET_IDS: readonly BucketId[] = ['tasks', 'checkpoints', 'timers', 'leases', 'queues', 'heartbeats', 'coordination'];

export interface ResourceNames {
  readonly prefix: string;
  /** Work-queue stream of deliveries: ready messages under `r`, delayed ones under `d`. */
  readonly queueStream: string;
  readonly queueSubjects: readonly string[];
  readonly eventStream: string;
  readonly eventSubjects: readonly string[];
  readonly buckets: Readonly<Record<BucketId, string>>;
}

export function resourceNames(prefix: unknown): ResourceNames {
  const p = validateName('prefix', prefix);
  return Object.freeze({
    prefix: p,
    queueStream: `${p}_queue`,
    queueSubjects: Object.freeze([`${p}.r.>`, `${p}.d.>`]),
    eventStream: `${p}_events`,
    eventSubjects: Object.freeze([`${p}.ev.>`]),
    buckets: Object.freeze({
      tasks: `${p}_tasks`,
      checkpoints: `${p}_checkpoints`,
      timers: `${p}_timers`,
      leases: `${p}_leases`,
      queues: `${p}_queues`,
      heartbeats: `${p}_heartbeats`,
      coordination: `${p}_coord`,
    }),
  });
}

/** The stream behind a KV bucket. */
export function bucketStream(bucket: string): string {
  return `KV_${bucket}`;
}

const SAFE = /^[A-Za-z0-9_-]+$/;

/**
 * Injective encoding of a string into one subject token / KV key segment: strings made of
 * [A-Za-z0-9_-] stay readable, anything else becomes '=' + base64url (never starts with a safe
 * character, so the two forms cannot collide).
 */
export function encodeToken(value: string): string {
  if (SAFE.test(value)) return value;
  return `=${Buffer.from(value, 'utf8').toString('base64url')}`;
}

/** The string a token encodes, or null when `token` is not one encodeToken makes (foreign or damaged). */
export function decodeToken(token: string): string | null {
  if (!token.startsWith('=')) return SAFE.test(token) ? token : null;
  const value = Buffer.from(token.slice(1), 'base64url').toString('utf8');
  return encodeToken(value) === token ? value : null;
}

/** Marks null in a subject token or header (encodeToken never produces it). */
export const NULL_TOKEN = '!';

export function nullableToken(value: string | null): string {
  return value === null ? NULL_TOKEN : encodeToken(value);
}

/** The nullable string a token encodes; undefined when it is not a token we make. */
export function decodeNullable(token: string): string | null | undefined {
  if (token === NULL_TOKEN) return null;
  return decodeToken(token) ?? undefined;
}

/** Priorities as subject tokens: the integer in decimal (`-` is a legal token character). */
export function priorityToken(priority: number): string {
  return String(priority);
}

export function decodePriority(token: string): number | null {
  if (!/^-?\d{1,5}$/.test(token)) return null;
  const n = Number(token);
  return n >= -10_000 && n <= 10_000 ? n : null;
}

/** Fixed-length digest for arbitrary strings (idempotency keys, timer keys, consumer names). */
export function hashKey(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}

/** Subjects and consumer names of one queue (its priority levels and its delayed deliveries). */
export class QueueSubjects {
  readonly token: string;
  private readonly tag: string;

  constructor(
    private readonly names: ResourceNames,
    readonly queue: string,
  ) {
    this.token = encodeToken(queue);
    // Consumer names cannot hold '.', '*' or '>': a digest keeps every queue name apart.
    this.tag = hashKey(queue).slice(0, 20);
  }

  ready(priority: number, taskToken: string): string {
    return `${this.names.prefix}.r.${this.token}.${priorityToken(priority)}.${taskToken}`;
  }

  /** Without the due-time token that ends a delayed subject. */
  delayed(priority: number, taskToken: string): string {
    return `${this.names.prefix}.d.${this.token}.${priorityToken(priority)}.${taskToken}`;
  }

  levelFilter(priority: number): string {
    return `${this.names.prefix}.r.${this.token}.${priorityToken(priority)}.*`;
  }

  delayFilter(): string {
    return `${this.names.prefix}.d.${this.token}.*.*.*`;
  }

  levelConsumer(priority: number): string {
    return `r_${this.tag}_${priority < 0 ? `n${-priority}` : `p${priority}`}`;
  }

  delayConsumer(): string {
    return `d_${this.tag}`;
  }
}

/** The subjects a task's delivery messages can have: ready in any queue and priority, delayed likewise. */
export function taskDeliveries(names: ResourceNames, taskToken: string): readonly string[] {
  return [`${names.prefix}.r.*.*.${taskToken}`, `${names.prefix}.d.*.*.${taskToken}.*`];
}
