// A task type defined once, with its types: `defineTask` ties the type name, queue, retry policy,
// optional input/output schemas (any Standard Schema library) and the handler together, so
// `baton.enqueue(task, input)` checks the input's type at compile time and its value at enqueue,
// and `baton.waitFor(task, id)` returns the typed result.
import type { TaskContext, TaskHandler } from './api.js';
import { ValidationError } from './errors.js';
import type { JsonValue } from './json.js';
import type { RetryPolicyOptions } from './retry-policy.js';
import type { StandardSchemaV1 } from './standard-schema.js';
import type { TaskRecord } from './ports/task-store.js';

const DEFINITION = Symbol.for('@baton/core:TaskDefinition');

export interface TaskDefinition<I = JsonValue, O = JsonValue, C = JsonValue> {
  readonly type: string;
  /** The queue its tasks go to. @default 'default' */
  readonly queue?: string;
  /** Mixed into generated idempotency keys. @default 'v1' */
  readonly version?: string;
  readonly retry?: RetryPolicyOptions;
  /** Checked at enqueue: a failing input is refused with a ValidationError (its `issues` attached) and nothing is stored. */
  readonly input?: StandardSchemaV1<unknown, I>;
  /** Checked when the handler returns: a failing result fails the task permanently. */
  readonly output?: StandardSchemaV1<unknown, O>;
  // Method syntax: a definition of any input and checkpoint type is still a TaskDefinition<unknown, …>.
  handler(input: I, ctx: TaskContext<C>): O | Promise<O>;
  readonly [DEFINITION]: true;
}

export interface DefineTaskOptions<I, O, C> {
  type: string;
  queue?: string;
  version?: string;
  retry?: RetryPolicyOptions;
  input?: StandardSchemaV1<unknown, I>;
  output?: StandardSchemaV1<unknown, O>;
  handler: (input: I, ctx: TaskContext<C>) => O | Promise<O>;
}

/** A completed (or otherwise finished) task of a definition, with its result typed. */
export type TypedTaskRecord<O> = Omit<TaskRecord, 'result'> & { result: O | null };

/** The result type of a definition. */
export type ResultOf<D> = D extends TaskDefinition<infer _I, infer O, infer _C> ? O : never;

export function defineTask<I = JsonValue, O = JsonValue, C = JsonValue>(options: DefineTaskOptions<I, O, C>): TaskDefinition<I, O, C> {
  return Object.freeze({ ...options, [DEFINITION]: true as const });
}

export function isTaskDefinition(value: unknown): value is TaskDefinition<unknown, unknown, unknown> {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[DEFINITION] === true;
}

/** A ValidationError carrying the schema's issues. */
export class SchemaValidationError extends ValidationError {
  readonly issues: readonly { message: string; path?: string }[];
  constructor(what: string, issues: readonly StandardSchemaV1.Issue[]) {
    const list = issues.map((i) => ({ message: i.message, ...(i.path?.length ? { path: i.path.map((p) => String(typeof p === 'object' ? p.key : p)).join('.') } : {}) }));
    super(`${what} does not match its schema: ${list.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; ')}`);
    this.name = 'ValidationError';
    this.issues = list;
  }
}

/** Runs a Standard Schema; returns the (possibly transformed) value or throws SchemaValidationError. */
export async function checkSchema<T>(schema: StandardSchemaV1<unknown, T>, value: unknown, what: string): Promise<T> {
  const result = await schema['~standard'].validate(value);
  if (result.issues) throw new SchemaValidationError(what, result.issues);
  return result.value;
}

/** The handler the registry runs: the definition's, with its output checked when it has a schema. */
export function definitionHandler<I, O, C>(def: TaskDefinition<I, O, C>): TaskHandler<I, O, C> {
  const output = def.output;
  if (!output) return def.handler;
  return async (input, ctx) => checkSchema(output, await def.handler(input, ctx), `Result of task "${def.type}"`);
}
