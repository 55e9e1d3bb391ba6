// Where events live: one message per event on `<p>.ev.<task>.<type>.<run>.<phase>` (each token
// encoded, '!' for none), so the server filters queries on any one of them, and all events of one
// task share the prefix `<p>.ev.<task>.` — which lets the outbox find a task's newest event with
// one direct get. Every event is published with its id as Nats-Msg-Id: a republish inside the
// stream's duplicate window is dropped by the server.
import { EVENT_TYPES, type EventType, type NewEvent } from '@baton/core/adapter';
import { decodeJson, encodeJson, isNullableString, isNumber, isObject, isString, type Decoded } from './nats-codec.js';
import { decodeNullable, nullableToken, type ResourceNames } from './nats-names.js';
import type { NatsContext } from './nats-runtime.js';

export function typeToken(type: EventType): string {
  return type.replaceAll('.', '-');
}

const TYPES = new Map(EVENT_TYPES.map((t) => [typeToken(t), t]));

export function eventSubject(names: ResourceNames, e: NewEvent): string {
  return `${names.prefix}.ev.${nullableToken(e.taskId)}.${typeToken(e.type)}.${nullableToken(e.runId)}.${nullableToken(e.phaseId)}`;
}

/** Every event of one task. */
export function taskEventsFilter(names: ResourceNames, taskId: string): string {
  return `${names.prefix}.ev.${nullableToken(taskId)}.>`;
}

export interface EventFilterFields {
  taskId?: string;
  type?: EventType;
  runId?: string;
  phaseId?: string;
}

export function eventFilter(names: ResourceNames, f: EventFilterFields): string {
  const tok = (v: string | undefined) => (v === undefined ? '*' : nullableToken(v));
  return `${names.prefix}.ev.${tok(f.taskId)}.${f.type === undefined ? '*' : typeToken(f.type)}.${tok(f.runId)}.${tok(f.phaseId)}`;
}

/** The columns an event's subject carries (what can still be read of a row whose body cannot). */
export function eventColumns(names: ResourceNames, subject: string): { taskId: string | null; type: EventType | null; runId: string | null; phaseId: string | null } {
  const t = subject.split('.');
  const col = (i: number) => {
    const v = t[i] === undefined ? undefined : decodeNullable(t[i]!);
    return v === undefined ? null : v;
  };
  const ok = t.length === 6 && t[0] === names.prefix && t[1] === 'ev';
  return {
    taskId: ok ? col(2) : null,
    type: ok ? (TYPES.get(t[3]!) ?? null) : null,
    runId: ok ? col(4) : null,
    phaseId: ok ? col(5) : null,
  };
}

function isEvent(v: unknown): v is NewEvent {
  return (
    isObject(v) &&
    isString(v['id']) &&
    isString(v['type']) &&
    TYPES.has(typeToken(v['type'] as EventType)) &&
    isNumber(v['at']) &&
    isNullableString(v['runId']) &&
    isNullableString(v['phaseId']) &&
    isNullableString(v['taskId']) &&
    isNullableString(v['workerId']) &&
    isObject(v['data'])
  );
}

export function decodeEvent(data: Uint8Array): Decoded<NewEvent> {
  return decodeJson(data, isEvent);
}

/** Publishes one event (deduplicated by its id within the duplicate window); resolves with its seq. */
export async function publishEvent(c: NatsContext, e: NewEvent): Promise<number> {
  const pa = await c.js.publish(eventSubject(c.names, e), encodeJson(e), { msgID: e.id });
  return pa.seq;
}
